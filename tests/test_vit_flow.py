"""The ViT through the whole flow on CI-sized versions of the shipped configs (other head
counts and widths than theirs): FIFO depths from simulation with the attention's
multi-input kernels, the stream graph bit-exact in RTL under stalls, II against the
estimate, the overflow proof of every MVAU; then the HLS backend's C-simulation of the
same vectors. Synthesis is left to the shipped configs' runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from vit_builds import FRAMES, VARIANTS, small_vit, vit_build

from codesign.flow.runner import run_flow

KERNELS = {"softmax-h4-d8": {"stream_matmul", "int_softmax"},
           "linear-h1-d8": {"linear_attention"}}


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_vit_flow(variant: str, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    # the session's build (the notebook's test reads it too), copied: csim adds to it
    shutil.copytree(vit_build(variant, tmp_path_factory), tmp_path, dirs_exist_ok=True)
    cfg = small_vit(variant)
    r = run_flow(cfg, tmp_path, until="overflow").results
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    kinds = {k["kernel"] for k in manifest["steps"]["rtl"]["result"]["kernels"]}
    assert KERNELS[variant] | {"mvau", "duplicate_streams", "elementwise_binary"} <= kinds
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == FRAMES and ver["mismatches"] == 0, ver
    assert r["accuracy"]["accelerator"] == r["accuracy"]["hw_graph"]
    assert r["cycles"]["ii_error"] <= 0.05, r["cycles"]
    assert r["overflow"]["total"] == 0
    h = run_flow(cfg, tmp_path, backend="hls").results["verification"]["backends"]["hls"]
    assert h["passed"] and h["frames"] == FRAMES and h["mismatches"] == 0, h
