"""The ``ode`` model family: its config keys and their errors, the shared block traced T
times, the parameter counts of the three variants."""

from __future__ import annotations

import pytest
import torch

from codesign.config import QuantConfig, load_config, parse_config
from codesign.errors import ConfigError
from codesign.frontend.models import build_model
from codesign.frontend.models.ode.net import parameter_counts
from codesign.paths import data_dir


@pytest.mark.parametrize(
    ("model", "hint"),
    [
        ({"steps": 0}, "model.steps (T) must be >= 1, got 0"),
        ({"dt": 0.3}, "model.dt=0.3 is not 2^-k"),
        ({"dt": 0.25, "dt_shift": 1}, "model.dt=0.25 and model.dt_shift=1 disagree"),
        ({"variant": "lstm"}, "model.variant"),
        ({"channels": 0}, "model.channels"),
        ({"kernel": 2}, "model.kernel=2 is even"),
    ],
)
def test_bad_ode_keys_are_named(model: dict, hint: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config({"model": {"kind": "ode", **model}})
    assert hint in str(info.value)


def test_shipped_config_and_dt_as_a_number() -> None:
    cfg = load_config(data_dir("configs") / "dsodenet.yaml")
    assert (cfg.model.kind, cfg.model.variant, cfg.model.steps) == ("ode", "dsodenet", 2)
    m = parse_config({"model": {"kind": "ode", "dt": 0.125}}).model
    assert m.shift == 3  # type: ignore[attr-defined]


@pytest.mark.parametrize("variant", ["resnet", "node", "dsodenet"])
def test_variants_share_or_own_their_blocks(variant: str) -> None:
    cfg = parse_config({"model": {"kind": "ode", "variant": variant, "steps": 3,
                                  "channels": 4}})
    net = build_model(cfg.model, QuantConfig(method="a2q", acc_bits=16), seed=0)
    assert len(net.blocks) == (3 if variant == "resnet" else 1)  # type: ignore[arg-type]
    out = net(torch.randint(0, 256, (2, 1, 8, 8)).float())
    assert out.shape == (2, 10)


def test_parameter_counts_beside_the_paper() -> None:
    """dsODENet's block holds 54.2-79.8 % fewer weights than the Neural ODE's in the
    paper; here (two 3x3 convs vs two depthwise-separable ones, 8 channels) 76 %."""
    cfg = parse_config({"model": {"kind": "ode", "steps": 4, "channels": 8}}).model
    counts = parameter_counts(cfg)  # type: ignore[arg-type]
    assert counts["resnet"]["blocks"] == 4 * counts["node"]["blocks"] == 4 * 2 * 8 * 8 * 9
    assert counts["dsodenet"]["blocks"] == 2 * (8 * 9 + 8 * 8)
    saving = 1 - counts["dsodenet"]["blocks"] / counts["node"]["blocks"]
    assert 0.542 <= saving <= 0.798
    stem_head = counts["node"]["total"] - counts["node"]["blocks"]
    assert counts["dsodenet"]["total"] - counts["dsodenet"]["blocks"] == stem_head


def test_sweep_spec_covers_variants_and_steps() -> None:
    from codesign.dse.points import expand_points
    from codesign.dse.spec import load_sweep_spec

    points = expand_points(load_sweep_spec(data_dir("configs") / "sweep_ode.yaml"))
    models = [parse_config(p.config).model for p in points]
    assert sorted((m.variant, m.steps) for m in models) == sorted(  # type: ignore[attr-defined]
        (v, t) for v in ("dsodenet", "node", "resnet") for t in (2, 4, 8))


def test_report_section_lists_ode_runs_only() -> None:
    from codesign.report.data import Run
    from codesign.report.ode import COLUMNS, ode_table

    def run(variant: str, steps: int) -> Run:
        return Run(source=f"{variant}{steps}", results={
            "name": f"{variant}_t{steps}",
            "config": {"model": {"kind": "ode", "variant": variant, "steps": steps,
                                 "dt_shift": 1, "channels": 8}, "board": "zcu104"},
            "parameters": {variant: {"blocks": 272, "total": 1634}},
            "adaptation": {"quant": {"source_before": 0.96, "target_before": 0.12,
                                     "target_after": 0.8, "source_after": 0.4}},
            "accuracy": {"accelerator": 0.8},
            "resources": {"accelerator": {"total": {"LUT": 8268, "FF": 4858}}},
            "cycles": {"ii_measured": 2048.0, "latency_measured": 3422},
        })

    assert ode_table([Run(source="mlp", results={"config": {"model": {"kind": "mlp"}}})]) is None
    table = ode_table([run("node", 4), run("dsodenet", 2)])
    assert table is not None and [r[1] for r in table.rows] == ["dsodenet", "node"]
    row = dict(zip(COLUMNS, table.rows[0], strict=True))
    assert (row["T"], row["dt"], row["block weights"], row["target after"],
            row["II (cycles)"]) == ("2", "0.5", "272", "80.00 %", "2048")
    assert float(row["latency (us)"]) == pytest.approx(3422 / 200, abs=0.01)  # 200 MHz
