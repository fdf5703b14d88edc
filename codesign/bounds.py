"""Accumulator bit-width bounds for integer dot products (plain numpy).

Three bounds, from loosest to tightest:

* the *data-type* bound: any K products of N-bit inputs and M-bit weights;
* the *weight-aware* bound: the integer weights of one output channel are known
  (this is what FINN's MinimizeAccumulatorWidth computes per MVAU column);
* the *A2Q* limit: the L1 norm a channel's integer weights may have so that a
  P-bit signed accumulator cannot overflow (Colbert et al., ICCV 2023).

An XNOR-popcount (FINN's binaryXnorMode: bipolar values as 0/1 codes) counts matches, so
its sum lies in ``0 .. K`` whatever the weights: ``ceil(log2(K + 1))`` unsigned bits
hold it and it cannot overflow (:func:`popcount_acc_bits`).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt


def int_range(bits: int, signed: bool) -> tuple[int, int]:
    """Smallest and largest value of a ``bits``-wide integer.

    >>> int_range(8, signed=True)
    (-128, 127)
    >>> int_range(4, signed=False)
    (0, 15)
    """
    if bits < 1:
        raise ValueError(f"bit width must be >= 1, got {bits}")
    if signed:
        return -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    return 0, 2**bits - 1


def bits_for_range(lo: int, hi: int) -> tuple[int, bool]:
    """Fewest bits (and signedness) that hold every integer in ``[lo, hi]``.

    Unsigned when ``lo >= 0``, as FINN does for accumulators.

    >>> bits_for_range(0, 255)
    (8, False)
    >>> bits_for_range(-128, 127)
    (8, True)
    >>> bits_for_range(-129, 0)
    (9, True)
    >>> bits_for_range(0, 0)
    (1, False)
    """
    if lo > hi:
        raise ValueError(f"empty range [{lo}, {hi}]")
    if lo >= 0:
        return max(1, int(hi).bit_length()), False
    # signed P holds [-2^(P-1), 2^(P-1)-1]
    magnitude = max(-lo - 1, hi)
    return int(magnitude).bit_length() + 1, True


def dtype_acc_bits(
    k: int, input_bits: int, input_signed: bool, weight_bits: int, weight_signed: bool = True
) -> tuple[int, bool]:
    """Accumulator bits for any K products of the two integer types (data-type bound).

    >>> dtype_acc_bits(64, 8, False, 8)  # 64 x UINT8 x INT8
    (22, True)
    >>> dtype_acc_bits(1, 1, False, 1, weight_signed=False)
    (1, False)
    """
    x_lo, x_hi = int_range(input_bits, input_signed)
    w_lo, w_hi = int_range(weight_bits, weight_signed)
    products = [x_lo * w_lo, x_lo * w_hi, x_hi * w_lo, x_hi * w_hi]
    return bits_for_range(k * min(products), k * max(products))


def channel_acc_range(
    weights: npt.ArrayLike, x_lo: int, x_hi: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Smallest and largest accumulator value per output channel.

    ``weights`` is integer, shape (K, C) as in FINN's MVAU (input K, output C). The
    extremes are reached by the sign-aligned inputs: the largest sum takes ``x_hi``
    where the weight is positive and ``x_lo`` elsewhere, and the smallest the reverse.

    >>> lo, hi = channel_acc_range([[1, -2], [3, 0]], x_lo=0, x_hi=15)
    >>> lo.tolist(), hi.tolist()
    ([0, -30], [60, 0])
    """
    w = np.asarray(weights, dtype=np.int64)
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (K, C), got shape {w.shape}")
    pos = np.where(w > 0, w, 0)
    neg = np.where(w < 0, w, 0)
    hi = (pos * x_hi + neg * x_lo).sum(axis=0)
    lo = (pos * x_lo + neg * x_hi).sum(axis=0)
    return lo, hi


