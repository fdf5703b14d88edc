"""cocotb testbench for cs_thresholding: random pixels (plus the input extremes) under
random stalls, every word against multithreshold; then one word per cycle
without stalls."""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.utils import get_sim_steps

from codesign.backends import words
from codesign.dataflow.kernels.thresholding import multithreshold
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
async def thresholding_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    nrng = np.random.default_rng(cfg["seed"])
    c, pe, in_bits, out_bits = cfg["C"], cfg["PE"], cfg["IN_BITS"], cfg["OUT_BITS"]
    thr = np.load(cfg["thresholds"])
    lo, hi = words.value_range(in_bits, bool(cfg["IN_SIGNED"]))

    def stream_in(x: np.ndarray) -> list[int]:
        return junk_pad(words.pack_words(x, in_bits, pe), in_bits * pe, rng)

    def expected(x: np.ndarray) -> list[int]:
        y = multithreshold(x, thr, cfg["ACT_BIAS"])
        return words.pack_words(words.wrap(y, out_bits, True), out_bits, pe)

    x = nrng.integers(lo, hi + 1, size=(cfg["n_pixels"], c))
    x = np.concatenate([x, np.full((1, c), lo), np.full((1, c), hi)])
    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    cocotb.start_soon(send_words(src, stream_in(x)))
    exp = expected(x)
    got = await recv_words(snk, len(exp))
    check(compare([g for g, _ in got], exp, c // pe))

    src.clear_pause_generator()
    snk.clear_pause_generator()
    src.pause = False
    snk.pause = False
    x2 = nrng.integers(lo, hi + 1, size=(8, c))
    cocotb.start_soon(send_words(src, stream_in(x2)))
    exp2 = expected(x2)
    got2 = await recv_words(snk, len(exp2))
    check(compare([g for g, _ in got2], exp2, c // pe, "stall-free output"))
    span = (got2[-1][1] - got2[0][1]) / get_sim_steps(CLOCK_NS, "ns")
    assert span == len(exp2) - 1, f"{len(exp2)} words took {span} cycles, expected 1/cycle"
