"""The MobileNet-style family through the whole flow, on a CI-sized version of
configs/mobilenet.yaml: stem conv, depthwise-separable blocks (VVAU + MVAU), the global
average pool as a GlobalAccPool whose 1/(H*W) the second streamlining pass folds into the
next thresholds, the classifier; bit-exact in RTL under stalls, II against the estimate,
the overflow proof; then the HLS backend's C-simulation of the same vectors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ci_size import ci_sized

from codesign.flow.runner import run_flow

FRAMES = 16


def _small() -> Any:
    return ci_sized("mobilenet.yaml", model={"stem": 4, "blocks": [8, 8]}, epochs=3,
                    frames=FRAMES)


@pytest.mark.sim
@pytest.mark.slow
def test_mobilenet_flow(tmp_path: Path) -> None:
    cfg = _small()
    r = run_flow(cfg, tmp_path, until="overflow").results
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    kinds = {k["kernel"] for k in manifest["steps"]["rtl"]["result"]["kernels"]}
    assert {"swg", "fmpadding", "maxpool", "vvau", "mvau", "global_acc_pool",
            "thresholding"} <= kinds
    # the pool's 1/(H*W) went into the thresholds after it: no float op between layers
    ops = [ly["op_type"] for ly in r["layers"]]
    assert ops[-3:] == ["GlobalAccPool", "Thresholding", "MVAU"]
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == FRAMES and ver["mismatches"] == 0
    assert r["accuracy"]["hw_graph"] == r["accuracy"]["quantized"]
    assert r["accuracy"]["accelerator"] == r["accuracy"]["hw_graph"]
    assert r["cycles"]["ii_error"] <= 0.05, r["cycles"]
    assert r["ii"]["source"] == "measured"
    weighted = [ly for ly in r["layers"] if ly.get("acc_bits_finn") is not None]
    assert [o["name"] for o in r["overflow"]["layers"]] == [ly["name"] for ly in weighted]
    assert r["overflow"]["total"] == 0
    h = run_flow(cfg, tmp_path, backend="hls").results["verification"]["backends"]["hls"]
    assert h["passed"] and h["frames"] == FRAMES and h["mismatches"] == 0, h
    assert h["words_compared"] == ver["words_compared"]
