import brevitas.nn as qnn
import pytest
import torch

from codesign.bounds import a2q_l1_limit, a2q_plus_l1_limit
from codesign.config import QuantConfig, TrainConfig
from codesign.errors import ConfigError
from codesign.frontend.data import load_digits_split
from codesign.frontend.models import build_model
from codesign.frontend.models.mlp import MLPConfig as ModelConfig
from codesign.frontend.quant.presets import PRESETS, collect_quant_weights, get_preset
from codesign.frontend.quant.train import train_model

METHODS = ["float", "baseline", "a2q", "a2q_plus"]


@pytest.mark.parametrize("method", METHODS)
def test_build_every_preset(method: str) -> None:
    model = build_model(ModelConfig(hidden=[16, 8]), QuantConfig(method=method))
    x = torch.randint(0, 256, (4, 64)).float()
    model.train()
    assert model(x).shape == (4, 10)
    n_quant = sum(isinstance(m, qnn.QuantLinear) for m in model.modules())
    assert n_quant == (0 if method == "float" else 3)


def test_build_is_seeded() -> None:
    cfgs = (ModelConfig(hidden=[8]), QuantConfig(method="a2q"))
    a, b = build_model(*cfgs, seed=1), build_model(*cfgs, seed=1)
    c = build_model(*cfgs, seed=2)
    assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert not torch.equal(a.state_dict()["classifier.weight"], c.state_dict()["classifier.weight"])


def test_unknown_model_kind_lists_known_kinds() -> None:
    bad = ModelConfig.model_construct(kind="transformer", hidden=[8])
    with pytest.raises(ConfigError, match=r"'transformer'.*known: cnn, mlp"):
        build_model(bad, QuantConfig())
    with pytest.raises(ConfigError, match="known: a2q, a2q_plus, baseline, float"):
        get_preset("ternary")
    assert set(PRESETS) == set(METHODS)


@pytest.mark.parametrize("method", ["a2q", "a2q_plus"])
def test_a2q_integer_weights_respect_the_l1_bound(method: str) -> None:
    # distinct input and activation widths, so a wrong per-layer input width would show
    quant = QuantConfig(method=method, weight_bits=8, act_bits=4, input_bits=6, acc_bits=14)
    model = build_model(ModelConfig(hidden=[32, 16]), quant)
    split = load_digits_split(quant.input_bits)
    train_model(model, split, TrainConfig(epochs=2, lr=0.05))
    layers = collect_quant_weights(model, torch.tensor(split.x_test[:8]))
    assert [lw.input_bits for lw in layers] == [6, 4, 4]
    for lw in layers:
        assert not lw.input_signed and lw.acc_bits == 14 and lw.weight_bits == 8
        l1 = abs(lw.int_weight).sum(axis=1)
        if method == "a2q":
            limit = a2q_l1_limit(14, lw.input_bits, input_signed=False)
        else:
            limit = a2q_plus_l1_limit(14, lw.input_bits)
        assert l1.max() <= limit, (lw.name, l1.max(), limit)
        assert l1.max() > 0
        assert (abs(lw.int_weight) <= 127).all()
