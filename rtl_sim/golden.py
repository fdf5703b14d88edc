"""Golden numpy models of the rtl/ kernels.

Plain numpy on integer arrays (int64 unless noted). The bit-level conventions (stream
word packing, ROM files) live in :mod:`codesign.backends.words`, shared with the RTL
backend; they are re-exported here for the testbenches.
"""

from __future__ import annotations

import math

import numpy as np

from codesign.backends.words import (
    clip_thresholds,
    pack_words,
    tdata_bits,
    thresh_mem_name,
    thresh_mem_words,
    thresh_stages,
    to_unsigned,
    unpack_words,
    value_range,
    weight_mem_words,
    wrap,
    write_thresh_mem,
    write_weight_mem,
)

__all__ = [
    "clip_thresholds",
    "dwc",
    "label_select",
    "multithreshold",
    "mvau",
    "mvau_overflows",
    "pack_words",
    "tdata_bits",
    "thresh_mem_name",
    "thresh_mem_words",
    "thresh_search",
    "thresh_stages",
    "to_unsigned",
    "unpack_words",
    "value_range",
    "weight_mem_words",
    "wrap",
    "write_thresh_mem",
    "write_weight_mem",
]


# ---------------------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------------------


def multithreshold(x: np.ndarray, thr: np.ndarray, act_bias: int = 0) -> np.ndarray:
    """FINN/qonnx MultiThreshold on integers: ``act_bias + count(x[..., c] >= thr[c, t])``.

    ``x`` has the channel as its last axis; ``thr`` is (channels, N_THRES) or
    (1, N_THRES) (shared by every channel).

    >>> multithreshold(np.array([[0, 5], [3, -2]]), np.array([[1, 3], [-2, 4]]), -1).tolist()
    [[-1, 1], [1, 0]]
    """
    x = np.asarray(x, dtype=np.int64)
    thr = np.asarray(thr, dtype=np.int64)
    thr = np.broadcast_to(thr, (x.shape[-1], thr.shape[1]))
    return act_bias + (x[..., :, None] >= thr).sum(axis=-1).astype(np.int64)


def thresh_search(
    x: np.ndarray, rom_words: list[list[list[int]]], thr_bits: int, signed: bool,
    act_bias: int = 0,
) -> np.ndarray:
    """Bit-level model of cs_thresh_search: the pipelined binary search over the per-stage,
    per-lane ROM words of :func:`thresh_mem_words` (``rom_words[s][p]``; PE is the number
    of lanes), for ``x`` of shape (..., channels).

    Stage ``s`` (``k = B-1-s``) reads word ``nf*2**s + (r >> (k+1))`` of lane ``p``'s ROM
    and sets count bit ``k`` when ``x >= threshold``. Must equal :func:`multithreshold`
    (the padding never fires).

    >>> thr = np.array([[-3, 0, 0, 5, 7], [1, 2, 3, 4, 8]])  # 4-bit signed data
    >>> x = np.array([[-4, 0], [0, 7], [7, 3], [5, -8]])
    >>> words = thresh_mem_words(thr, pe=1, thr_bits=5, signed=True)
    >>> thresh_search(x, words, 5, True, -1).tolist()
    [[-1, -1], [2, 3], [4, 2], [3, -1]]
    >>> (multithreshold(x, thr, -1) == thresh_search(x, words, 5, True, -1)).all()
    np.True_
    """
    x = np.asarray(x, dtype=np.int64)
    b = len(rom_words)
    pe = len(rom_words[0])
    ch = x.shape[-1]
    flat = x.reshape(-1, ch)
    # roms[s][p][word] as signed/unsigned integers
    roms = [[unpack_words(w, thr_bits, 1, signed) for w in lanes] for lanes in rom_words]
    out = np.zeros_like(flat)
    for c in range(ch):
        nf, p = divmod(c, pe)
        r = np.zeros(flat.shape[0], dtype=np.int64)
        for s in range(b):
            k = b - 1 - s
            t = roms[s][p][nf * (1 << s) + (r >> (k + 1))]
            r = r | ((flat[:, c] >= t).astype(np.int64) << k)
        out[:, c] = r
    return (act_bias + out).reshape(x.shape)


