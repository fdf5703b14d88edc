"""The ``vit`` family: a tiny quantized vision transformer on the digits, with integer
softmax attention or Taylor linear attention (:mod:`codesign.attention`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from codesign.attention import clog2
from codesign.frontend.models.registry import IMAGE_SIZE, N_CLASSES, Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import FlowConfig, QuantConfig


class ViTConfig(BuiltinModelSection):
    """``model.kind: vit``: patches of the 8x8 digits as tokens, ``depth`` encoder blocks
    (multi-head attention and an MLP, each with a residual), mean pooling, a classifier.

    Every weighted layer is followed by a BatchNorm, which the lowering folds into the
    thresholds of the next quantizer: the hardware normalises exactly. The embedding's
    BatchNorm runs over tokens x features and is followed by a learned position embedding
    (both fold into the thresholds of its quantizer, one per token x feature).
    """

    kind: Literal["vit"]
    image: int = Field(default=IMAGE_SIZE, ge=IMAGE_SIZE, le=8 * IMAGE_SIZE)
    """The digits resized to ``image`` x ``image`` pixels by nearest neighbour (a multiple
    of 8) before patching: synthetic inputs with more tokens than the 8x8 digits have
    (image 16 with patch 1: 256 tokens)."""
    patch: int = Field(default=2, ge=1, le=8 * IMAGE_SIZE)
    """Patch height and width: 2 gives 16 tokens of 4 pixels, 1 gives 64 of one."""
    position: bool = True
    """A learned position embedding: it and the embedding's BatchNorm over tokens x
    features fold into one threshold set per token and feature (memory grows with the
    tokens). False: a BatchNorm per feature and no position, one threshold set per
    feature."""
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
        return (self.image // self.patch) ** 2

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One sample: the tokens, each a patch's pixels (row-major within the patch)."""
        return (self.tokens, self.patch * self.patch)

    @property
    def pixel_order(self) -> tuple[int, ...]:
        """Patch by patch (patches row-major), each patch's pixels row-major; indices of
        the 8x8 digit's pixels, repeated where ``image`` resizes it."""
        g, p, up = self.image // self.patch, self.patch, self.image // IMAGE_SIZE
        return tuple(
            ((gy * p + y) // up) * IMAGE_SIZE + (gx * p + x) // up
            for gy in range(g) for gx in range(g) for y in range(p) for x in range(p)
        )

    @model_validator(mode="after")
    def _consistent(self) -> ViTConfig:
        if self.image % IMAGE_SIZE:
            raise ValueError(
                f"model.image={self.image} is not a multiple of the digits' {IMAGE_SIZE} "
                "pixels (they are resized by nearest neighbour)"
            )
        if self.image % self.patch:
            sizes = ", ".join(str(p) for p in range(1, self.image + 1) if self.image % p == 0)
            raise ValueError(
                f"model.patch={self.patch} does not divide the {self.image}x{self.image} "
                f"image; use one of {sizes}"
            )
        if self.dim % self.heads:
            raise ValueError(
                f"model.heads={self.heads} does not divide model.dim={self.dim}; every head "
                "takes dim / heads features"
            )
        return self


def memory_need(section: ViTConfig, quant: QuantConfig) -> dict[str, int]:
    """A lower bound of the on-chip memory (bits) the accelerator holds per frame, from
    data-type bounds: the embedding's thresholds (per token and feature with a position
    embedding) and the attention's token buffers: softmax keeps K and V whole and the
    queries wait while K loads; linear keeps the global context G per head while the
    queries wait for it."""
    n, d, a = section.tokens, section.dim, quant.act_bits
    dh = d // section.heads
    embed_acc = quant.input_bits + quant.weight_bits + clog2(section.patch**2) + 1
    sets = n * d if section.position else d
    need = {"embedding thresholds": sets * (2**a - 1) * embed_acc}
    if section.attention == "softmax":
        need["token buffers (K, V, waiting Q)"] = 3 * n * d * a
    else:
        context = section.heads * dh * dh * (2 * a + 2 * clog2(n) + 1)
        need["token buffers (G, waiting Q)"] = n * d * a + context
    return need


def _check(cfg: FlowConfig) -> None:
    """The token count against the board's on-chip memory (named: the fit check)."""
    from codesign.board.registry import get_board

    section = cfg.model
    assert isinstance(section, ViTConfig)
    need, board = memory_need(section, cfg.quant), get_board(cfg.board)
    have = board.memory_bits()
    if sum(need.values()) <= sum(have.values()):
        return
    parts = ", ".join(f"{k} {v / 1024:,.0f}" for k, v in need.items())
    offer = " + ".join(f"{k} {v / 1024:,.0f}" for k, v in have.items())
    raise ValueError(
        f"model: {section.tokens} tokens (model.image {section.image}, model.patch "
        f"{section.patch}) at model.dim {section.dim} need at least "
        f"{sum(need.values()) / 1024:,.0f} kbit of on-chip memory ({parts}); board "
        f"{board.name} plans with {sum(have.values()) / 1024:,.0f} kbit ({offer}"
        f"{', every LUT counted as memory' if 'LUT' in have else ''}); use fewer tokens "
        "(a larger model.patch), a smaller model.dim, model.position: false (thresholds "
        "per feature) or a larger board"
    )


def _build(section: ViTConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.vit.net import ViT

    return ViT(section, N_CLASSES, quant)


FAMILY = register(Family("vit", ViTConfig, streamline="vit", build=_build, check=_check))
