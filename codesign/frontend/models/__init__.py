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

    from codesign.config import QuantConfig
    from codesign.schema import ModelSection


def _load_all() -> None:
    for mod in pkgutil.iter_modules(__path__):
        if mod.name != "registry":
            importlib.import_module(f"{__name__}.{mod.name}")


_load_all()


def build_model(model_cfg: ModelSection, quant_cfg: QuantConfig, *, seed: int = 0) -> nn.Module:
    """Build ``model_cfg.kind``'s network with the ``quant_cfg.method`` preset.

    Parameters are initialised from ``seed`` without touching the global torch RNG, so the
    same configs and seed give the same initial model.
    """
    import torch

    builders = {f.kind: f.build for f in families() if f.build is not None}
    build = builders.get(model_cfg.kind)
    if build is None:
        raise ConfigError(
            f"unknown model.kind {model_cfg.kind!r}; known: {', '.join(sorted(builders))}"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build(model_cfg, quant_cfg, seed)


__all__ = ["Family", "build_model", "families", "family", "kinds"]
