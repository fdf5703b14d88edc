"""Config validation: unknown keys, bad values and unusable P are named errors."""

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
    ],
)
def test_bad_values_name_the_key(data: dict, key: str, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    assert key in str(info.value) and hint in str(info.value)


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
