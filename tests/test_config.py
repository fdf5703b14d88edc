"""Config validation: unknown keys, bad values and unusable P are named errors."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from codesign.config import FlowConfig, load_config, parse_config
from codesign.errors import ConfigError
from codesign.paths import data_dir


def test_shipped_config_loads() -> None:
    cfg = load_config(data_dir("configs") / "mlp_a2q.yaml")
    assert cfg.quant.method == "a2q" and cfg.quant.acc_bits == 16


def test_yaml_round_trip(tmp_path: Path) -> None:
    cfg = parse_config({"model": {"hidden": [32]}, "fold": {"layers": [{"pe": 2, "simd": 4}]}})
    path = tmp_path / "c.yaml"
    path.write_text(cfg.to_yaml())
    again = load_config(path)
    assert again == cfg and again.digest() == cfg.digest()


def test_digest_depends_on_seed() -> None:
    assert parse_config({"train": {"seed": 1}}).digest() != FlowConfig().digest()


@pytest.mark.parametrize(
    ("data", "key", "hint"),
    [
        ({"quant": {"bitz": 4}}, "quant.bitz", "unknown key"),
        ({"quant": {"method": "int8"}}, "quant.method", "'a2q'"),
        ({"quant": {"weight_bits": 1}}, "quant.weight_bits", "greater than or equal to 2"),
        ({"model": {"hidden": [64, 0]}}, "model", "must be >= 1"),
        ({"fold": {}}, "fold", "exactly one of"),
        ({"quant": {"method": "a2q", "acc_bits": None}}, "quant", "required"),
        ({"board": "nonexistent"}, "board", "unknown board 'nonexistent'; known boards: "),
    ],
)
def test_bad_values_name_the_key(data: dict, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert key in str(info.value) and hint in str(info.value)
    # our validators' words, not pydantic's framing
    assert "Value error" not in str(info.value) and "(top level)" not in str(info.value)


@pytest.mark.parametrize(("method", "smallest"), [("a2q", 10), ("a2q_plus", 9)])
def test_p_too_small_reports_smallest_usable_p(method: str, smallest: int) -> None:
    with pytest.raises(ConfigError, match=f"smallest usable P is {smallest}"):
        parse_config({"quant": {"method": method, "acc_bits": smallest - 1}})
    parse_config({"quant": {"method": method, "acc_bits": smallest}})


def test_bad_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("quant:\n  method: [a2q\nfold: {}\n", r"line 3, column 5: expected ',' or '\]'"),
        ("quant: !!python/object/apply:os.system ['true']\n",
         r"line 1, column 8: tag '!!python/object/apply:os.system' is not allowed"),
        ("quant: 1\n  acc_bits: 2\n", "line 2, column 11: mapping values are not allowed"),
    ],
)
def test_malformed_yaml_is_a_one_line_config_error(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=rf"^config {path} is not valid YAML: {problem}") as info:
        load_config(path)
    assert "\n" not in str(info.value)
    # the CLI prints that line alone (wide terminal: rich wraps at its width), no traceback
    proc = subprocess.run(
        [sys.executable, "-c", "from codesign.cli import app; app()", "train", str(path),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, check=False, env={**os.environ, "COLUMNS": "500"},
    )
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"error: {info.value}\n"
    assert not (tmp_path / "out").exists()


def test_malformed_sweep_spec_and_base_config(tmp_path: Path) -> None:
    from codesign.dse.spec import load_sweep_spec

    spec = tmp_path / "spec.yaml"
    spec.write_text("grid: {quant.acc_bits: [12, 16]\n")
    with pytest.raises(ConfigError, match=rf"^sweep spec {spec} is not valid YAML: line 2"):
        load_sweep_spec(spec)
    (tmp_path / "base.yaml").write_text("quant: !!python/name:os.system\n")
    spec.write_text("base_config: base.yaml\ngrid: {quant.acc_bits: [12, 16]}\n")
    with pytest.raises(ConfigError, match=r"^base config .*base\.yaml is not valid YAML: line 1, "
                       r"column 8: tag '!!python/name:os.system' is not allowed"):
        load_sweep_spec(spec)


def test_model_families_register_section_builder_and_recipe() -> None:
    """Each family registers in one place; config parsing dispatches on the registry, and
    an unknown kind lists the known ones."""
    from codesign.dataflow.lower.steps import STREAMLINERS
    from codesign.frontend.models import families, family

    assert {f.kind for f in families()} == {
        "mlp", "cnn", "mobilenet", "ode", "vit", "sr", "unet", "onnx", "brevitas"}
    assert all(f.streamline in STREAMLINERS for f in families())
    assert {f.kind for f in families() if f.build is not None} == {
        "mlp", "cnn", "mobilenet", "ode", "vit", "sr", "unet"}
    assert {f.kind: f.source for f in families()}["onnx"] == "file"
    assert type(parse_config({"model": {"kind": "cnn"}}).model) is family("cnn").section
    with pytest.raises(ConfigError, match=r"unknown model.kind 'rnn'; known: brevitas, cnn, "
                       r"mlp, mobilenet, ode, onnx, sr, unet, vit"):
        family("rnn")
    with pytest.raises(ConfigError, match=r"model.kind: unknown model kind; known: brevitas"):
        parse_config({"model": {"kind": "rnn"}})
