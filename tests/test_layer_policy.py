"""The papers' layer policy and a P per weighted layer: config checks, the quantizers each
layer gets, and each layer's own P in results.json and the overflow proof."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import brevitas.nn as qnn
import pytest
import torch
from brevitas.quant.scaled_int import Int8WeightPerChannelFloat

from codesign.config import FlowConfig, parse_config
from codesign.errors import ConfigError, VerificationError
from codesign.flow.runner import run_flow
from codesign.frontend.models import build_model, family
from codesign.frontend.quant.presets import collect_quant_weights


def _bad(data: dict[str, Any], *parts: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    for part in parts:
        assert part in str(info.value), str(info.value)


def test_per_layer_acc_bits_and_policy_are_checked_before_training() -> None:
    # the default MLP has 3 weighted layers: the list must name each, in order
    _bad({"quant": {"acc_bits": [16, 14]}}, "quant.acc_bits has 2 entries",
         "the model has 3 weighted layers (blocks.0.0, blocks.1.0, classifier)")
    _bad({"model": {"kind": "cnn", "hidden": [8]}, "quant": {"acc_bits": [16] * 3}},
         "3 entries", "4 weighted layers (stages.0.body.0, stages.1.body.0, fc.0.0, classifier)")
    # a layer's P below what any nonzero weight needs: the layer and the smallest P named
    _bad({"quant": {"acc_bits": [16, 9, 16]}}, "quant.acc_bits[1]=9 (weighted layer 1)",
         "smallest usable P is 10")
    _bad({"quant": {"act_bits": 4, "input_bits": 8, "acc_bits": [9, 8, 8]}},
         "quant.acc_bits[0]=9 (weighted layer 0)", "8-bit unsigned inputs", "usable P is 10")
    _bad({"quant": {"layer_policy": "paper"}}, "quant.layer_policy", "'uniform' or 'papers'")
    _bad({"quant": {"layer_policy": "papers", "acc_bits": [16, 14, None]}},
         "quant.acc_bits[0]=16", "first and last weighted layers unconstrained")
    _bad({"model": {"hidden": [8]}, "quant": {"layer_policy": "papers"}},
         "constrains none of the model's 2 weighted layers")
    _bad({"quant": {"acc_bits": []}}, "quant.acc_bits")
    # the papers' classifier reads 8-bit inputs: the ODE state every layer shares cannot
    _bad({"model": {"kind": "ode"}, "quant": {"layer_policy": "papers", "act_bits": 4}},
         "reads the state h", "quant.act_bits: 8")
    # the papers' policy leaves the first layer unconstrained: only act_bits bounds P
    parse_config({"quant": {"layer_policy": "papers", "act_bits": 4, "acc_bits": 9}})
    _bad({"quant": {"act_bits": 4, "acc_bits": 9}}, "smallest usable P is 10")
    ok = parse_config({"quant": {"acc_bits": [16, None, 12], "method": "baseline"}})
    assert [q.acc_bits for q in ok.layer_plan() or ()] == [16, None, 12]
    # a baseline is constrained nowhere: under the papers' policy its P (the 32-bit
    # reference's, a squeezed one's) is every layer's width; only the edges' bits change
    ref = parse_config({"quant": {"method": "baseline", "acc_bits": 32, "weight_bits": 4,
                                  "layer_policy": "papers"}})
    assert [(q.weight_bits, q.acc_bits) for q in ref.layer_plan() or ()] == [
        (8, 32), (4, 32), (8, 32)]


def test_defaults_dump_and_digest_as_before_the_settings() -> None:
    cfg = FlowConfig()
    dumped = cfg.model_dump(mode="json")
    assert "layer_policy" not in dumped["quant"] and "init" not in dumped["train"]
    papers = parse_config({"quant": {"layer_policy": "papers"}})
    assert papers.model_dump(mode="json")["quant"]["layer_policy"] == "papers"
    assert papers.design_digest() != cfg.design_digest()
    assert parse_config(dumped).digest() == cfg.digest()


SECTIONS: list[dict[str, Any]] = [
    {"kind": "mlp", "hidden": [16, 8]},
    {"kind": "cnn", "conv": [4, 8], "depthwise_separable": [False, True], "hidden": [8]},
    {"kind": "cnn", "conv": [4, 4, 4], "residual": True, "pool": [True, False, False]},
    {"kind": "mobilenet", "stem": 4, "blocks": [8], "pool": False},
    {"kind": "ode", "channels": 4},
    {"kind": "ode", "variant": "resnet", "steps": 2, "channels": 4},
    {"kind": "sr", "channels": [4, 4], "train_patches": 16, "test_patches": 4},
    {"kind": "unet", "channels": [4, 8, 8]},
    {"kind": "vit", "depth": 2, "dim": 8, "mlp": 8},
]


def _call_order(model: torch.nn.Module, x: torch.Tensor) -> list[str]:
    names = {m: n for n, m in model.named_modules()}
    order: list[str] = []
    hooks = [m.register_forward_hook(lambda mod, _a, _o: order.append(names[mod]))
             for m in model.modules() if isinstance(m, torch.nn.Linear | torch.nn.Conv2d)]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in hooks:
        h.remove()
    return list(dict.fromkeys(order))


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s["kind"])
def test_families_list_their_weighted_layers_in_call_order(section: dict[str, Any]) -> None:
    """What a per-layer setting indexes is the order the model runs its layers in, which
    is the dataflow graph's."""
    cfg = parse_config({"model": section, "quant": {"method": "float"}})
    names = family(cfg.model.kind).weighted_layers
    assert names is not None
    model = build_model(cfg.model, cfg.quant)
    x = torch.randint(0, 256, (2, *cfg.model.input_shape)).float()
    assert _call_order(model, x) == names(cfg.model)


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s["kind"])
def test_papers_policy_keeps_first_and_last_at_8_bits_unconstrained(
    section: dict[str, Any],
) -> None:
    """A2Q+ App. B.1: 8-bit weights and inputs, no accumulator constraint, at both ends;
    the hidden layers at the configured widths and P."""
    act = 8 if section["kind"] == "ode" else 4  # the ODE's classifier reads the shared state
    cfg = parse_config({"model": section, "quant": {
        "method": "a2q", "weight_bits": 4, "act_bits": act, "acc_bits": 14,
        "layer_policy": "papers"}})
    model = build_model(cfg.model, cfg.quant)
    x = torch.randint(0, 256, (2, *cfg.model.input_shape)).float()
    layers = collect_quant_weights(model, x)
    modules = dict(model.named_modules())
    first, *hidden, last = layers
    for edge in (first, last):
        assert (edge.weight_bits, edge.acc_bits) == (8, None), edge.name
        quantizer = modules[edge.name].weight_quant.quant_injector
        assert issubclass(quantizer, Int8WeightPerChannelFloat), edge.name
    assert first.input_bits == 8
    if section["kind"] != "vit":  # the ViT's classifier reads the tokens' sum (8 + log2 N)
        assert last.input_bits == 8
    assert hidden and all((h.weight_bits, h.acc_bits) == (4, 14) for h in hidden)
    assert {h.input_bits for h in hidden} == {act}
    # uniform: every layer constrained at the configured widths
    uniform = cfg.quant.model_copy(update={"layer_policy": "uniform"})
    flat = collect_quant_weights(build_model(cfg.model, uniform), x)
    assert all((q.weight_bits, q.acc_bits) == (4, 14) for q in flat)


