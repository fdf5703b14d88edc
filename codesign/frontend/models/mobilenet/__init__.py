"""The ``mobilenet`` family: a MobileNet-style net on the 1x8x8 digits: a stem conv,
depthwise-separable blocks, global average pooling and a linear classifier."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from codesign.frontend.models.registry import IMAGE_SIZE, N_CLASSES, Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import QuantConfig


class MobileNetConfig(BuiltinModelSection):
    """``model.kind: mobilenet``: a ``kernel`` x ``kernel`` stem conv (BatchNorm, ReLU,
    optionally a 2x2 max-pool), depthwise-separable blocks (depthwise ``kernel`` x
    ``kernel`` conv, BatchNorm, ReLU, pointwise 1x1 conv, BatchNorm, ReLU), a global
    average pool over the feature map, an activation quantizer and the classifier."""

    kind: Literal["mobilenet"]
    stem: int = Field(default=8, ge=1)
    """Output channels of the stem conv."""
    blocks: list[int] = Field(default=[16, 16], min_length=1)
    """Output channels of each depthwise-separable block's pointwise conv."""
    kernel: int = Field(default=3, ge=1, le=IMAGE_SIZE)
    """Kernel size of the stem and the depthwise convs (odd: "same" padding)."""
    pool: bool = True
    """2x2 max-pool after the stem (8x8 -> 4x4 feature maps in the blocks)."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: a 1-channel image (NCHW without the batch)."""
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    @model_validator(mode="after")
    def _consistent(self) -> MobileNetConfig:
        if any(c < 1 for c in self.blocks):
            raise ValueError(f"model.blocks channels must be >= 1, got {self.blocks}")
        if self.kernel % 2 == 0:
            raise ValueError(
                f"model.kernel={self.kernel} is even; an odd kernel (1, 3, 5, 7) keeps the "
                "feature map size with symmetric padding"
            )
        return self


def _build(section: MobileNetConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.mobilenet.net import MobileNet

    return MobileNet(section, N_CLASSES, quant)


def _weighted_layers(section: MobileNetConfig) -> list[str]:
    # features: conv, BatchNorm, ReLU per conv (the stem then the optional max-pool)
    names, index = ["features.0"], 3 + int(section.pool)
    for _ in section.blocks:
        names += [f"features.{index}", f"features.{index + 3}"]
        index += 6
    return [*names, "classifier"]


FAMILY = register(Family("mobilenet", MobileNetConfig, streamline="cnn", build=_build,
                         weighted_layers=_weighted_layers))
