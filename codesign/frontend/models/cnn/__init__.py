"""The ``cnn`` family: conv stages on the 1x8x8 digits, then FC layers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from codesign.frontend.models.registry import IMAGE_SIZE, N_CLASSES, Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import QuantConfig


def _per_stage(value: bool | list[bool], stages: int, key: str, all_means: str) -> list[bool]:
    """Expand a per-stage flag: a list (one entry per stage) or one bool for all stages
    (``all_means`` says which: "every" stage or every stage "after the first")."""
    if isinstance(value, list):
        if len(value) != stages:
            raise ValueError(
                f"model.{key} has {len(value)} entries but model.conv has {stages} stages; "
                f"give one bool per stage or a single bool"
            )
        return list(value)
    first = value if all_means == "every" else False
    return [first] + [value] * (stages - 1)


class CNNConfig(BuiltinModelSection):
    """``model.kind: cnn``: conv stages on the 1x8x8 digits, then FC layers.

    A stage is a ``kernel`` x ``kernel`` convolution ("same" padding), BatchNorm and a
    quantized ReLU, optionally followed by a 2x2 max-pool. A depthwise-separable stage is
    a depthwise ``kernel`` x ``kernel`` convolution (BatchNorm, ReLU) and a pointwise 1x1
    one. A residual stage computes h + f(h); f's output and h pass through one shared
    activation quantizer (same scale), and the sum is requantized by the stage's own.
    """

    kind: Literal["cnn"]
    conv: list[int] = Field(default=[8, 16], min_length=1)
    """Output channels of each conv stage."""
    kernel: int = Field(default=3, ge=1, le=IMAGE_SIZE)
    """Kernel size (odd: the padding keeps each stage's height and width)."""
    pool: bool | list[bool] = True
    """2x2 max-pool after a stage: one bool for every stage, or one per stage."""
    depthwise_separable: bool | list[bool] = False
    """A stage = depthwise k x k + pointwise 1x1. True: every stage after the first
    (a depthwise conv of the 1-channel image is a plain conv); or one bool per stage."""
    residual: bool | list[bool] = False
    """A stage = h + f(h) (input channels = output channels). True: every stage after
    the first (the first lifts the 1-channel image); or one bool per stage."""
    hidden: list[int] = Field(default=[], min_length=0)
    """Widths of the FC (QuantLinear + BatchNorm + QuantReLU) layers before the classifier."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: a 1-channel image (NCHW without the batch)."""
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    @property
    def pools(self) -> list[bool]:
        return _per_stage(self.pool, len(self.conv), "pool", "every")

    @property
    def separable(self) -> list[bool]:
        return _per_stage(self.depthwise_separable, len(self.conv), "depthwise_separable", "after")

    @property
    def residuals(self) -> list[bool]:
        return _per_stage(self.residual, len(self.conv), "residual", "after")

    def feature_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) after the last stage."""
        size = IMAGE_SIZE // 2 ** sum(self.pools)
        return self.conv[-1], size, size

    @model_validator(mode="after")
    def _consistent(self) -> CNNConfig:
        if any(c < 1 for c in self.conv):
            raise ValueError(f"model.conv channels must be >= 1, got {self.conv}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"model.hidden widths must be >= 1, got {self.hidden}")
        if self.kernel % 2 == 0:
            raise ValueError(
                f"model.kernel={self.kernel} is even; an odd kernel (1, 3, 5, 7) keeps the "
                "feature map size with symmetric padding"
            )
        pools, separable, residuals = self.pools, self.separable, self.residuals
        size = IMAGE_SIZE
        channels = 1
        for i, out in enumerate(self.conv):
            if separable[i] and channels == 1:
                raise ValueError(
                    f"model.depthwise_separable: stage {i} gets a 1-channel input, where a "
                    "depthwise conv is a plain conv; make that stage a standard one"
                )
            if residuals[i] and channels != out:
                raise ValueError(
                    f"model.residual: stage {i} maps {channels} to {out} channels, but h + f(h) "
                    "needs equal input and output channels (model.conv)"
                )
            if pools[i]:
                if size < 2:
                    raise ValueError(
                        f"model.pool: stage {i} would pool a {size}x{size} feature map; at "
                        f"most {IMAGE_SIZE.bit_length() - 1} stages can pool an "
                        f"{IMAGE_SIZE}x{IMAGE_SIZE} image"
                    )
                size //= 2
            channels = out
        return self


def _build(section: CNNConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.cnn.net import CNN

    return CNN(section, N_CLASSES, quant)  # the image shape comes from the section


def _weighted_layers(section: CNNConfig) -> list[str]:
    # a separable stage's body: depthwise conv, BatchNorm, ReLU, pointwise conv, ...
    names = []
    for i, separable in enumerate(section.separable):
        names += [f"stages.{i}.body.0"] + ([f"stages.{i}.body.3"] if separable else [])
    return names + [f"fc.{j}.0" for j in range(len(section.hidden))] + ["classifier"]


FAMILY = register(Family("cnn", CNNConfig, streamline="cnn", build=_build,
                         weighted_layers=_weighted_layers))
