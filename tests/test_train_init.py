"""train.init float: the quantized model starts from its trained float twin (weights
copied, fitted to each layer's P, activations calibrated) and is fine-tuned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from codesign.config import QuantConfig, TrainConfig, parse_config
from codesign.errors import ConfigError
from codesign.flow.runner import run_flow
from codesign.flow.steps.train import float_twin
from codesign.frontend.data import load_digits_split
from codesign.frontend.models import build_model
from codesign.frontend.models.mlp import MLPConfig
from codesign.frontend.quant.init import fit_to_acc_limit, init_from_float
from codesign.frontend.quant.presets import collect_quant_weights
from codesign.frontend.quant.train import evaluate, train_model
from codesign.frontend.quant.train_cache import training_key

MODEL = MLPConfig(hidden=[32, 16])


@pytest.fixture(scope="module")
def trained_float() -> tuple[torch.nn.Module, Any]:
    split = load_digits_split(8)
    model = build_model(MODEL, QuantConfig(method="float"))
    train_model(model, split, TrainConfig(epochs=4))
    return model, split


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("method", ["a2q", "a2q_plus"])
def test_init_copies_the_float_weights(trained_float: Any, method: str) -> None:
    float_model, split = trained_float
    quant = QuantConfig(method=method, acc_bits=16, layer_policy="papers")
    model = build_model(MODEL, quant, seed=7)  # another seed: nothing left of its own init
    init_from_float(model, float_model.state_dict(), split.x_train)
    fs, qs = float_model.state_dict(), model.state_dict()
    # the unconstrained first and last layers and every BatchNorm hold the twin's values
    for key in ("blocks.0.0.weight", "classifier.weight", "classifier.bias",
                "blocks.0.1.running_mean", "blocks.1.1.running_var", "blocks.1.1.weight"):
        assert torch.equal(qs[key], fs[key]), key
    # the constrained hidden layer's weights, as quantized, are the twin's fitted to P
    layers = collect_quant_weights(model, torch.tensor(split.x_test[:8]))
    hidden = next(q for q in layers if q.name == "blocks.1.0")
    assert hidden.acc_bits == 16
    assert _correlation(hidden.value, fs["blocks.1.0.weight"].numpy()) > 0.9
    # it starts near the float model, before any fine-tuning
    float_acc = evaluate(float_model, split.x_test, split.y_test)
    assert evaluate(model, split.x_test, split.y_test) > float_acc - 0.1


def test_fit_sets_the_quantizer_to_the_weights_it_reports(trained_float: Any) -> None:
    """At a P far below what the float weights need, the fitted weights keep the L1 limit
    and the quantizer computes exactly the weights whose error the fit reports."""
    float_model, split = trained_float
    model = build_model(MODEL, QuantConfig(method="a2q", acc_bits=13), seed=1)
    model.load_state_dict(float_model.state_dict(), strict=False)
    x = torch.tensor(split.x_train[:16])
    error = fit_to_acc_limit(model, x)
    assert set(error) == {"blocks.0.0", "blocks.1.0", "classifier"}
    fs = float_model.state_dict()
    for q in collect_quant_weights(model, x):
        w = fs[f"{q.name}.weight"].numpy()
        assert np.linalg.norm(w - q.value) / np.linalg.norm(w) == pytest.approx(
            error[q.name], rel=1e-4)
        limit = (2 ** (13 - 1) - 1) * 2.0 ** -q.input_bits
        assert np.abs(q.int_weight).sum(axis=1).max() <= limit
        assert 0 < error[q.name] < 1


def test_a_twin_of_another_network_is_refused(trained_float: Any) -> None:
    float_model, split = trained_float
    state = {**float_model.state_dict(), "extra.weight": torch.zeros(1)}
    with pytest.raises(ValueError, match=r"1 values without a place \(extra.weight\)"):
        init_from_float(build_model(MODEL, QuantConfig()), state, split.x_train)


def test_init_settings_are_checked_and_keyed() -> None:
    for data, hint in (
        ({"train": {"init": "pretrained"}}, "train.init"),
        ({"quant": {"method": "float"}, "train": {"init": "float"}}, "quant.method float"),
    ):
        with pytest.raises(ConfigError, match=hint):
            parse_config(data)
    scratch = parse_config({"quant": {"acc_bits": 14}})
    tuned = parse_config({"quant": {"acc_bits": 14}, "train": {"init": "float"}})
    assert tuned.design_digest() != scratch.design_digest()

    def key(cfg: Any, quant: QuantConfig) -> str:
        return training_key(cfg.model, quant, cfg.train)

    # the float twin trains the same either way; the quantized model does not
    assert key(tuned, float_twin(tuned.quant)) == key(scratch, float_twin(scratch.quant))
    assert key(tuned, tuned.quant) != key(scratch, scratch.quant)


def test_flow_fine_tunes_from_the_float_twin(tmp_path: Path) -> None:
    data = {"model": {"hidden": [16]}, "quant": {"method": "a2q", "acc_bits": 14},
            "train": {"epochs": 2, "init": "float", "cache": False}}
    r = run_flow(parse_config(data), tmp_path, until="train").results
    scores = r["accuracy"]
    assert 0 < scores["quantized_at_init"] <= 1 and 0 < scores["quantized"] <= 1
    assert r["config"]["train"]["init"] == "float"
    scratch = {**data, "train": {"epochs": 2, "cache": False}}
    r0 = run_flow(parse_config(scratch), tmp_path / "scratch", until="train").results
    assert "quantized_at_init" not in r0["accuracy"]
    assert r0["accuracy"]["float"] == scores["float"]  # one float twin for both recipes
