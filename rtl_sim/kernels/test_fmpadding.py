"""cocotb testbench for cs_fmpadding: random frames under random stalls against
codesign.dataflow.kernels.fmpadding.fm_padding; then one output word per cycle without stalls
(FINN's estimate)."""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np

from codesign.backends.words import pack_words, value_range
from codesign.dataflow.kernels.fmpadding import fm_padding
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
async def fmpadding_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    nrng = np.random.default_rng(cfg["seed"])
    h, w, c, simd, bits = (cfg[k] for k in ("IMG_H", "IMG_W", "C", "SIMD", "ELEM_BITS"))
    pad = (cfg["PAD_T"], cfg["PAD_L"], cfg["PAD_B"], cfg["PAD_R"])
    lo, hi = value_range(bits, bool(cfg["signed"]))
    words_out = (h + pad[0] + pad[2]) * (w + pad[1] + pad[3]) * c // simd

    def frames(n: int) -> np.ndarray:
        x = nrng.integers(lo, hi + 1, size=(n, h * w * c))
        x[0, :2] = lo, hi
        return x

    def stream_in(x: np.ndarray) -> list[int]:
        return junk_pad(pack_words(x, bits, simd), bits * simd, rng)

    def expected(x: np.ndarray) -> list[int]:
        return pack_words(fm_padding(x, (h, w), c, pad), bits, simd)

    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    x = frames(cfg["n_frames"])
    await stream_and_check(src, snk, stream_in(x), expected(x), words_out)
    stop_stalls(src, snk)
    x = frames(3)
    got = await stream_and_check(src, snk, stream_in(x), expected(x), words_out,
                                 "stall-free output")
    span = cycles(got[-1][1] - got[words_out - 1][1])
    dut._log.info("cycles per frame: measured %.1f, FINN estimate %d", span / 2,
                  cfg["est_cycles"])
    assert span == 2 * cfg["est_cycles"], f"2 frames took {span} cycles"
