"""Model zoo, looked up by ``model.kind``; an unknown kind lists the known ones."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from codesign.config import AnyModelConfig, CNNConfig, ModelConfig, QuantConfig
from codesign.errors import ConfigError
from codesign.frontend.models.cnn import CNN
from codesign.frontend.models.mlp import MLP

ModelBuilder = Callable[[AnyModelConfig, QuantConfig, int, int], nn.Module]


def _build_mlp(
    model_cfg: AnyModelConfig, quant_cfg: QuantConfig, in_features: int, n_classes: int
) -> nn.Module:
    assert isinstance(model_cfg, ModelConfig)
    return MLP(in_features, list(model_cfg.hidden), n_classes, quant_cfg)


def _build_cnn(
    model_cfg: AnyModelConfig, quant_cfg: QuantConfig, in_features: int, n_classes: int
) -> nn.Module:
    assert isinstance(model_cfg, CNNConfig)
    return CNN(model_cfg, n_classes, quant_cfg)  # the image shape comes from the config


MODELS: dict[str, ModelBuilder] = {"mlp": _build_mlp, "cnn": _build_cnn}


def build_model(
    model_cfg: AnyModelConfig,
    quant_cfg: QuantConfig,
    in_features: int = 64,
    n_classes: int = 10,
    *,
    seed: int = 0,
) -> nn.Module:
    """Build ``model_cfg.kind`` with the ``quant_cfg.method`` preset.

    Parameters are initialised from ``seed`` without touching the global torch RNG, so the
    same configs and seed give the same initial model.
    """
    builder = MODELS.get(model_cfg.kind)
    if builder is None:
        raise ConfigError(
            f"unknown model.kind {model_cfg.kind!r}; known: {', '.join(sorted(MODELS))}"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return builder(model_cfg, quant_cfg, in_features, n_classes)


__all__ = ["CNN", "MLP", "MODELS", "build_model"]
