"""cocotb testbench for cs_mvau.

Phase 1: random and adversarial input vectors (per row, the input that drives the
accumulator to its largest positive and negative value; with XNOR = 1 the row's weights
and their complement: popcount MW and 0) under random stalls on both streams; every
output word against mvau / mvau_xnor (accumulator wraps at ACC_BITS), and the sticky
``ovf`` flag against mvau_overflows.
Phase 2: no stalls; the steady-state interval between vectors must equal NF*SF cycles.
"""

from __future__ import annotations

import random
from typing import Any

import cocotb
import numpy as np
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_steps

from codesign.backends import words
from codesign.dataflow.kernels.mvau import mvau, mvau_overflows, mvau_xnor
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


def adversarial(w: np.ndarray, lo: int, hi: int, rows: list[int], xnor: bool) -> np.ndarray:
    """For each row r, the inputs giving the largest and the smallest exact sum."""
    vecs = []
    for r in rows:
        col = w[:, r]
        vecs.append(col if xnor else np.where(col > 0, hi, lo))
        vecs.append(1 - col if xnor else np.where(col > 0, lo, hi))
    return np.array(vecs, dtype=np.int64)


@cocotb.test()
async def mvau_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    nrng = np.random.default_rng(cfg["seed"])
    mw, mh, pe, simd = cfg["MW"], cfg["MH"], cfg["PE"], cfg["SIMD"]
    in_bits, in_signed = cfg["IN_BITS"], bool(cfg["IN_SIGNED"])
    acc_bits, acc_signed = cfg["ACC_BITS"], bool(cfg["ACC_SIGNED"])
    out_bits, n_thres = cfg["OUT_BITS"], cfg["N_THRES"]
    xnor = bool(cfg.get("XNOR", 0))
    sf, nf = mw // simd, mh // pe
    w = np.load(cfg["weights"])
    thr = np.load(cfg["thresholds"]) if n_thres else None

    def stream_in(x: np.ndarray) -> list[int]:
        return junk_pad(words.pack_words(x, in_bits, simd), in_bits * simd, rng)

    def expected(x: np.ndarray) -> list[int]:
        if xnor:
            y = mvau_xnor(x, w, acc_bits, thr, cfg["ACT_BIAS"])
        else:
            y = mvau(x, w, acc_bits, acc_signed, thr, cfg["ACT_BIAS"])
        return words.pack_words(words.wrap(y, out_bits, True), out_bits, pe)

    lo, hi = words.value_range(in_bits, in_signed)
    x = nrng.integers(lo, hi + 1, size=(cfg["n_vectors"], mw))
    adv_rows = sorted({0, mh - 1, int(nrng.integers(0, mh))})
    x = np.concatenate([x, adversarial(w, lo, hi, adv_rows, xnor)])

    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    cocotb.start_soon(send_words(src, stream_in(x)))
    exp = expected(x)
    got = await recv_words(snk, len(exp))
    check(compare([g for g, _ in got], exp, nf))

    await ClockCycles(dut.ap_clk, 2)
    want_ovf = mvau_overflows(x, w, simd, acc_bits, acc_signed, xnor)
    assert int(dut.ovf.value) == int(want_ovf), (
        f"ovf is {int(dut.ovf.value)}, expected {int(want_ovf)} (ACC_BITS={acc_bits})"
    )
    if "expect_ovf" in cfg:
        assert want_ovf == cfg["expect_ovf"], "test setup: golden overflow not as intended"

    # phase 2: steady-state II without stalls
    src.clear_pause_generator()
    snk.clear_pause_generator()
    src.pause = False
    snk.pause = False
    n_ii = 8
    x2 = nrng.integers(lo, hi + 1, size=(n_ii, mw))
    cocotb.start_soon(send_words(src, stream_in(x2)))
    exp2 = expected(x2)
    got2 = await recv_words(snk, len(exp2))
    check(compare([g for g, _ in got2], exp2, nf, "II-phase output"))
    period = get_sim_steps(CLOCK_NS, "ns")
    firsts = [t for i, (_, t) in enumerate(got2) if i % nf == 0]
    # skip the first vector (pipeline fill), measure the rest
    ii = (firsts[-1] - firsts[1]) / (len(firsts) - 2) / period
    dut._log.info("measured II %.2f cycles/vector, expected NF*SF = %d", ii, nf * sf)
    assert abs(ii - nf * sf) <= 0.05 * nf * sf, f"II {ii} cycles, expected {nf * sf}"