def extreme_inputs(
    weights: npt.ArrayLike, x_lo: int, x_hi: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Inputs that drive each channel's accumulator to its smallest and largest value.

    Returns two (C, K) arrays: row c is the input vector for output channel c.

    >>> lo_x, hi_x = extreme_inputs([[1, -2], [3, 0]], x_lo=0, x_hi=15)
    >>> hi_x.tolist()
    [[15, 15], [0, 0]]
    """
    w = np.asarray(weights, dtype=np.int64).T
    hi_x = np.where(w > 0, x_hi, x_lo).astype(np.int64)
    lo_x = np.where(w > 0, x_lo, x_hi).astype(np.int64)
    return lo_x, hi_x


def weight_acc_bits(
    weights: npt.ArrayLike, input_bits: int, input_signed: bool
) -> tuple[int, bool]:
    """Accumulator bits for the given integer weights over all inputs (weight-aware bound).

    This is the width FINN's MinimizeAccumulatorWidth gives an MVAU whose output is
    thresholded (a graph-final MVAU is additionally rounded up to a multiple of 8).

    >>> weight_acc_bits([[1, -2], [3, 0]], input_bits=4, input_signed=False)
    (7, True)
    """
    x_lo, x_hi = int_range(input_bits, input_signed)
    lo, hi = channel_acc_range(weights, x_lo, x_hi)
    return bits_for_range(int(lo.min()), int(hi.max()))


def popcount_acc_bits(k: int) -> int:
    """Accumulator bits of an XNOR-popcount over ``k`` binary inputs: the count is
    ``0 .. k``, so ``ceil(log2(k + 1))`` unsigned bits never overflow. This is every
    bound at once (data type, weights, A2Q have nothing to add: each term is 0 or 1).

    FINN's MinimizeAccumulatorWidth sizes a binaryXnorMode MVAU as a signed sum of the
    ±1 weights over 0/1 inputs instead (INT7 for k = 64), which cannot hold the count k.

    >>> popcount_acc_bits(64), popcount_acc_bits(63), popcount_acc_bits(1)
    (7, 6, 1)
    """
    if k < 1:
        raise ValueError(f"a popcount needs at least one input, got {k}")
    return bits_for_range(0, k)[0]


def popcount_range(
    weights: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Smallest and largest XNOR-popcount per channel of binary weights (K, C): 0 (the
    input is the complement of the weights) and K (the input equals them).

    >>> lo, hi = popcount_range([[1, 0], [0, 0], [1, 1]])
    >>> lo.tolist(), hi.tolist()
    ([0, 0], [3, 3])
    """
    w = np.asarray(weights, dtype=np.int64)
    if w.ndim != 2:
        raise ValueError(f"weights must be 2-D (K, C), got shape {w.shape}")
    return np.zeros(w.shape[1], dtype=np.int64), np.full(w.shape[1], w.shape[0], np.int64)


def popcount_extreme_inputs(
    weights: npt.ArrayLike,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Binary inputs giving each channel its smallest and largest popcount (two (C, K)
    arrays, row c for channel c): the complement of its weights, and its weights.

    >>> lo_x, hi_x = popcount_extreme_inputs([[1, 0], [0, 0]])
    >>> lo_x.tolist(), hi_x.tolist()
    ([[0, 1], [1, 1]], [[1, 0], [0, 0]])
    """
    w = np.asarray(weights, dtype=np.int64).T
    return (1 - w).astype(np.int64), w.copy()


def a2q_l1_limit(acc_bits: int, input_bits: int, input_signed: bool) -> float:
    """A2Q's per-channel limit on the L1 norm of the integer weights.

    ||q||_1 <= (2^(P-1) - 1) * 2^(s - N), s = 1 for signed inputs, 0 for unsigned.

    >>> a2q_l1_limit(16, 8, input_signed=False)
    127.99609375
    >>> a2q_l1_limit(12, 8, input_signed=False)
    7.99609375
    """
    s = 1 if input_signed else 0
    return (2 ** (acc_bits - 1) - 1) * 2.0 ** (s - input_bits)


def a2q_plus_l1_limit(acc_bits: int, input_bits: int) -> float:
    """A2Q+'s limit for zero-centred weights: ||q||_1 <= (2^P - 2) / (2^N - 1).

    >>> round(a2q_plus_l1_limit(16, 8), 3)
    256.996
    """
    return (2**acc_bits - 2) / (2**input_bits - 1)


def a2q_min_acc_bits(l1_norm: float, input_bits: int, input_signed: bool) -> int:
    """Smallest P for which weights of this L1 norm are safe under A2Q.

    alpha = log2(||q||_1) + N - s,  P = ceil(alpha + log2(1 + 2^-alpha) + 1)
    (Brevitas examples). It inverts :func:`a2q_l1_limit`.

    >>> a2q_min_acc_bits(127.99609375, 8, input_signed=False)
    16
    >>> a2q_min_acc_bits(128.0, 8, input_signed=False)
    17
    """
    if l1_norm <= 0:
        return 1
    s = 1 if input_signed else 0
    alpha = math.log2(l1_norm) + input_bits - s
    return math.ceil(alpha + math.log2(1 + 2.0**-alpha) + 1 - 1e-12)


def a2q_plus_min_acc_bits(l1_norm: float, input_bits: int) -> int:
    """Smallest P for zero-centred weights of this L1 norm: ceil(log2(||q||_1 (2^N-1) + 2)).

    >>> a2q_plus_min_acc_bits(256.0, 8), a2q_plus_min_acc_bits(257.0, 8)
    (16, 17)
    """
    return math.ceil(math.log2(l1_norm * (2**input_bits - 1) + 2) - 1e-12)


def smallest_useful_acc_bits(method: str, input_bits: int, input_signed: bool) -> int:
    """Smallest P at which the method allows any nonzero integer weight (||q||_1 >= 1).

    >>> smallest_useful_acc_bits("a2q", 8, input_signed=False)
    10
    >>> smallest_useful_acc_bits("a2q_plus", 8, input_signed=False)
    9
    """
    for p in range(2, 65):
        if method == "a2q":
            limit = a2q_l1_limit(p, input_bits, input_signed)
        elif method == "a2q_plus":
            limit = a2q_plus_l1_limit(p, input_bits)
        else:
            raise ValueError(f"method must be 'a2q' or 'a2q_plus', got {method!r}")
        if limit >= 1:
            return p
    raise ValueError(f"no accumulator width up to 64 bits allows {input_bits}-bit inputs")
