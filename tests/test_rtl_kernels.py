"""Kernel-level verification of rtl/: every kernel's cocotb testbench on Verilator and Icarus.

Each case is a seeded, random parameter set. Verilator builds (~25 s each) are cached per
parameter set under pytest's cache directory, so only a few cases run on Verilator (but
every case with thresholds: the binary-search pipeline); Icarus (about a second to
build) runs all of them.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from codesign import bounds
from codesign.backends import words
from codesign.backends.rtl import module_sources
from codesign.dataflow.kernels.thresholding import multithreshold, thresh_search
from codesign.synth.yosys import run_yosys
from codesign.synth.yosys_script import script_path
from codesign.verify.simulators import rtl_dir, run_cocotb, sv_string


@dataclass(frozen=True)
class Case:
    """One kernel parameter set: HDL parameters, testbench settings and data files."""

    kernel: str  # testbench module suffix (rtl_sim.kernels.test_<kernel>)
    name: str
    toplevel: str
    files: tuple[str, ...]  # rtl/ sources, dependencies first
    params: dict[str, int] = field(default_factory=dict)
    tb: dict[str, Any] = field(default_factory=dict)
    verilator: bool = False  # also run on Verilator


@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


def _run(case: Case, simulator: str, root: Path, prepare: Any = None) -> None:
    build = root / f"{case.kernel}-{case.name}-{simulator}"
    build.mkdir(parents=True, exist_ok=True)
    params: dict[str, object] = dict(case.params)
    tb = {**case.tb, **{k: int(v) for k, v in case.params.items()}}
    if prepare is not None:
        params_extra, tb_extra = prepare(case, build)
        params.update(params_extra)
        tb.update(tb_extra)
    for key in ("w", "thr"):  # data handed over in files, not the environment
        tb.pop(key, None)
    run_cocotb(
        toplevel=case.toplevel,
        sources=[rtl_dir() / f for f in case.files],
        parameters=params,
        test_module=f"rtl_sim.kernels.test_{case.kernel}",
        simulator=simulator,
        build_dir=build,
        extra_env={"CS_TB_CONFIG": json.dumps(tb)},
    )


def _cases_for(cases: list[Case]) -> list[Any]:
    out = []
    for c in cases:
        sims = ["icarus", "verilator"] if c.verilator else ["icarus"]
        out += [pytest.param(c, s, id=f"{c.name}-{s}") for s in sims]
    return out


PAUSES = {"in_pause": 0.3, "out_pause": 0.4}


# --------------------------------------------------------------------------- cs_fifo
FIFO_CASES = [
    Case("fifo", "w16d4", "cs_fifo", ("cs_fifo.sv",), {"WIDTH": 16, "DEPTH": 4},
         {"seed": 1, "n_words": 300, **PAUSES}, verilator=True),
    Case("fifo", "w8d2", "cs_fifo", ("cs_fifo.sv",), {"WIDTH": 8, "DEPTH": 2},
         {"seed": 2, "n_words": 300, **PAUSES}),
    Case("fifo", "w40d7", "cs_fifo", ("cs_fifo.sv",), {"WIDTH": 40, "DEPTH": 7},
         {"seed": 3, "n_words": 300, "in_pause": 0.1, "out_pause": 0.6}),
    Case("fifo", "w24d32", "cs_fifo", ("cs_fifo.sv",), {"WIDTH": 24, "DEPTH": 32},
         {"seed": 4, "n_words": 300, "in_pause": 0.5, "out_pause": 0.2}),
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(FIFO_CASES))
def test_fifo(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root)


def _edge_thresholds(thr: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Channels 0..3 of ``thr`` (channels x N) replaced by thresholds at the limits of the
    compared data ``lo .. hi``: all ``lo`` (always fire), all ``hi + 1`` (never), a ramp
    from ``lo + 1`` to ``hi + 1``, and ``lo`` / ``hi`` / ``hi + 1`` thirds."""
    thr = thr.copy()
    ch, n = thr.shape
    rows = [np.full(n, lo), np.full(n, hi + 1),
            np.round(np.linspace(lo + 1, hi + 1, n)).astype(np.int64),
            np.array([lo] * (n // 3) + [hi] * (n // 3) + [hi + 1] * (n - 2 * (n // 3)))]
    for c, row in enumerate(rows[:ch]):
        thr[c] = row
    return thr


def test_thresh_search_model() -> None:
    """The stage x lane ROM words (words.thresh_mem_words) drive a bit-level binary
    search (thresh_search) to the exact MultiThreshold count, padding included."""
    rng = np.random.default_rng(5)
    for n in (*range(1, 18), 31, 32, 100, 255):
        for signed, bits, pe in ((False, 8, 4), (True, 8, 2), (True, 3, 1), (False, 1, 3)):
            lo, hi = words.value_range(bits, signed)
            ch = 6 * pe
            thr = np.sort(rng.integers(lo - 1, hi + 3, size=(ch, n)), axis=1)
            thr = _edge_thresholds(words.clip_thresholds(thr, bits, signed), lo, hi)
            x = np.concatenate([rng.integers(lo, hi + 1, size=(40, ch)),
                                np.full((1, ch), lo), np.full((1, ch), hi)])
            roms = words.thresh_mem_words(thr, pe, bits + 1, signed)
            assert len(roms) == words.thresh_stages(n)
            assert [[len(w) for w in lanes] for lanes in roms] == [
                [ch // pe << s] * pe for s in range(len(roms))]
            got = thresh_search(x, roms, bits + 1, signed, act_bias=-2)
            np.testing.assert_array_equal(got, multithreshold(x, thr, -2))


def test_narrow_thresholds_saturate_the_data() -> None:
    """Thresholds of a narrow range beside wide data (a 32-bit accumulator's, say) are
    stored in threshold_bits() bits; the search saturates x into that type and still
    counts exactly, for x far beyond the thresholds on both sides."""
    rng = np.random.default_rng(9)
    for signed, data_bits, t_lo, t_hi in ((True, 16, -40, 37), (False, 12, 0, 100),
                                          (True, 8, -1, 1), (True, 32, -9000, 70000)):
        for n in (1, 3, 7, 15, 20):
            thr = np.sort(rng.integers(t_lo, t_hi + 1, size=(4, n)), axis=1)
            bits = words.threshold_bits(thr, data_bits, signed)
            assert bits < data_bits + 1
            lo, hi = words.value_range(data_bits, signed)
            near = np.clip(rng.integers(t_lo - 3, t_hi + 4, size=(60, 4)), lo, hi)
            x = np.concatenate([rng.integers(lo, hi + 1, size=(60, 4)), near,
                                np.full((1, 4), lo), np.full((1, 4), hi)])
            roms = words.thresh_mem_words(thr, 2, bits, signed)
            got = thresh_search(x, roms, bits, signed)
            np.testing.assert_array_equal(got, multithreshold(x, thr, 0))
    with pytest.raises(ValueError, match="inside"):  # the type's max is the padding
        words.thresh_mem_words(np.array([[7]]), 1, 4, True)


# --------------------------------------------------------------------------- cs_mvau
MVAU_FILES = tuple(p.name for p in module_sources(["cs_mvau"]))


def _finn_acc_bits(w: np.ndarray, in_bits: int, in_signed: bool) -> tuple[int, bool]:
    """FINN MinimizeAccumulatorWidth (REFERENCES.md): bits and signedness that hold every
    sum of these weights over every input."""
    lo, hi = words.value_range(in_bits, in_signed)
    vmax = np.where(w > 0, w * hi, w * lo).sum(axis=0).max()
    vmin = np.where(w > 0, w * lo, w * hi).sum(axis=0).min()
    if vmin >= 0:
        return max(1, int(np.ceil(np.log2(vmax + 1)))), False
    return int(np.ceil(np.log2(max(-vmin, 1 + vmax)))) + 1, True


def _mvau_case(name: str, seed: int, mw: int, mh: int, pe: int, simd: int, in_bits: int,
               in_signed: bool, w_bits: int, *, squeeze: int = 0, n_thres: int = 0,
               act_bias: int = 0, nonneg_w: bool = False, edges: bool = False,
               lut: bool = False, verilator: bool = False) -> Case:
    """``lut``: products coded in LUTs (USE_DSP = 0, FINN's resType lut)."""
    rng = np.random.default_rng(seed)
    wlo, whi = words.value_range(w_bits, True)
    w = rng.integers(0 if nonneg_w else wlo, whi + 1, size=(mw, mh))
    acc_bits, acc_signed = _finn_acc_bits(w, in_bits, in_signed)
    acc_bits -= squeeze
    params = {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "N_VECTORS": 1,
              "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "W_BITS": w_bits,
              "ACC_BITS": acc_bits, "ACC_SIGNED": int(acc_signed), "N_THRES": n_thres,
              "THR_BITS": acc_bits + 1, "ACT_BIAS": act_bias, "USE_DSP": int(not lut)}
    if n_thres:
        top = act_bias + n_thres
        params["OUT_BITS"] = max(act_bias.bit_length(), top.bit_length()) + int(act_bias < 0)
        # thresholds spread over the accumulator range, a few beyond it (clipped)
        alo, ahi = words.value_range(acc_bits, acc_signed)
        span = max(4, (ahi - alo) // 2)
        thr = np.sort(rng.integers(-span // 2 + (alo + ahi) // 2, span // 2 + (alo + ahi) // 2,
                                   size=(mh, n_thres)), axis=1)
        thr = words.clip_thresholds(thr, acc_bits, acc_signed)
        if edges:
            thr = _edge_thresholds(thr, alo, ahi)
    else:
        params["OUT_BITS"] = acc_bits
        thr = np.zeros((mh, 1), dtype=np.int64)
    tb = {"seed": seed, "n_vectors": 12, "w": w.tolist(), "thr": thr.tolist(), **PAUSES}
    if squeeze:
        tb["expect_ovf"] = True
    else:
        tb["expect_ovf"] = False
    return Case("mvau", name, "cs_mvau", MVAU_FILES, params, tb, verilator)


def _xnor_case(name: str, seed: int, mw: int, mh: int, pe: int, simd: int, *,
               n_thres: int = 0, squeeze: int = 0, verilator: bool = False) -> Case:
    """binaryXnorMode: 0/1 codes of bipolar inputs and weights, an unsigned popcount
    accumulator of bounds.popcount_acc_bits(MW) bits (less ``squeeze``), thresholds in
    popcount terms (0..MW+1, as FINN's streamlining leaves them) or none."""
    rng = np.random.default_rng(seed)
    w = rng.integers(0, 2, size=(mw, mh))
    acc_bits = bounds.popcount_acc_bits(mw) - squeeze
    params = {"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "N_VECTORS": 1,
              "IN_BITS": 1, "IN_SIGNED": 0, "W_BITS": 1, "ACC_BITS": acc_bits,
              "ACC_SIGNED": 0, "N_THRES": n_thres, "THR_BITS": acc_bits + 1, "ACT_BIAS": 0,
              "XNOR": 1, "OUT_BITS": max(1, n_thres.bit_length()) if n_thres else acc_bits}
    if n_thres:
        thr = np.sort(rng.integers(0, mw + 2, size=(mh, n_thres)), axis=1)
        thr = _edge_thresholds(words.clip_thresholds(thr, acc_bits, False), 0, mw)
    else:
        thr = np.zeros((mh, 1), dtype=np.int64)
    tb = {"seed": seed, "n_vectors": 12, "w": w.tolist(), "thr": thr.tolist(),
          "expect_ovf": bool(squeeze), **PAUSES}
    return Case("mvau", name, "cs_mvau", MVAU_FILES, params, tb, verilator)


def _mvau_prepare(case: Case, build: Path) -> tuple[dict[str, object], dict[str, Any]]:
    """Write the weight/threshold memory files and .npy copies into the build dir."""
    p = case.params
    w = np.array(case.tb["w"], dtype=np.int64)
    thr = np.array(case.tb["thr"], dtype=np.int64)
    wmem = words.write_weight_mem(w, p["PE"], p["SIMD"], p["W_BITS"], build / "weights.mem",
                                  signed=not p.get("XNOR", 0))
    np.save(build / "weights.npy", w)
    params: dict[str, object] = {"WEIGHT_FILE": sv_string(str(wmem))}
    if p["N_THRES"]:
        words.write_thresh_mem(thr, p["PE"], p["THR_BITS"], build / "thresholds",
                                signed=bool(p["ACC_SIGNED"]))
        np.save(build / "thresholds.npy", thr)
        params["THRESH_FILE"] = sv_string(str(build / "thresholds"))
    return params, {"weights": str(build / "weights.npy"),
                    "thresholds": str(build / "thresholds.npy")}


MVAU_CASES = [
    # fits (FINN's minimal accumulator): ovf must stay low; no activation
    _mvau_case("fit-pe2-simd2-u4", 11, 8, 4, 2, 2, 4, False, 4),
    # squeezed accumulator, signed input: wraps like hardware and ovf rises
    _mvau_case("squeeze-pe3-simd4-s8", 12, 12, 6, 3, 4, 8, True, 3, squeeze=4, verilator=True),
    # thresholds (padded from 5 to 7 for the search) with a negative ActVal (signed output)
    _mvau_case("thr5-pe4-simd8-s3", 13, 16, 8, 4, 8, 3, True, 2, n_thres=5, act_bias=-3),
    # unsigned accumulator (non-negative weights, unsigned input), fully folded
    _mvau_case("uacc-pe1-simd1", 14, 6, 3, 1, 1, 2, False, 3, n_thres=3, nonneg_w=True),
    # fully parallel (NF = SF = 1)
    _mvau_case("par-pe2-simd4-s8", 15, 4, 2, 2, 4, 8, True, 8),
    # one input word per vector (SF = 1) / one output word per vector (NF = 1)
    _mvau_case("sf1-pe1-simd4-s5", 17, 4, 3, 1, 4, 5, True, 6),
    _mvau_case("nf1-pe2-simd2-u8", 18, 8, 2, 2, 2, 8, False, 8, n_thres=2, act_bias=-1),
    # squeezed and thresholded
    _mvau_case("squeeze-thr-pe2-simd3", 16, 9, 4, 2, 3, 4, False, 4, squeeze=3, n_thres=15,
               act_bias=0),
    # 8-bit activations: 255 thresholds (8 search stages), thresholds at the accumulator
    # limits; signed accumulator (squeezed, so it wraps over its whole range) ...
    _mvau_case("t255-pe4-simd4-s8", 19, 8, 8, 4, 4, 8, True, 4, squeeze=4, n_thres=255,
               act_bias=-128, edges=True, verilator=True),
    # ... and unsigned (non-negative weights, unsigned input), PE = 8, NF = 3
    _mvau_case("t255-uacc-pe8-simd2-u4", 20, 4, 24, 8, 2, 4, False, 3, n_thres=255,
               nonneg_w=True, edges=True),
    # LUT-coded products (resType lut): signed and unsigned inputs, the most negative
    # weight (its top bit subtracted), squeezed so the sums wrap, and thresholds
    _mvau_case("lut-squeeze-thr-pe3-simd4-s8", 21, 12, 6, 3, 4, 8, True, 5, squeeze=3,
               n_thres=7, act_bias=-3, lut=True, verilator=True),
    _mvau_case("lut-pe2-simd2-u4-w2", 22, 8, 4, 2, 2, 4, False, 2, lut=True),
    # binaryXnorMode (XNOR-popcount): one threshold to a binary output (bnn_pynq's hidden
    # layers), MW = 2^k so the popcount needs the extra bit, thresholds at 0 and MW + 1
    _xnor_case("xnor-thr1-pe4-simd8", 51, 16, 8, 4, 8, n_thres=1, verilator=True),
    # no activation (the last layer: the count itself), SIMD = MW
    _xnor_case("xnor-noact-pe2-simd12", 52, 12, 6, 2, 12),
    # a popcount squeezed by one bit wraps and raises ovf (the adversarial all-match
    # input reaches MW = 8)
    _xnor_case("xnor-squeeze-pe1-simd2", 53, 8, 3, 1, 2, squeeze=1),
    # several thresholds (a 2-bit activation after XNOR layers), NF = 5
    _xnor_case("xnor-thr3-pe1-simd4", 54, 20, 5, 1, 4, n_thres=3),
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(MVAU_CASES))
def test_mvau(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root, _mvau_prepare)


# --------------------------------------------------------------------------- cs_thresholding
THR_FILES = tuple(p.name for p in module_sources(["cs_thresholding"]))


def _thr_case(name: str, seed: int, c: int, pe: int, n_thres: int, in_bits: int,
              in_signed: bool, act_bias: int = 0, edges: bool = False,
              verilator: bool = False, narrow: tuple[int, int] | None = None) -> Case:
    """``narrow``: thresholds drawn from this range only, stored (and searched) in
    ``threshold_bits`` bits, so most inputs are saturated."""
    rng = np.random.default_rng(seed)
    lo, hi = words.value_range(in_bits, in_signed)
    # a little beyond the input range on both sides, then clipped (never / always true)
    t_lo, t_hi = narrow or (lo - 2, hi + 3)
    thr = np.sort(rng.integers(t_lo, t_hi, size=(c, n_thres)), axis=1)
    thr = words.clip_thresholds(thr, in_bits, in_signed)
    if edges:
        thr = _edge_thresholds(thr, lo, hi)
    thr_bits = words.threshold_bits(thr, in_bits, in_signed)
    assert narrow is None or thr_bits < in_bits
    top = act_bias + n_thres
    out_bits = max(act_bias.bit_length(), top.bit_length()) + int(act_bias < 0)
    params = {"C": c, "PE": pe, "N_THRES": n_thres, "IN_BITS": in_bits,
              "IN_SIGNED": int(in_signed), "THR_BITS": thr_bits, "ACT_BIAS": act_bias,
              "OUT_BITS": out_bits}
    tb = {"seed": seed, "n_pixels": 24, "thr": thr.tolist(), **PAUSES}
    return Case("thresholding", name, "cs_thresholding", THR_FILES, params, tb, verilator)


def _thr_prepare(case: Case, build: Path) -> tuple[dict[str, object], dict[str, Any]]:
    p = case.params
    thr = np.array(case.tb["thr"], dtype=np.int64)
    words.write_thresh_mem(thr, p["PE"], p["THR_BITS"], build / "thresholds",
                            signed=bool(p["IN_SIGNED"]))
    np.save(build / "thresholds.npy", thr)
    return ({"THRESH_FILE": sv_string(str(build / "thresholds"))},
            {"thresholds": str(build / "thresholds.npy")})


# every case runs on Icarus; Verilator builds are slow (~30 s each), so it runs the
# largest case (the same kernel code path with 8 search stages)
THR_CASES = [
    _thr_case("c8-pe2-s6-t7-bias-4", 21, 8, 2, 7, 6, True, act_bias=-4),
    _thr_case("c6-pe3-u4-t12", 22, 6, 3, 12, 4, False, edges=True),
    _thr_case("c5-pe1-s8-t3", 23, 5, 1, 3, 8, True, act_bias=1),
    _thr_case("c4-pe4-u1-t1", 24, 4, 4, 1, 1, False),
    # 8-bit activations: 255 thresholds, 8 search stages, thresholds at the input limits
    _thr_case("c8-pe4-u8-t255", 25, 8, 4, 255, 8, False, edges=True),
    _thr_case("c24-pe8-s8-t255-bias-128", 26, 24, 8, 255, 8, True, act_bias=-128, edges=True,
              verilator=True),
    # a wide input beside narrow thresholds: a 6-bit search saturates 14-bit data
    _thr_case("c6-pe2-s14-t9-narrow", 27, 6, 2, 9, 14, True, narrow=(-20, 25)),
    _thr_case("c4-pe4-u12-t5-narrow", 28, 4, 4, 5, 12, False, narrow=(0, 40)),
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(THR_CASES))
def test_thresholding(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root, _thr_prepare)


# --------------------------------------------------------------------------- cs_dwc
def _dwc_case(name: str, seed: int, ie: int, oe: int, eb: int, verilator: bool = False) -> Case:
    return Case("dwc", name, "cs_dwc", tuple(p.name for p in module_sources(["cs_dwc"])),
                {"IN_ELEMS": ie, "OUT_ELEMS": oe, "ELEM_BITS": eb},
                {"seed": seed, "n_groups": max(2, 48 // (ie * oe // math.gcd(ie, oe))),
                 **PAUSES}, verilator)


DWC_CASES = [
    _dwc_case("lcm-up-2to3-e8", 31, 2, 3, 8, verilator=True),
    _dwc_case("up-1to4-e8", 37, 1, 4, 8),
    _dwc_case("down-6to2-e3", 32, 6, 2, 3),
    _dwc_case("lcm-3to2-e5", 33, 3, 2, 5),
    _dwc_case("lcm-4to6-e4", 34, 4, 6, 4),
    _dwc_case("same-2to2-e7", 35, 2, 2, 7),
    _dwc_case("down-8to1-e1", 36, 8, 1, 1),
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(DWC_CASES))
def test_dwc(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root)


# --------------------------------------------------------------------------- cs_label_select
def _ls_case(name: str, seed: int, n: int, pe: int, k: int, in_bits: int, in_signed: bool,
             verilator: bool = False) -> Case:
    out_bits = max(1, (n - 1).bit_length())  # FINN: smallest unsigned type holding N-1
    return Case("label_select", name, "cs_label_select",
                tuple(p.name for p in module_sources(["cs_label_select"])),
                {"N_LABELS": n, "PE": pe, "K": k, "IN_BITS": in_bits,
                 "IN_SIGNED": int(in_signed), "OUT_BITS": out_bits},
                {"seed": seed, "n_frames": 8, **PAUSES}, verilator)


LS_CASES = [
    _ls_case("n10-pe2-k3-s8", 41, 10, 2, 3, 8, True, verilator=True),
    _ls_case("n12-pe4-k1-u4", 42, 12, 4, 1, 4, False),
    _ls_case("n7-pe1-k7-s3", 43, 7, 1, 7, 3, True),
    _ls_case("n16-pe16-k4-u6", 44, 16, 16, 4, 6, False),
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(LS_CASES))
def test_label_select(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root)


# --------------------------------------------------------------------------- synthesis
@pytest.mark.synth
def test_mvau_ovf_optimised_away(tmp_path: Path) -> None:
    """With ovf unconnected, Yosys removes the shadow accumulator when it flattens: fewer
    flip-flops and fewer cells (generic synth; with synth_xilinx the FF count drops the
    same way). Kept hierarchical it cannot see ovf unused and builds the monitor, which a
    narrow accumulator has and one as wide as the shadow does not, unless OVF_MONITOR = 0
    (what the generated top sets): then it matches the flattened design."""
    rng = random.Random(0)
    w = np.array([[rng.randint(-8, 7) for _ in range(4)] for _ in range(8)])
    words.write_weight_mem(w, 2, 2, 4, tmp_path / "weights.mem")
    srcs = " ".join(script_path(rtl_dir() / f, tmp_path) for f in MVAU_FILES)
    wrapper = tmp_path / "wrap.sv"
    ports = ["ap_clk", "ap_rst_n", "s_axis_tvalid", "s_axis_tready", "s_axis_tdata",
             "m_axis_tvalid", "m_axis_tready", "m_axis_tdata"]
    # top: (ovf connected, OVF_MONITOR, flattened)
    tops = {"with_ovf": (True, 1, True), "without_ovf": (False, 1, True),
            "hier_monitor": (False, 1, False), "hier_no_monitor": (False, 0, False)}
    body = []
    for name, (connected, monitor, _) in tops.items():
        body.append(
            f"module {name}(input ap_clk, input ap_rst_n, input s_axis_tvalid,\n"
            " output s_axis_tready, input [7:0] s_axis_tdata, output m_axis_tvalid,\n"
            " input m_axis_tready, output [15:0] m_axis_tdata, output ovf);\n"
            " cs_mvau #(.MW(8), .MH(4), .PE(2), .SIMD(2), .IN_BITS(4), .W_BITS(4),\n"
            f"  .ACC_BITS(8), .OUT_BITS(8), .OVF_MONITOR({monitor}),\n"
            "  .WEIGHT_FILE(\"weights.mem\")) u (\n"
            + ", ".join(f".{p}({p})" for p in ports)
            + (", .ovf(ovf));\n" if connected else ", .ovf());\n assign ovf = 1'b0;\n")
            + "endmodule\n"
        )
    wrapper.write_text("".join(body))
    cells, ffs = {}, {}
    for top, (_, _, flat) in tops.items():
        script = tmp_path / f"{top}.ys"
        script.write_text(
            f"read_verilog -defer -sv {srcs} {script_path(wrapper, tmp_path)}\n"
            f"synth {'-flatten ' if flat else ''}-top {top}\n"
            f"tee -q -o {top}.json stat -top {top} -json\n"
        )
        proc = run_yosys(script, log_name=f"{top}.log")
        assert proc.returncode == 0, (tmp_path / f"{top}.log").read_text()[-2000:]
        stat = json.loads((tmp_path / f"{top}.json").read_text())["design"]
        cells[top] = int(stat["num_cells"])
        ffs[top] = sum(n for c, n in stat["num_cells_by_type"].items() if "DFF" in c)
    assert ffs["without_ovf"] < ffs["with_ovf"], ffs
    assert cells["without_ovf"] < cells["with_ovf"], cells
    assert ffs["hier_monitor"] > ffs["without_ovf"] == ffs["hier_no_monitor"], ffs


def test_the_synthesized_top_builds_no_overflow_monitor(tmp_path: Path) -> None:
    """emit_rtl without monitors sets OVF_MONITOR = 0 on every kernel with an ovf port."""
    import hls_cases as hc

    from codesign.backends.rtl import emit_rtl
    from codesign.dataflow.graph import single_kernel

    graph = single_kernel(hc.mvau(3, 4, 2, 2, 4, 8, True, 8), name="one")
    deployed = emit_rtl(graph, tmp_path / "deployed", monitor_overflow=False).top_file
    verified = emit_rtl(graph, tmp_path / "verified").top_file
    assert ".OVF_MONITOR(0)" in deployed.read_text()
    assert "OVF_MONITOR" not in verified.read_text()
