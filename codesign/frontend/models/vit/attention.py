"""The ViT's attention cores in torch: the integers of :mod:`codesign.attention` in the
forward pass, straight-through gradients of the real-valued function they approximate,
and an ONNX export as codesign's graph-level ops (:mod:`codesign.frontend.ops`).

Each core is a ``torch.autograd.Function`` whose forward calls the numpy function the
exported op executes (so torch and the graph compute the same float32), whose backward
is the gradient of the float form (softmax attention; the Taylor form with token-centred
keys), and whose ``symbolic`` writes the op into the graph.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from codesign import attention
from codesign.frontend import ops

_D = ops.DOMAIN


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


def _heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, N, d) -> (B, heads, N, dh)."""
    b, n, d = x.shape
    return x.reshape(b, n, heads, d // heads).transpose(1, 2)


def float_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """(B, N, heads, N) dot products of (B, N, heads, dh) queries and keys."""
    return torch.einsum(ops.SCORES, q, k)


def float_mix(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(B, N, heads, N) weights, (B, N, heads, dh) values -> (B, N, heads, dh)."""
    return torch.einsum(ops.MIX, a, v)


def float_linear(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                 c: float) -> torch.Tensor:
    """Taylor linear attention, ``(sum_j v_j + c q_i . (K_hat^T V)) / N`` per head."""
    qh, kh, vh = (_heads(x, heads) for x in (q, k, v))
    k_hat = kh - kh.mean(dim=-2, keepdim=True)
    out = (vh.sum(dim=-2, keepdim=True) + c * qh @ (k_hat.transpose(-1, -2) @ vh)) / q.shape[1]
    return out.transpose(1, 2).reshape(v.shape)


def float_linear_features(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                          c: float) -> torch.Tensor:
    """ViTALiTy's public-code Taylor form, ``c q_i . (K_hat^T V) / N`` per head: each key
    centred over its head's features, no "1" term (float only; ``model.centre:
    features``)."""
    qh, kh, vh = (_heads(x, heads) for x in (q, k, v))
    k_hat = kh - kh.mean(dim=-1, keepdim=True)
    out = c * qh @ (k_hat.transpose(-1, -2) @ vh) / q.shape[1]
    return out.transpose(1, 2).reshape(v.shape)


def _shaped(out: Any, like: Any, sizes: list[int] | None) -> Any:
    """The exported value ``out`` typed as ``like`` with ``sizes`` (torch's ONNX shape
    inference does not know a custom op, and would warn on the terminal)."""
    if sizes is not None and None not in sizes:
        out.setType(like.type().with_sizes(sizes))
    return out


def _sizes(x: Any) -> list[int] | None:
    from torch.onnx import symbolic_helper

    sizes = symbolic_helper._get_tensor_sizes(x)
    return None if sizes is None else list(sizes)


def _float_grads(fn: Any, inputs: tuple[torch.Tensor, ...], grad: torch.Tensor,
                 ) -> tuple[torch.Tensor, ...]:
    """Gradients of ``fn(*inputs)`` (the float form) for the incoming ``grad``."""
    with torch.enable_grad():
        leaves = tuple(x.detach().requires_grad_(True) for x in inputs)
        return torch.autograd.grad(fn(*leaves), leaves, grad)


class Scores(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(q, k)
        return torch.from_numpy(ops.scores(_np(q), _np(k)))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        return _float_grads(float_scores, ctx.saved_tensors, grad)

    @staticmethod
    def symbolic(g: Any, q: Any, k: Any) -> Any:
        qs, ks = _sizes(q), _sizes(k)
        sizes = None if qs is None or ks is None else [*qs[:-1], ks[-3]]
        return _shaped(g.op(f"{_D}::AttentionScores", q, k), q, sizes)


class Softmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, s: torch.Tensor, in_scale: float, temp: float, lut: tuple[int, ...],
                out_bits: int, recip: int) -> torch.Tensor:
        ctx.save_for_backward(s)
        ctx.temp = temp
        out_scale = math.ldexp(1.0, -out_bits)
        return torch.from_numpy(
            ops.softmax_values(_np(s), in_scale, out_scale, lut, out_bits, recip)
        )

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        (gs,) = _float_grads(lambda s: torch.softmax(s * ctx.temp, dim=-1), ctx.saved_tensors,
                             grad)
        return gs, None, None, None, None, None

    @staticmethod
    def symbolic(g: Any, s: Any, in_scale: float, temp: float, lut: tuple[int, ...],
                 out_bits: int, recip: int) -> Any:
        out = g.op(f"{_D}::IntSoftmax", s, in_scale_f=in_scale,
                   out_scale_f=math.ldexp(1.0, -out_bits), lut_i=list(lut),
                   out_bits_i=out_bits, recip_bits_i=recip)
        return _shaped(out, s, _sizes(s))


class Mix(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(a, v)
        return torch.from_numpy(ops.mix(_np(a), _np(v)))

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        return _float_grads(float_mix, ctx.saved_tensors, grad)

    @staticmethod
    def symbolic(g: Any, a: Any, v: Any) -> Any:
        return _shaped(g.op(f"{_D}::AttentionMix", a, v), v, _sizes(v))


class Linear(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                scales: tuple[float, float, float], mult: int, shift: int,
                frac: int) -> torch.Tensor:
        ctx.save_for_backward(q, k, v)
        # c multiplies integer codes; on the real values it is c / (s_q s_k)
        ctx.heads, ctx.c = heads, math.ldexp(mult, -shift) / (scales[0] * scales[1])
        out_scale = math.ldexp(scales[2], -frac)
        out = ops.linear_values(_np(q), _np(k), _np(v), scales, out_scale, heads, mult, shift,
                                frac)
        return torch.from_numpy(out)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[Any, ...]:
        grads = _float_grads(lambda q, k, v: float_linear(q, k, v, ctx.heads, ctx.c),
                             ctx.saved_tensors, grad)
        return (*grads, None, None, None, None, None)

    @staticmethod
    def symbolic(g: Any, q: Any, k: Any, v: Any, heads: int, scales: tuple[float, float, float],
                 mult: int, shift: int, frac: int) -> Any:
        out = g.op(f"{_D}::LinearAttention", q, k, v, heads_i=heads, q_scale_f=scales[0],
                   k_scale_f=scales[1], v_scale_f=scales[2],
                   out_scale_f=math.ldexp(scales[2], -frac), mult_i=mult, shift_i=shift,
                   frac_i=frac)
        return _shaped(out, v, _sizes(v))


def int_softmax_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                          q_scale: float, k_scale: float) -> torch.Tensor:
    """Softmax attention of quantized (B, N, d) tensors: scores, the integer softmax with
    the exponential table of the scores' real step ``s_q s_k / sqrt(dh)``, the mix."""
    n, d = q.shape[1:]
    split = (-1, n, heads, d // heads)  # fixed but the batch, for the exported graph
    temp = 1 / math.sqrt(d // heads)
    in_scale = float(np.float32(q_scale * k_scale))
    lut = tuple(int(x) for x in attention.exp_lut(in_scale * temp))
    s = Scores.apply(q.reshape(split), k.reshape(split))
    a = Softmax.apply(s, in_scale, temp, lut, attention.OUT_BITS, attention.recip_bits(n))
    out = Mix.apply(a, v.reshape(split))
    assert isinstance(out, torch.Tensor)
    return out.reshape(-1, n, d)


def int_linear_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int,
                         scales: tuple[float, float, float]) -> torch.Tensor:
    """Taylor linear attention of quantized (B, N, d) tensors with ``c = s_q s_k /
    sqrt(dh)`` on the integer codes, as ``C / 2^k``."""
    d = q.shape[2]
    mult, shift = attention.taylor_multiplier(scales[0] * scales[1] / math.sqrt(d // heads))
    out = Linear.apply(q, k, v, heads, scales, mult, shift, attention.FRAC_BITS)
    assert isinstance(out, torch.Tensor)
    return out
