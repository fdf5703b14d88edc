"""The whole flow on a small MLP: results.json, caching, squeezed baselines, overflow proof."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from codesign.config import parse_config
from codesign.errors import LoweringError
from codesign.flow.results import ii_of
from codesign.flow.runner import run_flow

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


def check_accumulator_bounds(layers: list[dict[str, Any]], acc_bits: int) -> None:
    """Each MVAU's recorded bounds, recomputed from its shape and data types: the A2Q bound
    holds P where the data types alone need more, and covers the weight-aware bound."""
    mvaus = [x for x in layers if x["op_type"] == "MVAU"]
    for layer in mvaus:
        assert layer["acc_bits_finn"] <= acc_bits or layer["no_activation"]
        # MW products of an unsigned input and a signed weight: |sum| < MW (2^N - 1) 2^(M-1)
        assert layer["input_dtype"].startswith("UINT")
        reach = layer["mw"] * (2 ** layer["input_bits"] - 1) * 2 ** (layer["weight_bits"] - 1)
        assert layer["acc_bits_dtype_bound"] == (reach - 1).bit_length() + 1
        assert layer["acc_bits_weight_bound"] <= layer["acc_bits_a2q_bound"] <= acc_bits
    assert mvaus[0]["acc_bits_dtype_bound"] > acc_bits  # the 64-pixel layer needs A2Q


def check_resources(resources: dict[str, Any], rtl_kernels: list[dict[str, Any]]) -> None:
    """One out-of-context synthesis per kernel of the generated top, in the twin too; the
    twin's thresholded MVAUs are netlists of their own (another ACC_BITS, another key), not
    ours read back from the cache. Which of the two costs more is what the report measures,
    not a rule: with thresholds at their own width the twin measured no larger."""
    acc, wide = resources["accelerator"], resources["acc32"]
    for design in (acc, wide):
        assert [k["instance"] for k in design["kernels"]] == [f"u_{k['node']}" for k in rtl_kernels]
        assert [k["module"] for k in design["kernels"]] == [k["module"] for k in rtl_kernels]
        assert all(k["total"].get("LUT", 0) > 0 for k in design["kernels"])
    thresholded = [i for i, k in enumerate(rtl_kernels) if k["params"].get("N_THRES", 0) > 0]
    assert thresholded
    for i in thresholded:
        ours, theirs = acc["kernels"][i], wide["kernels"][i]
        assert theirs["key"] != ours["key"], ours["instance"]


@pytest.mark.sim
@pytest.mark.synth
@pytest.mark.slow
def test_a2q_flow_end_to_end_and_cached_rerun(tmp_path: Path) -> None:
    cfg = _cfg()
    res = run_flow(cfg, tmp_path, backend="both")
    r = json.loads(res.results_path.read_text())
    assert r["steps_run"] == [
        "train", "export", "lower", "fifos", "rtl", "sim", "overflow", "synth", "csim"]
    # both backends verified every word of the same vectors; the RTL keys stay on top
    hls, rtl = r["verification"]["backends"]["hls"], r["verification"]["backends"]["rtl"]
    assert hls["passed"] and hls["frames"] == rtl["frames"] == 40
    assert hls["words_compared"] == rtl["words_compared"] > 0 and hls["mismatches"] == 0
    # each simulation's speed beside the other's (the report's RTL vs HLS table)
    assert rtl["frames_per_second"] == pytest.approx(40 / rtl["sim_seconds"], rel=0.02)
    assert hls["frames_per_second"] > 0 and hls["compile_seconds"] >= 0
    assert r["accuracy"]["hw_graph"] == r["accuracy"]["accelerator"]
    check_accumulator_bounds(r["layers"], acc_bits=16)
    assert r["verification"]["passed"] and r["verification"]["frames"] == 40
    assert r["cycles"]["ii_error"] <= 0.05
    assert r["ii"] == {"cycles": r["cycles"]["ii_measured"], "source": "measured",
                       "estimated": r["cycles"]["ii_estimated"],
                       "slowest_node": manifest_rtl(tmp_path)["est_ii_node"]}
    assert r["overflow"]["total"] == 0
    assert not any(layer["rtl_overflow_flag"] for layer in r["overflow"]["layers"])
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "done"
    check_resources(r["resources"], manifest["steps"]["rtl"]["result"]["kernels"])
    # same config: every step reused, same results
    again = run_flow(cfg, tmp_path, backend="both")
    assert again.results == res.results


def manifest_rtl(build: Path) -> dict[str, Any]:
    """The rtl step's summary in a build's manifest."""
    steps = json.loads((build / "manifest.json").read_text())["steps"]
    return dict(steps["rtl"]["result"])


def test_ii_is_labelled_measured_or_estimated() -> None:
    """results.json's ``ii``: the simulation's measurement where the sim step ran, else the
    estimate of the stream graph as built (rtl step), else of the slowest layer (lower)."""
    layers = [{"name": "SWG_0", "cycles": 334}, {"name": "MVAU_0", "cycles": 180}]
    lowered = {"lower": {"layers": layers}}
    built = {**lowered, "rtl": {"est_ii_cycles": 336, "est_ii_node": "SWG_0"}}
    simulated = {**built, "sim": {"cycles": {"ii_measured": 335.5, "ii_estimated": 336}}}
    assert ii_of({}) is None and ii_of({"lower": {"layers": []}}) is None
    assert ii_of(lowered) == {"cycles": 334, "source": "estimated", "estimated": 334,
                              "slowest_node": "SWG_0"}
    assert ii_of(built) == {"cycles": 336, "source": "estimated", "estimated": 336,
                            "slowest_node": "SWG_0"}
    assert ii_of(simulated) == {"cycles": 335.5, "source": "measured", "estimated": 336,
                                "slowest_node": "SWG_0"}


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
    # the HLS accumulators wrap the same way: C-simulation passes on the same vectors
    h = run_flow(_cfg(method="baseline", acc_bits=12), tmp_path, backend="hls").results
    assert h["steps_run"][-2:] == ["rtl", "csim"]
    assert h["verification"]["passed"] and h["verification"]["backends"]["hls"]["frames"] == 40


def test_failed_step_marks_build_failed(tmp_path: Path) -> None:
    data = json.loads(json.dumps(BASE))
    data["fold"] = {"layers": [{"pe": 3, "simd": 1}, {"pe": 1, "simd": 1}]}
    with pytest.raises(LoweringError, match="PE=3 does not divide"):
        run_flow(parse_config(data), tmp_path, until="lower")
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["steps"]["lower"]["status"] == "failed"
    assert not (tmp_path / "results.json").exists()


def test_step_keys_follow_the_code_each_step_runs(tmp_path: Path) -> None:
    """A step's key digests the import closure of its modules (and the HDL/C++ they read):
    an edit re-runs the steps that run the edited code (and, through the build directory,
    every step after a re-run one), never a step that does not run it."""
    from codesign import closure
    from codesign.flow import keys
    from codesign.flow.table import STEPS, step_named

    for name in ("codesign", "rtl_sim", "rtl", "hls", "boards"):
        shutil.copytree(closure.PACKAGE_ROOT / name, tmp_path / name,
                        ignore=shutil.ignore_patterns("__pycache__", "_data"))
    digest = closure.code_digest.__wrapped__  # uncached: the copy changes under it

    def now() -> dict[str, dict[str, str]]:
        return {step.name: digest(keys.step_entries(step), tmp_path) for step in STEPS}

    def changed_by(edit: Callable[[], None]) -> set[str]:
        before = now()
        edit()
        return {name for name, key in now().items() if key != before[name]}

    def append(rel: str, text: str = "# edit\n") -> Callable[[], None]:
        path = tmp_path / rel
        return lambda: path.write_text((path.read_text() if path.exists() else "") + text)

    after_lower = {"fifos", "rtl", "overflow", "synth", "csim"}
    # the case: the simulator runner (Verilator flags) re-runs what simulates, and
    # (through dataflow/fifos.py, which imports it in a function) what reads the FIFO depths
    assert changed_by(append("codesign/verify/simulators.py")) == {"sim"} | after_lower
    assert changed_by(append("codesign/dataflow/lower/folding.py")) == {"lower"} | after_lower
    # a module nothing imports runs nowhere; a kernel module is loaded by its registry, and
    # the import step checks a user's graph against the ops the kernels lower
    assert changed_by(append("codesign/dataflow/lower/unused.py", "X = 1\n")) == set()
    assert changed_by(append("codesign/dataflow/kernels/new_op.py", "X = 1\n")) == {
        "import", "lower", "sim"} | after_lower
    # config parsing dispatches on the model families, and each family's registration
    # names its builder: a family's code is in the closure of every step that reads the
    # config (sim reads only the rtl step's files). Nothing re-runs that would not anyway:
    # the train step re-runs, and with it every step after it
    every = {step.name for step in STEPS}
    assert changed_by(append("codesign/frontend/models/mlp/net.py")) == every - {"sim"}
    assert changed_by(append("codesign/frontend/export.py")) == {"export"}
    assert changed_by(append("codesign/synth/yosys.py")) == {"synth"}
    assert changed_by(append("codesign/verify/csim.py")) == {"csim"}
    assert changed_by(append("codesign/flow/steps/sim.py")) == {"sim"}
    assert changed_by(append("rtl_sim/accel/test_harness.py")) == {"sim", "overflow"}
    assert changed_by(append("rtl/cs_fifo.sv", "// edit\n")) == {"sim"} | after_lower
    assert changed_by(append("hls/cs_mvau.hpp", "// edit\n")) == {"csim"}
    # the machinery that schedules steps and stores results runs no step's computation
    assert changed_by(append("codesign/flow/runner.py")) == set()
    assert changed_by(append("codesign/flow/table.py")) == set()
    assert changed_by(append("codesign/report/tables.py")) == set()
    # the key carries the code digest, the versions of what the step imports, its settings
    cfg = parse_config(BASE)
    lower = keys.step_key(cfg, "lower")
    assert lower == closure.code_digest(keys.step_entries(step_named("lower")))
    assert "finn-plus" in lower and "torch" not in keys.step_key(cfg, "sim")
    assert keys.step_key(cfg, "synth")["synth"] == cfg.synth.model_dump(mode="json")


def test_step_inputs_are_products_of_earlier_steps() -> None:
    """Every input a step declares has a loader, and none is the config's data past the
    front end: from lower on, the test set is the one the front end stored."""
    from codesign.flow.products import PRODUCTS
    from codesign.flow.table import STEPS

    assert all(i in PRODUCTS for step in STEPS for i in step.inputs)
    after_front = [step for step in STEPS if step.name not in ("train", "export", "import")]
    assert not any({"split", "test_data"} & set(step.inputs) for step in after_front)
