"""cocotb testbench for cs_swg: random frames (plus the value extremes) under random
stalls against codesign.dataflow.kernels.swg.sliding_window; then frames back to back without
stalls, whose cycles per frame must equal swg_cycles (the kernel's exact cycle model),
logged beside FINN's estimate for ConvolutionInputGenerator_rtl."""

from __future__ import annotations

import itertools
import random
from typing import Any

import cocotb
import numpy as np

from codesign.backends.words import pack_words, value_range
from codesign.dataflow.kernels.swg import sliding_window, swg_cycles, window_params
from rtl_sim.kernels.common import (
    config,
    cycles,
    junk_pad,
    start,
    stop_stalls,
    stream_and_check,
    stream_ends,
)


@cocotb.test(timeout_time=1, timeout_unit="ms")  # a lost word fails, not hangs
async def swg_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    nrng = np.random.default_rng(cfg["seed"])
    w = window_params(cfg)
    bits, simd = cfg["ELEM_BITS"], cfg["SIMD"]
    lo, hi = value_range(bits, bool(cfg["signed"]))
    frame_values = w.ifm[0] * w.ifm[1] * w.channels
    words_out = len(w.starts()) * len(w.offsets())

    def frames(n: int) -> np.ndarray:
        x = nrng.integers(lo, hi + 1, size=(n, frame_values))
        x[0, :2] = lo, hi
        return x

    def stream_in(x: np.ndarray) -> list[int]:
        return junk_pad(pack_words(x, bits, simd), bits * simd, rng)

    def expected(x: np.ndarray) -> list[int]:
        return pack_words(sliding_window(x, w), bits, simd)

    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    x = frames(cfg["n_frames"])
    await stream_and_check(src, snk, stream_in(x), expected(x), words_out)
    stop_stalls(src, snk)
    x = frames(4)
    got = await stream_and_check(src, snk, stream_in(x), expected(x), words_out,
                                 "stall-free output")
    ends = [cycles(got[(f + 1) * words_out - 1][1]) for f in range(4)]
    measured = [b - a for a, b in itertools.pairwise(ends[1:])]  # after the first
    model = swg_cycles(w)
    dut._log.info("cycles per frame: measured %s, swg_cycles %d, estimate %d "
                  "(%d words in, %d out)", measured, model, cfg["est_cycles"],
                  frame_values // simd, words_out)
    assert all(m == model for m in measured), f"measured {measured}, swg_cycles {model}"