def mvau(
    x: np.ndarray,
    w: np.ndarray,
    acc_bits: int,
    acc_signed: bool = True,
    thr: np.ndarray | None = None,
    act_bias: int = 0,
) -> np.ndarray:
    """Matrix-vector product ``x @ w`` in an ``acc_bits`` accumulator that wraps, then the
    optional MultiThreshold activation (applied to the wrapped accumulator).

    ``x``: (vectors, MW) integers; ``w``: (MW, MH) integers as FINN stores them.

    >>> x = np.array([[100, 100]]); w = np.array([[1], [1]])
    >>> mvau(x, w, acc_bits=16).tolist(), mvau(x, w, acc_bits=8).tolist()
    ([[200]], [[-56]])
    >>> mvau(x, w, acc_bits=16, thr=np.array([[0, 150, 250]])).tolist()
    [[2]]
    """
    exact = np.asarray(x, dtype=object) @ np.asarray(w, dtype=object)
    acc = wrap(exact, acc_bits, acc_signed)
    if thr is None:
        return acc
    return multithreshold(acc, thr, act_bias)


def mvau_overflows(x: np.ndarray, w: np.ndarray, simd: int, acc_bits: int,
                   acc_signed: bool = True) -> bool:
    """Whether the cs_mvau overflow monitor fires: some partial sum, taken after each SIMD
    fold (input columns ``0 .. (sf+1)*SIMD-1``), of some output falls outside the
    ``acc_bits`` range.

    >>> x = np.array([[100, 100]]); w = np.array([[1], [1]])
    >>> mvau_overflows(x, w, 1, 8), mvau_overflows(x, w, 1, 9)
    (True, False)
    """
    x = np.asarray(x, dtype=object)
    w = np.asarray(w, dtype=object)
    mw = w.shape[0]
    lo, hi = value_range(acc_bits, acc_signed)
    for end in range(simd, mw + 1, simd):
        part = x[:, :end] @ w[:end, :]
        if part.size and (part.min() < lo or part.max() > hi):
            return True
    return False


def dwc(words: list[int], elem_bits: int, in_elems: int, out_elems: int) -> list[int]:
    """Data-width conversion: the same element sequence regrouped into ``out_elems`` words.

    >>> [hex(w) for w in dwc([0x21, 0x43], 4, 2, 4)]
    ['0x4321']
    >>> [hex(w) for w in dwc([0x321, 0x654], 4, 3, 2)]
    ['0x21', '0x43', '0x65']
    """
    elems = unpack_words(words, elem_bits, in_elems, signed=False)
    if elems.size % out_elems:
        raise ValueError(f"{elems.size} elements do not fill words of {out_elems}")
    return pack_words(elems, elem_bits, out_elems)


def label_select(x: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` largest values per row, largest first; ties go to the lowest
    index first (what FINN's LabelSelect execution gets from ONNX TopK, whose spec says
    equal elements keep index order).

    >>> label_select(np.array([[3, 7, 7, 1, 7]]), 3).tolist()
    [[1, 2, 4]]
    """
    x = np.asarray(x, dtype=np.int64)
    # stable sort on the negated values keeps index order among equal values
    return np.argsort(-x, axis=-1, kind="stable")[..., :k].astype(np.int64)


def clog2(n: int) -> int:
    """Bits to hold ``0 .. n-1`` (at least 1), as the RTL's ``$clog2`` with a floor of 1.

    >>> clog2(1), clog2(2), clog2(10)
    (1, 1, 4)
    """
    return max(1, math.ceil(math.log2(n))) if n > 1 else 1
