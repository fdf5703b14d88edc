"""Model families, one subpackage (or module) each, registered by ``model.kind`` (see
:mod:`codesign.frontend.models.registry`); every family in this folder is loaded here, so
that a new family is its own module and nothing else.

Importing this package imports no torch: a family's network is imported when it is built.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from codesign.errors import ConfigError
from codesign.frontend.models.registry import Family, families, family, kinds

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import LayerQuant, QuantConfig
    from codesign.schema import ModelSection


def _load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "registry":
            importlib.import_module(f"{__name__}.{mod.name}")


_load_all()


def build_model(model_cfg: ModelSection, quant_cfg: QuantConfig, *, seed: int = 0) -> nn.Module:
    """Build ``model_cfg.kind``'s network with the ``quant_cfg.method`` preset, each
    weighted layer quantized as ``quant_cfg.layer_plan`` gives it (layer policy, per-layer
    P).

    Parameters are initialised from ``seed`` without touching the global torch RNG, so the
    same configs and seed give the same initial model.
    """
    fam = next((f for f in families() if f.kind == model_cfg.kind and f.build), None)
    if fam is None or fam.weighted_layers is None:
        known = sorted(f.kind for f in families() if f.build is not None)
        raise ConfigError(f"unknown model.kind {model_cfg.kind!r}; known: {', '.join(known)}")
    names = fam.weighted_layers(model_cfg)
    try:
        plan = quant_cfg.layer_plan(names)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    model, built = _build(fam, model_cfg, quant_cfg, seed, plan)
    if built == names:
        return model
    if sorted(built) != sorted(names):
        raise RuntimeError(
            f"model.kind {model_cfg.kind} builds the weighted layers {built}, but its family "
            f"lists {names}"
        )
    # the plan follows the call order; this family builds its layers in another order
    # (a UNet's decoder runs bottom-up): build again, each layer taking its own entry
    by_name = dict(zip(names, plan, strict=True))
    in_build_order = tuple(by_name[n] for n in built)
    if in_build_order == plan:
        return model
    return _build(fam, model_cfg, quant_cfg, seed, in_build_order)[0]


def _build(fam: Family, model_cfg: ModelSection, quant_cfg: QuantConfig, seed: int,
           plan: tuple[LayerQuant, ...]) -> tuple[nn.Module, list[str]]:
    """The model built with ``plan`` handed out in build order, and the names of its
    weighted layers in that order."""
    import torch

    from codesign.frontend.quant.presets import layer_plan

    assert fam.build is not None
    with torch.random.fork_rng(devices=[]), layer_plan(plan) as cursor:
        torch.manual_seed(seed)
        model = fam.build(model_cfg, quant_cfg, seed)
    names = {m: n for n, m in model.named_modules()}
    if len(cursor.made) != len(plan) or any(m not in names for m in cursor.made):
        raise RuntimeError(
            f"model.kind {model_cfg.kind} builds {len(cursor.made)} weighted layers, its "
            f"family lists {len(plan)}"
        )
    return model, [names[m] for m in cursor.made]


__all__ = ["Family", "build_model", "families", "family", "kinds"]
