"""``codesign flow --model`` with ``--frames`` and ``--target-cycles``: parsing, the
errors that name the flag (or the config key) and what is accepted, and the values
reaching the flow (results.json, the folding, the simulated vectors)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_byom import NET, TEST
from typer.testing import CliRunner

import codesign.flow.runner as runner
from codesign.cli import app
from codesign.config import FlowConfig

NARROW = {"COLUMNS": "80"}
MODEL = ["flow", "--model", str(NET), "--data", str(TEST), "--input-type", "UINT8"]


class _Stop(Exception):
    """Raised by the recording run_flow: the test needs the config, not a build."""


@pytest.fixture
def flow_config(monkeypatch: pytest.MonkeyPatch) -> list[FlowConfig]:
    """The configs ``codesign flow`` hands to run_flow (which then stops the command)."""
    seen: list[FlowConfig] = []

    def record(cfg: FlowConfig, out: Path, **kwargs: Any) -> Any:
        seen.append(cfg)
        raise _Stop

    monkeypatch.setattr(runner, "run_flow", record)
    return seen


def _invoke(*args: str) -> Any:
    return CliRunner().invoke(app, list(args), env=NARROW)


def _config(tmp_path: Path, **sections: Any) -> Path:
    """A user-model config file (the shipped example's model and test set)."""
    data = {"name": "flags", "model": {"kind": "onnx", "path": str(NET)},
            "data": {"kind": "npz", "path": str(TEST), "input_type": "UINT8"}, **sections}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_help_lists_both_flags_on_one_line() -> None:
    text = _invoke("flow", "--help").output
    lines = {line.split()[0]: line for line in text.splitlines() if line.strip()[:2] == "--"}
    assert "sim.frames" in lines["--frames"]
    assert "fold.target_cycles" in lines["--target-cycles"]


def test_flags_reach_the_model_config(flow_config: list[FlowConfig], tmp_path: Path) -> None:
    res = _invoke(*MODEL, "--frames", "3", "--target-cycles", "16", "-o", str(tmp_path / "b"))
    assert isinstance(res.exception, _Stop), res.output
    (cfg,) = flow_config
    assert (cfg.sim.frames, cfg.fold.target_cycles, cfg.fold.layers) == (3, 16, None)
    assert cfg.imported and cfg.model.path == NET.resolve()  # type: ignore[attr-defined]


def test_without_flags_the_defaults_stay(flow_config: list[FlowConfig], tmp_path: Path) -> None:
    _invoke(*MODEL, "-o", str(tmp_path / "b"))
    (cfg,) = flow_config
    assert (cfg.sim.frames, cfg.fold) == (None, FlowConfig().fold)


def test_flags_override_a_config_file(flow_config: list[FlowConfig], tmp_path: Path) -> None:
    config = _config(tmp_path, fold={"target_cycles": 64}, sim={"frames": 20})
    _invoke("flow", str(config), "-o", str(tmp_path / "b"))
    _invoke("flow", str(config), "--frames", "2", "--target-cycles", "8", "-o", str(tmp_path / "b"))
    from_file, flagged = flow_config
    assert (from_file.sim.frames, from_file.fold.target_cycles) == (20, 64)
    assert (flagged.sim.frames, flagged.fold.target_cycles) == (2, 8)


@pytest.mark.parametrize("flag", ["--frames", "--target-cycles"])
@pytest.mark.parametrize(("value", "hint"), [
    ("0", "must be a positive integer (1, 2, ...), got 0"),
    ("-4", "must be a positive integer (1, 2, ...), got -4"),
    ("2.5", "Input should be a valid integer"),
])
def test_bad_flag_values_name_the_flag(
    flow_config: list[FlowConfig], flag: str, value: str, hint: str
) -> None:
    res = _invoke(*MODEL, flag, value)
    assert res.exit_code == 2 and not flow_config
    assert f"Invalid value for '{flag}'" in res.output and hint in " ".join(res.output.split())


@pytest.mark.parametrize(("fold", "key"), [
    ({"layers": [{"pe": 1, "simd": 1}, {"pe": 1, "simd": 1}]}, "fold.layers"),
    ({"fit": "zcu104"}, "fold.fit: zcu104"),
])
def test_target_cycles_conflicting_with_the_config_folding(
    flow_config: list[FlowConfig], tmp_path: Path, fold: dict[str, Any], key: str
) -> None:
    config = _config(tmp_path, fold=fold)
    res = _invoke("flow", str(config), "--target-cycles", "32")
    assert res.exit_code == 2 and not flow_config
    assert f"--target-cycles 32 conflicts with {key} in {config}" in " ".join(res.output.split())
    _invoke("flow", str(config), "--frames", "2", "-o", str(tmp_path / "b"))
    assert flow_config[0].sim.frames == 2  # --frames alone goes with any folding


@pytest.mark.parametrize(("sections", "hint"), [
    ({"sim": {"frames": 0}}, "sim.frames: Input should be greater than or equal to 1"),
    ({"sim": {"frames": True}}, "sim.frames: Input should be a valid integer"),
    ({"fold": {"target_cycles": "64"}}, "fold.target_cycles: Input should be a valid integer"),
    ({"fold": {"target_cycles": -1}},
     "fold.target_cycles: Input should be greater than or equal to 1"),
    ({"fold": {"target_cycles": 8, "layers": [{"pe": 1, "simd": 1}]}},
     "fold needs exactly one of fold.target_cycles, fold.layers or fold.fit"),
])
def test_bad_config_keys_are_named(
    flow_config: list[FlowConfig], tmp_path: Path, sections: dict[str, Any], hint: str
) -> None:
    res = _invoke("flow", str(_config(tmp_path, **sections)))
    assert res.exit_code == 2 and not flow_config
    assert hint in " ".join(res.output.split())


def test_frames_and_target_reach_results_and_folding(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The whole command on the shipped example, stopped after the rtl step (which writes
    the vectors the sim step streams): the folding solved for the target, two frames."""
    real = runner.run_flow

    def until_rtl(cfg: FlowConfig, out: Path, **kwargs: Any) -> Any:
        return real(cfg, out, **{**kwargs, "until": "rtl"})

    monkeypatch.setattr(runner, "run_flow", until_rtl)
    out = tmp_path / "build"
    res = _invoke(*MODEL, "--frames", "2", "--target-cycles", "32", "-o", str(out))
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    assert r["steps_run"] == ["import", "lower", "fifos", "rtl"]
    assert r["config"]["sim"]["frames"] == 2 and r["config"]["fold"]["target_cycles"] == 32
    folding = r["folding"]
    assert folding["target_cycles"] == 32 and folding["target_met"]
    assert max(row["cycles"] for row in r["layers"]) == folding["achieved_ii"] <= 32
    assert json.loads((out / "vectors" / "meta.json").read_text())["frames"] == 2
