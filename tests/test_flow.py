"""The whole flow on a small MLP: results.json, caching, squeezed baselines, overflow proof."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codesign.config import parse_config
from codesign.errors import LoweringError
from codesign.flow import run_flow

BASE: dict[str, Any] = {
    "model": {"hidden": [16]},
    "quant": {"method": "a2q", "act_bits": 4, "acc_bits": 16},
    "train": {"epochs": 3, "seed": 0},
    "fold": {"target_cycles": 32},
    "sim": {"simulator": "icarus", "frames": 40},
}


def _cfg(**quant: Any) -> Any:
    data = json.loads(json.dumps(BASE))
    data["quant"].update(quant)
    data["name"] = f"flow_{quant.get('method', 'a2q')}_{quant.get('acc_bits', 16)}"
    return parse_config(data)


@pytest.mark.sim
@pytest.mark.synth
@pytest.mark.slow
def test_a2q_flow_end_to_end_and_cached_rerun(tmp_path: Path) -> None:
    cfg = _cfg()
    res = run_flow(cfg, tmp_path)
    r = json.loads(res.results_path.read_text())
    assert r["steps_run"] == ["train", "export", "lower", "rtl", "sim", "overflow", "synth"]
    assert r["accuracy"]["hw_graph"] == r["accuracy"]["accelerator"]
    for layer in (x for x in r["layers"] if x["op_type"] == "MVAU"):
        assert layer["acc_bits_finn"] <= 16 or layer["no_activation"]
        assert layer["acc_bits_a2q_bound"] <= 16 < layer["acc_bits_dtype_bound"] + 8
    assert r["verification"]["passed"] and r["verification"]["frames"] == 40
    assert r["cycles"]["ii_error"] <= 0.05
    assert r["overflow"]["total"] == 0
    assert not any(layer["rtl_overflow_flag"] for layer in r["overflow"]["layers"])
    res_a, res_w = r["resources"]["accelerator"]["total"], r["resources"]["acc32"]["total"]
    assert res_a["LUT"] > 0 and res_w["FF"] > res_a["FF"]
    kernels = r["resources"]["accelerator"]["kernels"]
    assert sum(k["total"].get("LUT", 0) for k in kernels) == res_a["LUT"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "done"
    # same config: every step reused, same results
    again = run_flow(cfg, tmp_path)
    assert again.results == res.results


@pytest.mark.sim
@pytest.mark.slow
def test_squeezed_baseline_wraps_and_overflows(tmp_path: Path) -> None:
    res = run_flow(_cfg(method="baseline", acc_bits=12), tmp_path, until="overflow")
    r = res.results
    assert r["overflow"]["total"] > 0
    assert any(layer["rtl_overflow_flag"] for layer in r["overflow"]["layers"])
    # the RTL wraps exactly like the reference: the simulation still passes bit-exactly
    assert r["verification"]["passed"]
    assert r["accuracy"]["accelerator"] < r["accuracy"]["hw_graph"]


def test_failed_step_marks_build_failed(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["fold"] = {"layers": [{"pe": 3, "simd": 1}, {"pe": 1, "simd": 1}]}
    with pytest.raises(LoweringError, match="PE=3 does not divide"):
        run_flow(parse_config(data), tmp_path, until="lower")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["steps"]["lower"]["status"] == "failed"
    assert not (tmp_path / "results.json").exists()
