"""Integer attention: the integer softmax and the Taylor linear attention (plain numpy).

These functions *define* the integers the ViT family computes: training calls them in its
forward pass (straight-through gradients, :mod:`codesign.frontend.models.vit.attention`),
the exported graph's ops execute them, and the hardware kernels' goldens are them. They
sit at the top of the package, beside :mod:`codesign.bounds`, because both the training
side and the hardware side read them and neither may import the other.

**Integer softmax** of a row of integer scores ``s`` whose real value is ``s * scale``,
in two passes over the row:

1. ``m = max(s)``;
2. ``e_j = lut[min(m - s_j, L - 1)]`` with ``lut[d] = round(2^E * exp(-d * scale))``
   (``L`` entries, the last 0 unless the table was cut at its maximum length);
   ``sum = sum_j e_j`` (at least ``lut[0] = 2^E``, the maximum's own term);
3. one reciprocal per row, ``r = floor(2^R / sum)``;
4. ``a_j = min((e_j * r) >> (R - F), 2^F - 1)``: unsigned ``F``-bit codes of the
   fixed scale ``2^-F`` (``R = E + F + ceil(log2 N)`` keeps the truncation of ``r``
   below ``1/N`` of an output step).

**Taylor linear attention** (ViTALiTy's first-order form with keys centred over the
tokens): ``exp(c q.k_hat) ~ 1 + c q.k_hat`` with ``k_hat = k - mean_tokens(k)``, so
``sum_j k_hat_j = 0``, the normaliser is ``N`` and
``out_i = (sum_j v_j + c q_i . (K_hat^T V)) / N``. In integers, per head,
``G = N K^T V - (sum K) (x) (sum V) = N K_hat^T V`` exactly, and with ``c ~ C / 2^k``
(``C`` an integer multiplier):

``Y_i = 2^k N sum(V) + C (Q_i . G)``,  ``Z_i = floor(Y_i 2^f / (N^2 2^k))``,

where ``Z`` is the output in ``V``'s scale times ``2^-f`` (``f`` fraction bits). ``N``
is a power of two, so every division is a shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

EXP_BITS = 8
"""E: ``lut[0] = 2^E``, the exponential of the row maximum."""
OUT_BITS = 8
"""F: softmax outputs are unsigned F-bit codes of scale ``2^-F``."""
LUT_MAX_LEN = 256
"""Longest exponential table: a difference beyond it reads its last entry."""
MULT_BITS = 16
"""Significant bits of the linear attention's integer multiplier ``C``."""
FRAC_BITS = 4
"""f: fraction bits of the linear attention's output."""


def clog2(n: int) -> int:
    """Bits of an index into ``n`` items: ``ceil(log2 n)``.

    >>> clog2(1), clog2(16), clog2(17)
    (0, 4, 5)
    """
    return max(0, int(n - 1).bit_length())


# ----------------------------------------------------------------------------- softmax


def exp_lut(scale: float, exp_bits: int = EXP_BITS, max_len: int = LUT_MAX_LEN) -> IntArray:
    """``round(2^E exp(-d scale))`` for ``d = 0, 1, ...`` up to and including the first 0,
    at most ``max_len`` entries (rounding half to even, in float64).

    >>> exp_lut(1.0, 4).tolist()
    [16, 6, 2, 1, 0]
    >>> len(exp_lut(1e-3, 8, max_len=32))
    32
    """
    if not math.isfinite(scale) or scale <= 0:
        raise ValueError(f"softmax scale must be a positive finite number, got {scale}")
    if exp_bits < 1 or max_len < 2:
        raise ValueError(f"need exp_bits >= 1 and max_len >= 2, got {exp_bits}, {max_len}")
    d = np.arange(max_len, dtype=np.float64)
    values = np.round(np.ldexp(np.exp(-d * float(scale)), exp_bits)).astype(np.int64)
    zeros = np.flatnonzero(values == 0)
    return values[: zeros[0] + 1] if zeros.size else values


def recip_bits(n: int, exp_bits: int = EXP_BITS, out_bits: int = OUT_BITS) -> int:
    """R of a row of ``n`` scores: ``E + F + ceil(log2 n)``.

    >>> recip_bits(16)
    20
    """
    return exp_bits + out_bits + clog2(n)


