"""cocotb testbench for cs_thresholding: random pixels (plus the input extremes) under
random stalls, every word against multithreshold; then one word per cycle
without stalls."""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np

from codesign.backends import words
from codesign.dataflow.kernels.thresholding import multithreshold
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
    await stream_and_check(src, snk, stream_in(x), expected(x), c // pe)
    stop_stalls(src, snk)
    x2 = nrng.integers(lo, hi + 1, size=(8, c))
    got2 = await stream_and_check(src, snk, stream_in(x2), expected(x2), c // pe,
                                  "stall-free output")
    span = cycles(got2[-1][1] - got2[0][1])
    assert span == len(got2) - 1, f"{len(got2)} words took {span} cycles, expected 1/cycle"
