"""The ``vit`` family: a tiny quantized vision transformer on the digits, with integer
softmax attention or Taylor linear attention (:mod:`codesign.attention`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from codesign.attention import clog2
from codesign.errors import ConfigError
from codesign.frontend.models.registry import IMAGE_SIZE, N_CLASSES, Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import FlowConfig, QuantConfig


Norm = Literal["batch", "layer"]
Centre = Literal["tokens", "features"]


class ViTConfig(BuiltinModelSection):
    """``model.kind: vit``: patches of the 8x8 digits as tokens, ``depth`` encoder blocks
    (multi-head attention and an MLP, each with a residual), mean pooling, a classifier.

    Every weighted layer is followed by a BatchNorm, which the lowering folds into the
    thresholds of the next quantizer: the hardware normalises exactly. The embedding's
    BatchNorm runs over tokens x features and is followed by a learned position embedding
    (both fold into the thresholds of its quantizer, one per token x feature).
    ``norm: layer`` and ``centre: features`` are float-only forms to measure what the
    hardware's choices cost in accuracy (``quant.method: float``).
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
    norm: Norm = "batch"
    """``batch``: BatchNorm, which folds into the next thresholds. ``layer`` (float only):
    a LayerNorm over each token's features in place of every BatchNorm: the embedding's
    and the one after each linear map (q, k, v, output projection, fc1, fc2). That is a
    post-norm placement (a layer's output is normalised, not the next one's input) inside
    the residual branch: the residual sums stay unnormalised, as the block has them."""
    centre: Centre = "tokens"
    """Linear attention's keys: ``tokens`` centres each key feature over the N tokens and
    keeps the "1" term, ``(sum_j v_j + c q_i . (K_hat^T V)) / N`` (what the engine and
    :mod:`codesign.attention` compute). ``features`` (float only) is ViTALiTy's public
    code: each key centred over its head's features, no "1" term, ``c q_i . (K_hat^T V) /
    N``. Normalised by N because, without the "1" term, the Taylor form's own denominator
    would be ``c q_i . sum_j k_hat_j`` alone, which can be zero."""

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
        if self.centre == "features" and self.attention != "linear":
            raise ValueError(
                "model.centre=features centres the keys of linear attention; "
                f"model.attention={self.attention} takes model.centre: tokens (the default)"
            )
        return self


def float_only(section: ViTConfig, quant: QuantConfig) -> str | None:
    """Why ``section`` has no integer form under ``quant`` (None: it has one)."""
    if quant.method == "float":
        return None
    if section.norm == "layer":
        return (
            f"model.norm=layer is float only (quant.method: float), not quant.method "
            f"{quant.method}: the hardware normalises exactly only with a BatchNorm, whose "
            "affine map folds into the next thresholds; a LayerNorm needs each token's "
            "mean and a division by the square root of its variance at run time. Use "
            "model.norm: batch"
        )
    if section.centre == "features":
        return (
            f"model.centre=features is float only (quant.method: float), not quant.method "
            f"{quant.method}: the attention engine and its integer golden centre the keys "
            "over the tokens and keep the 1 term. Use model.centre: tokens"
        )
    return None


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
    """The float-only forms against a quantized method, then the token count against the
    board's on-chip memory (named: the fit check)."""
    from codesign.board.registry import get_board

    section = cfg.model
    assert isinstance(section, ViTConfig)
    if (why := float_only(section, cfg.quant)) is not None:
        raise ValueError(why)
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

    if (why := float_only(section, quant)) is not None:
        raise ConfigError(why)
    return ViT(section, N_CLASSES, quant)


def _weighted_layers(section: ViTConfig) -> list[str]:
    block = ["attn.q.0", "attn.k.0", "attn.v.0", "proj.0", "fc1.0", "fc2.0"]
    names = [f"blocks.{d}.{name}" for d in range(section.depth) for name in block]
    return ["embed", *names, "classifier"]


FAMILY = register(Family("vit", ViTConfig, streamline="vit", build=_build, check=_check,
                         weighted_layers=_weighted_layers))
