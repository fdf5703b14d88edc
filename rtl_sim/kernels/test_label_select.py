"""cocotb testbench for cs_label_select: random frames with many ties, plus frames of all
equal / extreme values, under random stalls, against label_select; then the
stall-free frame interval, max(N_LABELS/PE, K + 1) cycles."""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.utils import get_sim_steps

from codesign.backends import words
from codesign.dataflow.kernels.label_select import label_select
from rtl_sim.kernels.common import (
    CLOCK_NS,
    check,
    compare,
    config,
    junk_pad,
    recv_words,
    send_words,
    start,
    stream_ends,
)


@cocotb.test()
async def label_select_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    nrng = np.random.default_rng(cfg["seed"])
    n, pe, k = cfg["N_LABELS"], cfg["PE"], cfg["K"]
    in_bits, out_bits = cfg["IN_BITS"], cfg["OUT_BITS"]
    lo, hi = words.value_range(in_bits, bool(cfg["IN_SIGNED"]))

    def stream_in(x: np.ndarray) -> list[int]:
        return junk_pad(words.pack_words(x, in_bits, pe), in_bits * pe, rng)

    def expected(x: np.ndarray) -> list[int]:
        return words.pack_words(label_select(x, k), out_bits, 1)

    full = nrng.integers(lo, hi + 1, size=(cfg["n_frames"], n))
    # a narrow value range forces ties
    mid = (lo + hi) // 2
    ties = nrng.integers(max(lo, mid - 1), min(hi, mid + 1) + 1, size=(cfg["n_frames"], n))
    extremes = np.array([np.full(n, lo), np.full(n, hi), np.where(np.arange(n) % 2, lo, hi)])
    x = np.concatenate([full, ties, extremes])

    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    cocotb.start_soon(send_words(src, stream_in(x)))
    exp = expected(x)
    got = await recv_words(snk, len(exp))
    check(compare([g for g, _ in got], exp, k))

    src.clear_pause_generator()
    snk.clear_pause_generator()
    src.pause = False
    snk.pause = False
    x2 = nrng.integers(lo, hi + 1, size=(6, n))
    cocotb.start_soon(send_words(src, stream_in(x2)))
    exp2 = expected(x2)
    got2 = await recv_words(snk, len(exp2))
    check(compare([g for g, _ in got2], exp2, k, "stall-free output"))
    firsts = [t for i, (_, t) in enumerate(got2) if i % k == 0]
    ii = (firsts[-1] - firsts[1]) / (len(firsts) - 2) / get_sim_steps(CLOCK_NS, "ns")
    bound = max(n // pe, k + 1)
    dut._log.info("frame interval %.2f cycles (N_LABELS/PE = %d, K = %d)", ii, n // pe, k)
    assert ii <= bound * 1.05, f"frame interval {ii} cycles, expected <= {bound}"
