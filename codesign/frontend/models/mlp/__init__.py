"""The ``mlp`` family: a TFC-like MLP on the flat digits pixels (the default model)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from codesign.frontend.models.registry import IMAGE_SIZE, N_CLASSES, Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import QuantConfig


class MLPConfig(BuiltinModelSection):
    """``model.kind: mlp`` (the default): a TFC-like MLP on the flat 64 pixels."""

    kind: Literal["mlp"] = "mlp"
    hidden: list[int] = Field(default=[64, 64], min_length=1)
    """Widths of the hidden QuantLinear + BatchNorm + QuantReLU stacks."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: the flat pixels."""
        return (IMAGE_SIZE * IMAGE_SIZE,)

    @model_validator(mode="after")
    def _positive_widths(self) -> MLPConfig:
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"model.hidden widths must be >= 1, got {self.hidden}")
        return self


def _build(section: MLPConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.mlp.net import MLP

    return MLP(IMAGE_SIZE * IMAGE_SIZE, list(section.hidden), N_CLASSES, quant)


def _weighted_layers(section: MLPConfig) -> list[str]:
    return [f"blocks.{i}.0" for i in range(len(section.hidden))] + ["classifier"]


FAMILY = register(Family("mlp", MLPConfig, streamline="mlp", build=_build,
                         weighted_layers=_weighted_layers))
