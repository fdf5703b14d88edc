"""A tiny ViT on the digits' patches (see :class:`codesign.frontend.models.vit.ViTConfig`).

* embedding: a linear map of each patch's pixels to ``dim`` features, then a BatchNorm
  over tokens x features without gain, a learned position embedding added, and an
  unsigned quantizer (``model.position`` false: a BatchNorm per feature, no position);
* a block: ``r = act_r(h + act_h(BN(W_o attn(h))))`` then
  ``out = act_o(r + act_r(BN(W_2 act(BN(W_1 r)))))``: the residual stream is unsigned
  (ReLU quantizers), a branch passes through the quantizer of the value it is added to
  (one scale, so the add is an integer add in hardware, as in the CNN family);
* attention: queries, keys and values are a linear map, a BatchNorm and a *signed*
  quantizer each; the core is the integer softmax attention or the Taylor linear
  attention (:mod:`codesign.frontend.models.vit.attention`), its output requantized
  (signed) before the output projection;
* sum pooling over the tokens (an exact integer sum, which the classifier's weights scale),
  then the classifier.

With the float preset the same structure computes float softmax or Taylor attention;
two float-only forms measure what the hardware's choices cost: ``model.norm: layer`` (a
LayerNorm over each token's features wherever a BatchNorm is: after each linear map and
the embedding) and ``model.centre: features`` (ViTALiTy's public-code Taylor form).
The forward takes the integer pixel codes (B, tokens, patch * patch).
"""

from __future__ import annotations

import math

import brevitas.nn as qnn
import torch
from brevitas.quant import Int8ActPerTensorFloat
from brevitas.quant_tensor import IntQuantTensor
from torch import nn

from codesign.attention import clog2
from codesign.config import QuantConfig
from codesign.frontend.models.vit import Norm, ViTConfig
from codesign.frontend.models.vit import attention as att
from codesign.frontend.quant import presets


class SignedActQuant(Int8ActPerTensorFloat):
    """Signed per-tensor activations (queries, keys, values, attention outputs)."""

    collect_stats_steps = 50


class TokenNorm(nn.BatchNorm1d):
    """BatchNorm over the last axis of (B, N, C): statistics over batch and tokens.

    In eval mode it is the per-channel affine map ``x * a + b`` on the last axis, which
    exports as a Mul and an Add that streamlining absorbs into the next thresholds.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            flat = x.reshape(-1, x.shape[-1])
            return super().forward(flat).reshape(x.shape)
        assert self.running_var is not None and self.running_mean is not None  # tracked
        scale = self.weight / torch.sqrt(self.running_var + self.eps)
        return x * scale + (self.bias - self.running_mean * scale)


def _norm(width: int, kind: Norm) -> nn.Module:
    """The normalisation of ``width`` features of (B, N, width): a BatchNorm over batch and
    tokens (folds into the next thresholds), or a LayerNorm over each token's features
    (``model.norm: layer``, float only)."""
    return TokenNorm(width) if kind == "batch" else nn.LayerNorm(width)


def _signed(quant_cfg: QuantConfig) -> nn.Module:
    if not _quantized(quant_cfg):
        return nn.Identity()
    return qnn.QuantIdentity(
        act_quant=SignedActQuant.let(bit_width=quant_cfg.act_bits), return_quant_tensor=True
    )


def _quantized(quant_cfg: QuantConfig) -> bool:
    return presets.get_preset(quant_cfg.method).weight_quant is not None


def _value(x: torch.Tensor | IntQuantTensor) -> torch.Tensor:
    return x.value if isinstance(x, IntQuantTensor) else x


def _scale(x: IntQuantTensor) -> float:
    return float(x.scale.detach().reshape(()))


class Projection(nn.Sequential):
    """Linear (no bias: the normalisation shifts), normalisation (``model.norm``),
    quantizer."""

    def __init__(self, width: int, out: int, act: nn.Module, cfg: ViTConfig,
                 quant_cfg: QuantConfig) -> None:
        super().__init__(
            presets.make_linear(width, out, bias=False, quant_cfg=quant_cfg),
            _norm(out, cfg.norm), act,
        )


class Attention(nn.Module):
    def __init__(self, cfg: ViTConfig, quant_cfg: QuantConfig) -> None:
        super().__init__()
        self.heads, self.kind, self.centre = cfg.heads, cfg.attention, cfg.centre
        self.quantized = _quantized(quant_cfg)
        d = cfg.dim
        self.q, self.k, self.v = (
            Projection(d, d, _signed(quant_cfg), cfg, quant_cfg) for _ in "qkv"
        )
        self.out_act = _signed(quant_cfg)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        q, k, v = self.q(h), self.k(h), self.v(h)
        if not self.quantized:
            return self._float(q, k, v)
        if self.kind == "softmax":
            o = att.int_softmax_attention(
                q.value, k.value, v.value, self.heads, _scale(q), _scale(k)
            )
        else:
            scales = (_scale(q), _scale(k), _scale(v))
            o = att.int_linear_attention(q.value, k.value, v.value, self.heads, scales)
        out = self.out_act(o)
        assert isinstance(out, IntQuantTensor)
        return out

    def _float(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        n, d = q.shape[1:]
        split = (-1, n, self.heads, d // self.heads)
        temp = 1 / math.sqrt(d // self.heads)
        if self.kind == "linear":
            core = att.float_linear if self.centre == "tokens" else att.float_linear_features
            return core(q, k, v, self.heads, temp)
        a = torch.softmax(att.float_scores(q.reshape(split), k.reshape(split)) * temp, dim=-1)
        return att.float_mix(a, v.reshape(split)).reshape(-1, n, d)


class Block(nn.Module):
    def __init__(self, cfg: ViTConfig, in_act: nn.Module, quant_cfg: QuantConfig,
                 last: bool = False) -> None:
        """``in_act``: the quantizer that produced the block's input (owned upstream);
        ``last``: the classifier reads the block's output (summed over the tokens)."""
        super().__init__()
        d = cfg.dim
        self._in_act = [in_act]  # registered where it is owned, kept once in the state dict
        self.attn = Attention(cfg, quant_cfg)
        self.proj = Projection(d, d, nn.Identity(), cfg, quant_cfg)
        self.mid_act = presets.make_relu(quant_cfg)
        self.fc1 = Projection(d, cfg.mlp, presets.make_relu(quant_cfg), cfg, quant_cfg)
        self.fc2 = Projection(cfg.mlp, d, nn.Identity(), cfg, quant_cfg)
        self.out_act = presets.make_relu(quant_cfg, last_input=last)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        r = self.mid_act(_value(h) + _value(self._in_act[0](self.proj(self.attn(h)))))
        return self.out_act(_value(r) + _value(self.mid_act(self.fc2(self.fc1(r)))))