def int_softmax(scores: npt.ArrayLike, lut: npt.ArrayLike, out_bits: int = OUT_BITS,
                recip: int | None = None) -> IntArray:
    """Integer softmax over the last axis of integer ``scores`` (see the module doc);
    ``recip`` is R (default :func:`recip_bits` of the row length and ``lut[0]``'s E).

    >>> lut = exp_lut(1.0, 4)
    >>> int_softmax([[3, 3, 0, -100]], lut, out_bits=4).tolist()
    [[7, 7, 0, 0]]
    >>> int_softmax([[5]], lut, out_bits=4).tolist()  # one token: 16/16 clips to 15
    [[15]]
    """
    s = np.asarray(scores, dtype=np.int64)
    table = np.asarray(lut, dtype=np.int64)
    exp_bits = int(table[0]).bit_length() - 1
    if table[0] != 1 << exp_bits:
        raise ValueError(f"lut[0] must be a power of two 2^E, got {int(table[0])}")
    n = s.shape[-1]
    r = recip_bits(n, exp_bits, out_bits) if recip is None else recip
    if r < out_bits:
        raise ValueError(f"reciprocal bits R={r} below the output bits F={out_bits}")
    diff = np.minimum(s.max(axis=-1, keepdims=True) - s, len(table) - 1)
    e = table[diff]
    row_recip = (np.int64(1) << r) // e.sum(axis=-1, keepdims=True)
    return np.minimum((e * row_recip) >> (r - out_bits), (1 << out_bits) - 1)


@dataclass(frozen=True)
class SoftmaxWidths:
    """Bits of the integer softmax's intermediate values (all unsigned)."""

    diff: int
    """The clipped difference, the table index."""
    exp: int
    sum: int
    recip: int
    product: int


def softmax_widths(n: int, lut_len: int, exp_bits: int = EXP_BITS,
                   out_bits: int = OUT_BITS) -> SoftmaxWidths:
    """Widths that hold every intermediate value for rows of ``n`` scores: the sum is at
    most ``n 2^E`` and at least ``2^E``, so the reciprocal is at most ``2^(R - E)``.

    >>> softmax_widths(16, 12)
    SoftmaxWidths(diff=4, exp=9, sum=13, recip=13, product=21)
    """
    r = recip_bits(n, exp_bits, out_bits)
    return SoftmaxWidths(
        diff=max(1, clog2(lut_len)),
        exp=exp_bits + 1,
        sum=(n << exp_bits).bit_length(),
        recip=(1 << (r - exp_bits)).bit_length(),
        product=((1 << exp_bits) * (1 << (r - exp_bits))).bit_length(),
    )


# ----------------------------------------------------------------------------- linear


def taylor_multiplier(c: float, mult_bits: int = MULT_BITS) -> tuple[int, int]:
    """``(C, k)`` with ``C / 2^k ~ c``, ``C`` of ``mult_bits`` significant bits, ``k >= 0``.

    >>> taylor_multiplier(0.75, 4)
    (12, 4)
    >>> taylor_multiplier(1000.0, 4)  # k stays >= 0: C takes the magnitude
    (1000, 0)
    """
    if not math.isfinite(c) or c <= 0:
        raise ValueError(f"linear attention factor must be positive and finite, got {c}")
    k = max(0, mult_bits - 1 - math.floor(math.log2(c)))
    return round(math.ldexp(c, k)), k


