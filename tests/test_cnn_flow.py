"""Convolutional networks through the whole flow, on CI-sized versions of the shipped CNN
configs: FIFO depths from simulation, the stream graph bit-exact in RTL under stalls,
II against FINN's estimate, the overflow proof for every conv / VVAU / MVAU, Yosys; then
the HLS backend on the same build (its C-simulation of the same vectors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ci_size import ci_sized

from codesign.flow.runner import run_flow

FRAMES = 8


def _small(shipped: str, **model: Any) -> Any:
    """A shipped CNN config at CI size (2 epochs: the checks are bit-exactness and
    cycles, not accuracy); the MLP's flow test covers the 32-bit twin."""
    return ci_sized(shipped, model=model, epochs=2, frames=FRAMES,
                    synth={"compare_acc_bits": None})


# Both variants start with a standard conv stage; the residual one synthesizes every kernel
# kind but the VVAU (tests/test_rtl_kernels_dws.py synthesizes that), whose flow stops
# before synthesis to keep CI within its budget.
VARIANTS = {
    "depthwise_separable": ("cnn_dws_a2q.yaml", {"conv": [4, 8]}, False),
    "residual": ("cnn_res_a2q.yaml", {"conv": [4, 4]}, True),
}


@pytest.mark.sim
@pytest.mark.synth
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cnn_flow(variant: str, tmp_path: Path) -> None:
    shipped, model, synth = VARIANTS[variant]
    cfg = _small(shipped, **model)
    r = run_flow(cfg, tmp_path, until=None if synth else "overflow").results
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    kinds = {k["kernel"] for k in manifest["steps"]["rtl"]["result"]["kernels"]}
    assert {"swg", "fmpadding", "maxpool", "mvau"} <= kinds
    if variant == "depthwise_separable":
        assert "vvau" in kinds
    if variant == "residual":
        assert {"duplicate_streams", "elementwise_binary"} <= kinds
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == FRAMES and ver["mismatches"] == 0
    assert r["accuracy"]["accelerator"] == r["accuracy"]["hw_graph"]
    assert r["cycles"]["ii_error"] <= 0.05, r["cycles"]
    # every layer's cycles are its kernel's estimate: the sliding windows' too (FINN's
    # generic op says 0), and the slowest of them is the estimated II
    assert all(ly["cycles"] > 0 for ly in r["layers"]), r["layers"]
    swgs = [ly for ly in r["layers"] if ly["op_type"] == "ConvolutionInputGenerator"]
    assert swgs and all(0 < ly["cycles"] <= 1.05 * ly["finn_rtl_cycles"] for ly in swgs)
    assert r["ii"]["source"] == "measured" and r["ii"]["cycles"] == r["cycles"]["ii_measured"]
    assert r["ii"]["estimated"] >= max(ly["cycles"] for ly in r["layers"])
    # every accumulating layer (convs as MVAUs over the window, depthwise as VVAUs, the
    # classifier) proven: A2Q never overflows at its P; fan-in k*k*C_in for a conv
    weighted = [ly for ly in r["layers"] if ly.get("acc_bits_finn") is not None]
    assert [o["name"] for o in r["overflow"]["layers"]] == [ly["name"] for ly in weighted]
    assert r["overflow"]["total"] == 0
    first_conv = weighted[0]
    assert first_conv["fan_in"] == 9 * 1  # 3x3 window on the 1-channel image
    # FIFO depths from simulation: every FIFO at most as deep as the one-frame start
    fifos = r["fifos"]["fifos"]
    assert fifos and all(f["peak"] < f["simulated_depth"] for f in fifos.values())
    assert r["fifos"]["words_total"]["sized"] < r["fifos"]["words_total"]["simulated"]
    # the HLS backend on the same build: only its csim step runs (one g++ compile), the
    # conv path's hls/ kernels bit-exact on every word of the vectors the RTL checked
    h = run_flow(cfg, tmp_path, backend="hls").results["verification"]["backends"]["hls"]
    assert h["passed"] and h["frames"] == FRAMES and h["mismatches"] == 0, h
    assert h["words_compared"] == ver["words_compared"]
    if not synth:
        return
    per_instance = r["resources"]["accelerator"]["per_instance"]
    assert {f"u_{ly['name']}" for ly in r["layers"]} | {f"u_{n}" for n in fifos} <= set(
        per_instance)
    assert all(res.get("LUT", 0) > 0 for res in per_instance.values())