class ViT(nn.Module):
    def __init__(self, cfg: ViTConfig, n_classes: int, quant_cfg: QuantConfig) -> None:
        super().__init__()
        self.tokens, self.dim = cfg.tokens, cfg.dim
        self.input_quant = presets.make_input(quant_cfg)
        self.embed = presets.make_linear(cfg.patch**2, cfg.dim, bias=False, quant_cfg=quant_cfg)
        # normalised per token x feature, then shifted by a learned position embedding;
        # no learned gain: its sign would flip thresholds per token, which no
        # Thresholding can do (the linear layer's per-feature scale is the gain)
        # (model.position false: a BatchNorm per feature with its gain, no position)
        self.embed_norm = self._embed_norm(cfg)
        self.position = nn.Parameter(torch.zeros(cfg.tokens * cfg.dim)) if cfg.position else None
        self.embed_act = presets.make_relu(quant_cfg)
        blocks: list[Block] = []
        act = self.embed_act
        for d in range(cfg.depth):
            blocks.append(Block(cfg, act, quant_cfg, last=d == cfg.depth - 1))
            act = blocks[-1].out_act
        self.blocks = nn.Sequential(*blocks)
        self.classifier = presets.make_linear(cfg.dim, n_classes, bias=True, quant_cfg=quant_cfg)

    @staticmethod
    def _embed_norm(cfg: ViTConfig) -> nn.Module:
        """The embedding's normalisation; with a position embedding it takes and returns
        the flat (B, tokens * dim) features the position is added to."""
        if not cfg.position:
            return _norm(cfg.dim, cfg.norm)
        if cfg.norm == "batch":
            return nn.BatchNorm1d(cfg.tokens * cfg.dim, affine=False)
        return nn.Sequential(
            nn.Unflatten(1, (cfg.tokens, cfg.dim)), nn.LayerNorm(cfg.dim), nn.Flatten(1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.embed(self.input_quant(x))  # (B, N, d)
        # fixed shapes but the batch (-1), so that the exported graph takes any batch
        if self.position is None:
            h = self.embed_act(self.embed_norm(_value(z)))
        else:
            flat = self.embed_norm(z.reshape(-1, self.tokens * self.dim)) + self.position
            h = self.embed_act(flat).reshape(-1, self.tokens, self.dim)
        out = self.classifier(self._pool(self.blocks(h)))
        assert isinstance(out, torch.Tensor)  # the classifier returns plain logits
        return out

    def _pool(self, h: torch.Tensor | IntQuantTensor) -> torch.Tensor | IntQuantTensor:
        """The sum over tokens: exact integers of ``log2 N`` more bits in the same scale
        (an A2Q classifier reads that width); float: the mean."""
        if not isinstance(h, IntQuantTensor):
            return h.mean(dim=1)
        total = h.value.sum(dim=1)
        bits = h.bit_width + clog2(self.tokens)
        return IntQuantTensor(total, h.scale, h.zero_point, bits, h.signed, self.training)