def _heads(x: IntArray, heads: int) -> IntArray:
    """(..., N, d) -> (..., heads, N, d / heads)."""
    *lead, n, d = x.shape
    return np.moveaxis(x.reshape(*lead, n, heads, d // heads), -2, -3)


def _merge(x: IntArray) -> IntArray:
    """(..., heads, N, dh) -> (..., N, heads * dh)."""
    moved = np.moveaxis(x, -3, -2)
    return moved.reshape(*moved.shape[:-2], -1)


def linear_context(k: IntArray, v: IntArray) -> tuple[IntArray, IntArray]:
    """``(G, N sum V)`` per head of (..., heads, N, dh) keys and values:
    ``G = N K^T V - (sum K) (x) (sum V)``, the integer ``N K_hat^T V``.

    >>> g, nsv = linear_context(np.array([[[1], [3]]]), np.array([[[2], [4]]]))
    >>> g.tolist(), nsv.tolist()  # k_hat = [-1, 1]: 2 * (-2 + 4) = 4
    ([[[4]]], [[[12]]])
    """
    n = k.shape[-2]
    sum_k, sum_v = k.sum(axis=-2), v.sum(axis=-2)
    g = n * (np.swapaxes(k, -1, -2) @ v) - sum_k[..., :, None] * sum_v[..., None, :]
    return g, n * sum_v[..., None, :]


def linear_attention(q: npt.ArrayLike, k: npt.ArrayLike, v: npt.ArrayLike, heads: int,
                     mult: int, shift: int, frac: int = FRAC_BITS) -> IntArray:
    """Taylor linear attention of integer (..., N, d) ``q``, ``k``, ``v`` with ``heads``
    heads (see the module doc): ``Z`` of shape (..., N, d), in ``v``'s scale times
    ``2^-frac``; ``mult / 2^shift`` is the factor ``c`` of ``q . k_hat``.

    With C = 0 every query gets the mean of the values (times 2^f):

    >>> v = np.array([[1, 2], [3, 4], [5, 6], [7, 9]])
    >>> linear_attention(np.ones((4, 2)), np.ones((4, 2)), v, 1, 0, 0, 2)[0].tolist()
    [16, 21]
    """
    qi, ki, vi = (np.asarray(a, dtype=np.int64) for a in (q, k, v))
    n, d = qi.shape[-2:]
    if ki.shape != qi.shape or vi.shape != qi.shape:
        raise ValueError(f"q, k, v differ in shape: {qi.shape}, {ki.shape}, {vi.shape}")
    if d % heads or n & (n - 1):
        raise ValueError(f"need heads | d and N a power of two, got d={d}, heads={heads}, N={n}")
    mag = [int(np.abs(a).max(initial=0)) for a in (qi, ki, vi)]
    bound = (2 * n * n * mag[1] * mag[2] * (d // heads) * mag[0] * mult
             + (n * n * mag[2] << shift))
    if bound >= 2**62:  # int64 would wrap: exact Python integers instead
        qi, ki, vi = (a.astype(object) for a in (qi, ki, vi))
    g, nsv = linear_context(_heads(ki, heads), _heads(vi, heads))
    y = (nsv << shift) + mult * (_heads(qi, heads) @ g)
    down = shift + 2 * clog2(n) - frac
    z = y >> down if down >= 0 else y << -down
    return _merge(z).astype(np.int64)


@dataclass(frozen=True)
class LinearWidths:
    """Signed bits of the linear attention's accumulators, from the data types alone."""

    context: int
    """``G = N K^T V - (sum K)(sum V)``, per entry."""
    product: int
    """``Q_i . G``."""
    total: int
    """``Y = 2^k N sum V + C (Q_i . G)``."""
    out: int
    """``Z``."""


def _signed_bits(magnitude: int) -> int:
    return int(magnitude).bit_length() + 1


def linear_widths(n: int, dh: int, q: tuple[int, int], k: tuple[int, int],
                  v: tuple[int, int], mult: int, shift: int,
                  frac: int = FRAC_BITS) -> LinearWidths:
    """Accumulator widths of one head for operands in the integer ranges ``q``, ``k``,
    ``v`` (``(lo, hi)``, e.g. ``(-128, 127)`` for INT8). ``G / N^2`` is a covariance of
    keys and values, so ``|G| <= N^2 (k_hi - k_lo)(v_hi - v_lo) / 4``; ``|Q.G| <= dh
    max|q| |G|``.

    >>> w = linear_widths(256, 16, (-128, 127), (-128, 127), (-128, 127), 1 << 15, 28)
    >>> w.context, w.product
    (31, 42)
    """
    g = -(-n * n * (k[1] - k[0]) * (v[1] - v[0]) // 4)
    p = dh * max(-q[0], q[1]) * g
    y = (n * n * max(-v[0], v[1]) << shift) + mult * p
    down = shift + 2 * clog2(n) - frac
    z = y >> down if down >= 0 else y << -down
    return LinearWidths(_signed_bits(g), _signed_bits(p), _signed_bits(y), _signed_bits(z))
