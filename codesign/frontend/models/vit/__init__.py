"""The ``vit`` family: a tiny quantized vision transformer on the digits, with integer
softmax attention or Taylor linear attention (:mod:`codesign.attention`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from codesign.frontend.models.registry import IMAGE_SIZE, N_CLASSES, Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import QuantConfig


class ViTConfig(BuiltinModelSection):
    """``model.kind: vit``: patches of the 8x8 digits as tokens, ``depth`` encoder blocks
    (multi-head attention and an MLP, each with a residual), mean pooling, a classifier.

    Every weighted layer is followed by a BatchNorm, which the lowering folds into the
    thresholds of the next quantizer: the hardware normalises exactly. The embedding's
    BatchNorm runs over tokens x features and is followed by a learned position embedding
    (both fold into the thresholds of its quantizer, one per token x feature).
    """

    kind: Literal["vit"]
    patch: int = Field(default=2, ge=1, le=IMAGE_SIZE)
    """Patch height and width: 2 gives 16 tokens of 4 pixels, 1 gives 64 of one."""
    dim: int = Field(default=16, ge=1)
    """Embedding width d."""
    heads: int = Field(default=2, ge=1)
    """Attention heads; each gets d / heads features."""
    depth: int = Field(default=1, ge=1)
    """Encoder blocks."""
    attention: Literal["softmax", "linear"] = "softmax"
    """Integer softmax attention, or ViTALiTy's first-order Taylor linear attention."""
    mlp: int = Field(default=32, ge=1)
    """Hidden width of each block's MLP."""

    @property
    def tokens(self) -> int:
        return (IMAGE_SIZE // self.patch) ** 2

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample: the tokens, each a patch's pixels (row-major within the patch)."""
        return (self.tokens, self.patch * self.patch)

    @property
    def pixel_order(self) -> tuple[int, ...]:
        """Patch by patch (patches row-major), each patch's pixels row-major."""
        g, p = IMAGE_SIZE // self.patch, self.patch
        return tuple(
            (gy * p + y) * IMAGE_SIZE + gx * p + x
            for gy in range(g) for gx in range(g) for y in range(p) for x in range(p)
        )

    @model_validator(mode="after")
    def _consistent(self) -> ViTConfig:
        if IMAGE_SIZE % self.patch:
            sizes = ", ".join(str(p) for p in range(1, IMAGE_SIZE + 1) if IMAGE_SIZE % p == 0)
            raise ValueError(
                f"model.patch={self.patch} does not divide the {IMAGE_SIZE}x{IMAGE_SIZE} image; "
                f"use one of {sizes}"
            )
        if self.dim % self.heads:
            raise ValueError(
                f"model.heads={self.heads} does not divide model.dim={self.dim}; every head "
                "takes dim / heads features"
            )
        return self


def _build(section: ViTConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.vit.net import ViT

    return ViT(section, N_CLASSES, quant)


FAMILY = register(Family("vit", ViTConfig, streamline="vit", build=_build))