def test_per_layer_p_follows_the_call_order() -> None:
    """A UNet builds its decoder top-down and runs it bottom-up: each layer still takes the
    list's entry of its place in the run (the graph's order)."""
    p = [16, 17, 18, 19, 20, 21]
    cfg = parse_config({"model": {"kind": "unet", "channels": [4, 8, 8]},
                        "quant": {"acc_bits": p}})
    model = build_model(cfg.model, cfg.quant, seed=3)
    x = torch.randint(0, 256, (2, *cfg.model.input_shape)).float()
    layers = collect_quant_weights(model, x)
    assert [q.name for q in layers][3:5] == ["up.1.0", "up.0.0"]
    assert [q.acc_bits for q in layers] == p
    # built twice to hand the plan out in build order: the same seeded weights
    uniform = build_model(cfg.model, cfg.quant.model_copy(update={"acc_bits": 16}), seed=3)
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(
        (m for m in model.modules() if isinstance(m, qnn.QuantConv2d)),
        (m for m in uniform.modules() if isinstance(m, qnn.QuantConv2d)), strict=True))


FLOW: dict[str, Any] = {
    "model": {"hidden": [16, 8]},
    "quant": {"method": "a2q", "weight_bits": 4, "act_bits": 4, "acc_bits": [16, 12, 14]},
    "train": {"epochs": 2, "seed": 0, "cache": False},
    "fold": {"target_cycles": 32},
    "sim": {"simulator": "icarus", "frames": 20},
}


