"""cocotb testbench for cs_maxpool: random windows (plus the value extremes) under random
stalls against codesign.dataflow.kernels.pool.max_pool_stream; then one input word per cycle
without stalls (FINN's estimate)."""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np

from codesign.backends.words import pack_words, value_range
from codesign.dataflow.kernels.pool import max_pool_stream
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
async def maxpool_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    nrng = np.random.default_rng(cfg["seed"])
    pe, k2, bits = cfg["PE"], cfg["K2"], cfg["ELEM_BITS"]
    lo, hi = value_range(bits, bool(cfg["SIGNED"]))
    n_out = cfg["words_out"]  # output words per frame

    def frames(n: int) -> np.ndarray:
        x = nrng.integers(lo, hi + 1, size=(n, n_out * k2 * pe))
        x[0, :pe * k2] = lo  # a window of minima, then one holding the maximum last
        x[0, pe * k2:2 * pe * k2] = lo
        x[0, 2 * pe * k2 - 1] = hi
        return x

    def stream_in(x: np.ndarray) -> list[int]:
        return junk_pad(pack_words(x, bits, pe), bits * pe, rng)

    def expected(x: np.ndarray) -> list[int]:
        return pack_words(max_pool_stream(x, k2, pe), bits, pe)

    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    x = frames(cfg["n_frames"])
    await stream_and_check(src, snk, stream_in(x), expected(x), n_out)
    stop_stalls(src, snk)
    x = frames(3)
    got = await stream_and_check(src, snk, stream_in(x), expected(x), n_out,
                                 "stall-free output")
    span = cycles(got[-1][1] - got[n_out - 1][1])
    dut._log.info("cycles per frame: measured %.1f, FINN estimate %d", span / 2,
                  cfg["est_cycles"])
    assert span == 2 * cfg["est_cycles"], f"2 frames took {span} cycles"
