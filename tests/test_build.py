"""Build directories: manifest, caching of finished steps, failures never look finished."""

import json
from pathlib import Path

import pytest

from codesign.config import FlowConfig, parse_config
from codesign.flow.build import BuildDir, BuildDirError


def _manifest(root: Path) -> dict:
    return json.loads((root / "manifest.json").read_text())


def test_finished_steps_are_reused_and_later_steps_rerun_after_a_fresh_one(tmp_path: Path) -> None:
    calls: list[str] = []

    def step(name: str) -> dict:
        calls.append(name)
        return {"value": name}

    bd = BuildDir(tmp_path, FlowConfig())
    bd.run_step("a", lambda: step("a"))
    bd.run_step("b", lambda: step("b"))
    bd.finish({})
    bd2 = BuildDir(tmp_path, FlowConfig())
    assert bd2.run_step("a", lambda: step("a")) == ({"value": "a"}, True)
    assert bd2.run_step("b", lambda: step("b"))[1] is True
    assert calls == ["a", "b"]
    # a step whose artefact vanished runs again, and so does every step after it
    bd3 = BuildDir(tmp_path, FlowConfig())
    bd3.manifest["steps"]["a"]["artefacts"] = ["gone.onnx"]
    assert bd3.run_step("a", lambda: step("a"))[1] is False
    assert bd3.run_step("b", lambda: step("b"))[1] is False
    assert calls == ["a", "b", "a", "b"]


def test_failed_step_marks_manifest_failed(tmp_path: Path) -> None:
    bd = BuildDir(tmp_path, FlowConfig())

    def boom() -> dict:
        raise RuntimeError("node MVAU_0 exploded")

    with pytest.raises(RuntimeError):
        bd.run_step("lower", boom)
    m = _manifest(tmp_path)
    assert m["status"] == "failed"
    assert m["steps"]["lower"]["status"] == "failed"
    assert "MVAU_0 exploded" in m["steps"]["lower"]["error"]
    assert not (tmp_path / "results.json").exists()


def test_other_config_refused(tmp_path: Path) -> None:
    BuildDir(tmp_path, FlowConfig())
    with pytest.raises(BuildDirError, match="another design"):
        BuildDir(tmp_path, parse_config({"train": {"seed": 7}}))


def test_paths_stay_inside(tmp_path: Path) -> None:
    bd = BuildDir(tmp_path, FlowConfig())
    with pytest.raises(BuildDirError, match="escapes"):
        bd.path("..", "evil.txt")


def test_manifest_records_versions_and_digest(tmp_path: Path) -> None:
    cfg = FlowConfig()
    BuildDir(tmp_path, cfg)
    m = _manifest(tmp_path)
    assert m["digest"] == cfg.design_digest()
    assert m["tool_versions"]["brevitas"] == "0.13.4"
    assert m["status"] == "running"


def test_step_with_other_key_reruns(tmp_path: Path) -> None:
    bd = BuildDir(tmp_path, FlowConfig())
    bd.run_step("sim", lambda: {"n": 1}, key={"simulator": "verilator"})
    bd2 = BuildDir(tmp_path, parse_config({"sim": {"simulator": "icarus"}}))
    assert bd2.run_step("sim", lambda: {"n": 2}, key={"simulator": "verilator"})[1] is True
    bd3 = BuildDir(tmp_path, FlowConfig())
    assert bd3.run_step("sim", lambda: {"n": 3}, key={"simulator": "icarus"}) == ({"n": 3}, False)
