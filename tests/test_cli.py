"""What a user reads: listings with every name whole at 80 columns and in a pipe, --json
for scripts, plain progress lines in a log, help texts, early errors and the warning for
a missed folding target."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from codesign.cli import app
from codesign.cli.output import _LineProgress, aligned, detail, start_command
from codesign.cli.summary import print_summary

NARROW = {"COLUMNS": "80"}


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), env=NARROW)
    assert result.exit_code == 0, result.output
    return result.output


def test_boards_listing_keeps_every_name_whole_at_80_columns() -> None:
    from codesign.board.registry import get_board, list_boards

    lines = _invoke("boards").splitlines()
    words = {w.strip(",") for line in lines for w in line.split()}
    for name in list_boards():
        board = get_board(name)
        assert {board.name, board.part, board.family} <= words
    assert not any("…" in line for line in lines)


def test_kernels_listing_keeps_every_name_whole_and_greps() -> None:
    from codesign.backends.rtl import module_parameters
    from codesign.dataflow.kernels import kernels

    out = _invoke("kernels")
    words = {w.strip(",") for w in out.split()}
    for k in kernels():
        assert {k.name, k.rtl_module, *k.op_types, *module_parameters(k.rtl_module)} <= words
    # one line names the kernel, so grep finds it
    assert any(line.split()[:2] == ["thresholding", "Thresholding"] for line in out.splitlines())
    assert "…" not in out


def test_doctor_prints_tool_paths_whole() -> None:
    from codesign.doctor import diagnose

    result = CliRunner().invoke(app, ["doctor"], env=NARROW)
    for tool in diagnose().tools:
        if tool.path:
            assert tool.path in result.output


@pytest.mark.parametrize("command", ["kernels", "boards", "doctor"])
def test_json_listings_parse(command: str) -> None:
    result = CliRunner().invoke(app, [command, "--json"], env=NARROW)
    data = json.loads(result.output)
    if command == "kernels":
        mvau = next(k for k in data if k["kernel"] == "mvau")
        assert "MVAU" in mvau["op_types"] and mvau["rtl_module"] == "cs_mvau"
        assert {"PE", "SIMD"} <= {f["attribute"] for f in mvau["folding"]}
        assert any(op["op_type"] == "MatMul" for op in mvau["lowers"])
    elif command == "boards":
        zcu = next(b for b in data if b["board"] == "zcu104")
        assert zcu["family"] == "xcup" and zcu["resources"]["DSP"] == 1728
    else:
        assert "verilator" in data["tools"] and "torch" in data["packages"]


def test_aligned_columns_and_details_never_split_an_item() -> None:
    lines = aligned(("a", "bb"), [("ConvolutionInputGenerator_0", "1")])
    assert lines[2].startswith("ConvolutionInputGenerator_0  1")
    items = [f"PARAMETER_{i}" for i in range(12)]
    wrapped = detail("parameters", items, width=40)
    assert len(wrapped) > 1 and all(len(line) <= 40 for line in wrapped)
    assert {w.strip(",") for line in wrapped for w in line.split()} >= set(items)


def test_help_texts() -> None:
    top = _invoke("--help")
    commands = top[top.index("Commands:"):].splitlines()[1:]
    assert commands and not any(line.rstrip().endswith("...") for line in commands)
    for command in ("flow", "sim", "report", "boards"):
        text = _invoke(command, "--help")
        assert "<bool>" not in text
    assert "report folder" in _invoke("report", "--help")


def test_flow_without_arguments_says_what_to_give() -> None:
    result = CliRunner().invoke(app, ["flow"], env=NARROW)
    assert result.exit_code == 2
    assert "give a flow config" in result.output and "--model NET.onnx" in result.output


def test_unknown_board_fails_at_once_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("board: nonexistent\n")
    t0 = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "codesign", "flow", str(config), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, check=False, env={**os.environ, **NARROW},
    )
    assert time.monotonic() - t0 < 5.0
    assert proc.returncode == 2 and "board: unknown board 'nonexistent'" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_plain_progress_lines_off_a_terminal() -> None:
    buf = io.StringIO()
    progress = _LineProgress(Console(file=buf, width=80))
    progress.step("synth", "start")
    progress.step("synth", "done", 36.0)
    progress.step("train", "cached")
    for epoch in range(1, 21):
        progress.epoch("quant", epoch, 20, 0.5)
    lines = buf.getvalue().splitlines()
    assert lines[:3] == ["synth: started", "synth: done in 36.0 s", "train: reused"]
    assert lines[-1] == "train quant: epoch 20/20, loss 0.500" and len(lines) == 3 + 10


def test_summary_warns_on_a_missed_target_and_keeps_layer_names(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    start_command()
    layer = {"name": "ConvolutionInputGenerator_0", "cycles": 334, "pe": 1, "simd": 1}
    print_summary({
        "name": "cnn", "accuracy": {}, "layers": [layer],
        "folding": {"target_cycles": 256, "achieved_ii": 334, "target_met": False,
                    "slowest_node": "ConvolutionInputGenerator_0",
                    "reasons": ["MVAU_0: Width of weights per PE grew wider than max width"]},
    })
    out, err = capsys.readouterr()
    assert "ConvolutionInputGenerator_0" in out
    assert "fold.target_cycles 256 not met" in err and "ConvolutionInputGenerator_0" in err
    assert "grew wider than max width" in err


def test_missed_folding_target_is_recorded(small_mlp_build: Path) -> None:
    from codesign.board.registry import get_board
    from codesign.dataflow.lower import load_lowered
    from codesign.dataflow.lower.folding import fold_to_target, folding_outcome

    child = load_lowered(small_mlp_build / "lower" / "05_minimize_accumulator_width_dataflow.onnx")
    outcome = folding_outcome(fold_to_target(child, 3, get_board("zcu104").part))
    assert outcome is not None and outcome["target_met"] is False
    assert outcome["target_cycles"] == 3 and int(outcome["achieved_ii"]) > 3  # type: ignore[call-overload]
    assert str(outcome["slowest_node"]).startswith("MVAU_")  # the user's names, not FINN's copy
    assert any("wider than" in r for r in outcome["reasons"])  # type: ignore[attr-defined]
    results = json.loads((small_mlp_build / "results.json").read_text())
    assert results["folding"]["target_met"] is True and results["folding"]["target_cycles"] == 16


def test_failed_run_removes_the_folder_it_made(tmp_path: Path) -> None:
    import numpy as np

    from codesign.config import parse_config
    from codesign.errors import CodesignError
    from codesign.flow.runner import run_flow

    (tmp_path / "net.onnx").write_text("not a model")
    np.savez(tmp_path / "test.npz", x=np.zeros((2, 64), dtype=np.uint8))
    cfg = parse_config({"name": "net", "model": {"kind": "onnx", "path": "net.onnx"},
                        "data": {"kind": "npz", "path": "test.npz", "input_type": "UINT8"}},
                       base_dir=tmp_path)
    with pytest.raises(CodesignError, match="is not an ONNX model"):
        run_flow(cfg, tmp_path / "build")
    assert not (tmp_path / "build").exists()
    # a folder that was there before is kept, its manifest marked failed
    (tmp_path / "kept").mkdir()
    with pytest.raises(CodesignError):
        run_flow(cfg, tmp_path / "kept")
    manifest = json.loads((tmp_path / "kept" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["steps"]["import"]["status"] == "failed"
