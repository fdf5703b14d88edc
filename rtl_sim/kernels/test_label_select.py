"""cocotb testbench for cs_label_select: random frames with many ties, plus frames of all
equal / extreme values, under random stalls, against label_select; then the
stall-free frame interval, max(N_LABELS/PE, K + 1) cycles."""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np

from codesign.backends import words
from codesign.dataflow.kernels.label_select import label_select
from rtl_sim.kernels.common import (
    config,
    cycles,
    junk_pad,
    start,
    stop_stalls,
    stream_and_check,
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
    await stream_and_check(src, snk, stream_in(x), expected(x), k)
    stop_stalls(src, snk)
    x2 = nrng.integers(lo, hi + 1, size=(6, n))
    got2 = await stream_and_check(src, snk, stream_in(x2), expected(x2), k, "stall-free output")
    firsts = [t for i, (_, t) in enumerate(got2) if i % k == 0]
    ii = cycles(firsts[-1] - firsts[1]) / (len(firsts) - 2)
    bound = max(n // pe, k + 1)
    dut._log.info("frame interval %.2f cycles (N_LABELS/PE = %d, K = %d)", ii, n // pe, k)
    assert ii <= bound * 1.05, f"frame interval {ii} cycles, expected <= {bound}"
