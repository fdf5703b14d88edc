"""The ViT through the whole flow on CI-sized versions of the shipped configs (other head
counts and widths than theirs): FIFO depths from simulation with the attention's
multi-input kernels, the stream graph bit-exact in RTL under stalls, II against the
estimate, the overflow proof of every MVAU; then the HLS backend's C-simulation of the
same vectors. Synthesis is left to the shipped configs' runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codesign.config import load_config, parse_config
from codesign.flow.runner import run_flow
from codesign.paths import data_dir


def _small(shipped: str, **model: Any) -> Any:
    """A shipped ViT config, trained briefly, verified on a sample of the test set."""
    data = load_config(data_dir("configs") / shipped).model_dump(mode="json")
    data["model"].update(model)
    data["train"]["epochs"] = 3
    data["sim"].update(frames=12, simulator="icarus")
    data["fold"] = {"target_cycles": 512}
    return parse_config(data, source=f"{shipped} (CI size)")


VARIANTS = {
    "softmax-h4-d8": ("vit_softmax.yaml", {"dim": 8, "heads": 4, "mlp": 8}),
    # no position embedding, the digits resized to 16x16 in 4x4 patches (16 tokens)
    "linear-h1-d8": ("vit_linear.yaml", {"dim": 8, "heads": 1, "mlp": 8, "position": False,
                                         "image": 16, "patch": 4}),
}
KERNELS = {"softmax-h4-d8": {"stream_matmul", "int_softmax"},
           "linear-h1-d8": {"linear_attention"}}


@pytest.mark.sim
@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_vit_flow(variant: str, tmp_path: Path) -> None:
    shipped, model = VARIANTS[variant]
    cfg = _small(shipped, **model)
    r = run_flow(cfg, tmp_path, until="overflow").results
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    kinds = {k["kernel"] for k in manifest["steps"]["rtl"]["result"]["kernels"]}
    assert KERNELS[variant] | {"mvau", "duplicate_streams", "elementwise_binary"} <= kinds
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == 12 and ver["mismatches"] == 0, ver
    assert r["accuracy"]["accelerator"] == r["accuracy"]["hw_graph"]
    assert r["cycles"]["ii_error"] <= 0.05, r["cycles"]
    assert r["overflow"]["total"] == 0
    h = run_flow(cfg, tmp_path, backend="hls").results["verification"]["backends"]["hls"]
    assert h["passed"] and h["frames"] == 12 and h["mismatches"] == 0, h