class _Quiet:
    def step(self, name: str, status: str, seconds: float | None = None) -> None: ...

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None: ...


@pytest.mark.sim
def test_each_layer_is_lowered_and_proven_at_its_own_p(tmp_path: Path) -> None:
    from codesign.flow.build import BuildDir
    from codesign.flow.products import Products
    from codesign.flow.steps import StepRun
    from codesign.flow.steps.overflow import overflow

    cfg = parse_config({**FLOW, "name": "per_layer_p"})
    r = run_flow(cfg, tmp_path, until="overflow").results
    assert json.loads((tmp_path / "results.json").read_text())["layers"] == r["layers"]
    mvaus = [ly for ly in r["layers"] if "acc_bits_target" in ly]
    assert [ly["acc_bits_target"] for ly in mvaus] == [16, 12, 14]
    # A2Q kept every thresholded layer within its own P
    assert all(ly["acc_bits_finn"] <= ly["acc_bits_target"] for ly in mvaus[:2])
    proof = r["overflow"]["layers"]
    assert [(ly["acc_bits_target"], ly["fits_target"]) for ly in proof] == [
        (16, True), (12, True), (14, True)]
    assert r["overflow"]["total"] == 0
    # the same accelerator held to a P its hidden layer's sums exceed: the proof refuses,
    # naming the layer
    bits = max(abs(v) for v in proof[1]["extreme_sum_range"]).bit_length()
    tight = parse_config({**FLOW, "name": "per_layer_p",
                          "quant": {**FLOW["quant"], "acc_bits": [16, bits, 14]}})
    bd = BuildDir(tmp_path, cfg)
    as_built = Products(StepRun(bd, cfg, _Quiet())).get("as_built")
    with pytest.raises(VerificationError, match=rf"MVAU_1: its P is {bits} bits"):
        overflow(StepRun(bd, tight, _Quiet()), as_built=as_built)


def test_report_and_sweep_table_show_each_layers_p() -> None:
    from codesign.cli.app import _p_text
    from codesign.report.data import Run

    def run(quant: dict[str, Any], layers: list[dict[str, Any]] | None = None) -> Run:
        return Run("r.json", {"config": {"quant": quant}, "layers": layers or []})

    per_layer = run({"method": "baseline", "acc_bits": [16, None, 12]}, [
        {"name": f"MVAU_{i}", "acc_bits_finn": 20, "acc_bits_target": p}
        for i, p in enumerate([16, None, 12])])
    assert per_layer.acc_text == "per layer 16/-/12" and per_layer.target_acc_bits == 16
    # a squeezed baseline is built at each layer's own P, FINN's width where it has none
    assert per_layer.squeezed and per_layer.layer_acc_bits == [16, 20, 12]
    papers = run({"method": "a2q", "acc_bits": 14, "layer_policy": "papers"})
    assert papers.acc_text == "14 (papers)" and papers.series == "a2q (papers)"
    assert run({"method": "a2q", "acc_bits": 14}).acc_text == "14"
    assert _p_text({"config.quant.acc_bits": [16, None, 12]}) == "16/-/12"
    assert _p_text({"config.quant.acc_bits": 14, "config.quant.layer_policy": "papers"}) == (
        "14 (papers)")
