"""The integer softmax and the Taylor linear attention (codesign.attention): their
integer behaviour against the real-valued functions they approximate, their invariants
and the widths that hold their intermediate values."""

from __future__ import annotations

import numpy as np
import pytest

from codesign import attention as att
from codesign.bounds import int_range


def _float_softmax(s: np.ndarray, scale: float) -> np.ndarray:
    z = (s - s.max(axis=-1, keepdims=True)) * scale
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("n", [1, 4, 16, 64])
@pytest.mark.parametrize("scale", [0.02, 0.3, 2.0])
def test_softmax_close_to_float(n: int, scale: float) -> None:
    rng = np.random.default_rng(n)
    s = rng.integers(-100, 100, size=(50, n))  # differences within the table's reach
    lut = att.exp_lut(scale)
    a = att.int_softmax(s, lut)
    want = _float_softmax(s, scale) * 2**att.OUT_BITS
    # LUT rounding (1/2 of 2^-E relative), the sum's and the reciprocal's truncation:
    # a few output steps at most, plus the clipping of a lone maximum to 2^F - 1
    assert np.abs(a - np.minimum(want, 2**att.OUT_BITS - 1)).max() <= 3
    assert (a >= 0).all() and (a <= 2**att.OUT_BITS - 1).all()
    assert (a.sum(axis=-1) <= 2**att.OUT_BITS).all()


def test_softmax_is_shift_invariant_and_monotone() -> None:
    rng = np.random.default_rng(1)
    s = rng.integers(-50, 50, size=(20, 16))
    lut = att.exp_lut(0.1)
    a = att.int_softmax(s, lut)
    assert np.array_equal(att.int_softmax(s + 1000, lut), a)
    order = np.argsort(s, axis=-1)
    assert (np.diff(np.take_along_axis(a, order, axis=-1), axis=-1) >= 0).all()


def test_softmax_uniform_row_and_far_scores() -> None:
    lut = att.exp_lut(0.5)
    # equal scores: 2^F / N each (exact for a power-of-two N)
    assert att.int_softmax(np.zeros((1, 16), dtype=np.int64), lut).tolist() == [[16] * 16]
    # scores further than the table reach read its last entry, 0
    assert att.int_softmax([[0, -10_000]], lut).tolist() == [[255, 0]]


def test_softmax_widths_hold_extremes() -> None:
    n, lut = 64, att.exp_lut(0.05)
    w = att.softmax_widths(n, len(lut))
    r = att.recip_bits(n)
    # the sum is largest on a uniform row, the reciprocal on a row with one maximum
    assert (n * int(lut[0])).bit_length() <= w.sum
    assert ((1 << r) // int(lut[0])).bit_length() <= w.recip
    assert (int(lut[0]) * ((1 << r) // int(lut[0]))).bit_length() <= w.product
    assert (len(lut) - 1).bit_length() <= w.diff


def test_exp_lut_rejects_bad_scale() -> None:
    with pytest.raises(ValueError, match="positive finite"):
        att.exp_lut(0.0)
    with pytest.raises(ValueError, match="power of two"):
        att.int_softmax([[1, 2]], [15, 3, 0])


def _float_linear(q: np.ndarray, k: np.ndarray, v: np.ndarray, heads: int, c: float) -> np.ndarray:
    """out_i = (sum_j v_j + c q_i . (K_hat^T V)) / N per head, in float64."""
    n, d = q.shape
    dh = d // heads
    out = np.zeros((n, d))
    for h in range(heads):
        sl = slice(h * dh, (h + 1) * dh)
        kh = k[:, sl] - k[:, sl].mean(axis=0)
        out[:, sl] = (v[:, sl].sum(axis=0) + c * q[:, sl] @ (kh.T @ v[:, sl])) / n
    return out


@pytest.mark.parametrize(("n", "d", "heads"), [(4, 4, 1), (16, 8, 2), (64, 12, 3)])
def test_linear_attention_matches_taylor_form(n: int, d: int, heads: int) -> None:
    rng = np.random.default_rng(d)
    q, k, v = (rng.integers(-128, 128, size=(n, d)) for _ in range(3))
    mult, shift = att.taylor_multiplier(3e-4)
    z = att.linear_attention(q, k, v, heads, mult, shift, frac=4)
    want = _float_linear(q, k, v, heads, mult / 2**shift) * 2**4
    # Z is the floor of the exact value: within one step below it
    assert ((want - z) >= -1e-6).all() and ((want - z) < 1 + 1e-6).all()


def test_linear_context_is_centred_key_product() -> None:
    rng = np.random.default_rng(3)
    k, v = rng.integers(-8, 8, size=(2, 16, 4)), rng.integers(-8, 8, size=(2, 16, 4))
    g, _ = att.linear_context(k, v)
    k_hat = k - k.mean(axis=-2, keepdims=True)
    assert np.array_equal(g, np.rint(16 * np.swapaxes(k_hat, -1, -2) @ v).astype(np.int64))


def test_linear_widths_hold_extreme_operands() -> None:
    n, dh, bits = 16, 4, 4
    lo, hi = int_range(bits, signed=True)
    mult, shift = att.taylor_multiplier(1e-2)
    w = att.linear_widths(n, dh, (lo, hi), (lo, hi), (lo, hi), mult, shift)
    # keys and values at opposite extremes on half the tokens make |G| largest
    half = np.array([lo] * (n // 2) + [hi] * (n // 2))
    k = np.repeat(half[:, None], dh, axis=1)
    for v in (k, -k - 1):
        g, _ = att.linear_context(k[None], v[None])
        assert _bits(g) <= w.context
        q = np.full((n, dh), lo)
        z = att.linear_attention(q, k, v, 1, mult, shift)
        assert _bits(q @ g[0]) <= w.product and _bits(z) <= w.out


def _bits(x: np.ndarray) -> int:
    return int(np.abs(x).max()).bit_length() + 1


def test_linear_attention_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match="power of two"):
        att.linear_attention(np.ones((3, 4)), np.ones((3, 4)), np.ones((3, 4)), 1, 1, 0)
    with pytest.raises(ValueError, match="heads"):
        att.linear_attention(np.ones((4, 4)), np.ones((4, 4)), np.ones((4, 4)), 3, 1, 0)


def test_linear_attention_is_exact_beyond_int64() -> None:
    """Operands whose products leave int64 (a large C at N = 256) are summed exactly."""
    rng = np.random.default_rng(5)
    q, k, v = (rng.integers(-2**15, 2**15, size=(256, 4)) for _ in range(3))
    mult, shift = 1 << 20, 0
    z = att.linear_attention(q, k, v, 1, mult, shift, frac=0)
    assert z.dtype == np.int64
    # one entry recomputed with Python integers: Y / N^2
    qi, ki, vi = (a.astype(object) for a in (q, k, v))
    gk = 256 * (ki.T @ vi) - np.outer(ki.sum(0), vi.sum(0))
    y = 256 * vi.sum(0)[1] + mult * int((qi[3] @ gk)[1])
    assert z[3, 1] == y >> 16
