"""Stream words and ROM files: the bit-level conventions of the rtl/ kernel library.

Shared by the RTL backend (which writes the ROM files), the golden models and the
testbenches (which pack and unpack stream words), so there is one definition of each:

* A stream word holds ``elems_per_word`` elements of ``elem_bits``; element ``i`` sits at
  bits ``[i*elem_bits +: elem_bits]`` (element 0 in the LSBs), as two's complement when
  signed. Words are ``tdata_bits(...)`` wide (rounded up to a multiple of 8); pad bits are 0.
* ROM files are ``$readmemh`` text: one hex word per line, no address markers, most
  significant digit first, zero-padded to the word width. Thresholds take one file per
  binary-search stage and PE lane, named from the kernel's ``THRESH_FILE`` base
  (:func:`thresh_mem_name`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

# one definition of an integer type's range, shared with the accumulator bounds
from codesign.bounds import int_range as value_range


def tdata_bits(bits: int) -> int:
    """Byte-aligned AXI-Stream tdata width for ``bits`` payload bits.

    >>> tdata_bits(12), tdata_bits(16), tdata_bits(1)
    (16, 16, 8)
    """
    return max(8, (bits + 7) // 8 * 8)


def wrap(x: np.ndarray | int, bits: int, signed: bool) -> np.ndarray:
    """Reduce ``x`` modulo ``2**bits`` into the signed or unsigned range (hardware wrap).

    >>> wrap(np.array([127, 128, -129, 300]), 8, True).tolist()
    [127, -128, 127, 44]
    >>> wrap(np.array([-1, 256]), 8, False).tolist()
    [255, 0]
    """
    arr = np.asarray(x)
    # int64 arithmetic where it is exact (a frame of a million sums wraps in milliseconds)
    a = arr % (1 << bits) if arr.dtype.kind in "iu" and bits < 63 else (
        np.asarray(x, dtype=object) % (1 << bits))
    if signed:
        a = np.where(a >= (1 << (bits - 1)), a - (1 << bits), a)
    return np.asarray(a, dtype=np.int64)


def exact_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` of integer matrices, exactly: in float64 (BLAS) while no partial sum can
    reach 2**53, in int64 below 2**63, else in Python integers (an object array). A
    128x128 frame's 576x64 convolution takes a fraction of a second, not a minute.

    >>> exact_matmul(np.array([[3, -2]]), np.array([[5], [7]])).tolist()
    [[1]]
    >>> exact_matmul(np.array([[2**40, 1]]), np.array([[2**20], [1]])).tolist()  # int64
    [[1152921504606846977]]
    >>> exact_matmul(np.array([[2**62]], dtype=object), np.array([[4]])).tolist()
    [[18446744073709551616]]
    """
    xa, wa = np.asarray(x), np.asarray(w)
    if xa.size == 0 or wa.size == 0 or xa.dtype == object or wa.dtype == object:
        return np.asarray(xa, dtype=object) @ np.asarray(wa, dtype=object)
    xmax = max(abs(int(xa.max())), abs(int(xa.min())))
    wmax = max(abs(int(wa.max())), abs(int(wa.min())))
    bound = xmax * wmax * xa.shape[-1]  # |any partial sum| <= bound
    if bound < 1 << 53:
        return np.rint(xa.astype(np.float64) @ wa.astype(np.float64)).astype(np.int64)
    if bound < 1 << 63:
        return xa.astype(np.int64) @ wa.astype(np.int64)
    return np.asarray(xa, dtype=object) @ np.asarray(wa, dtype=object)


def to_unsigned(x: np.ndarray | int, bits: int) -> np.ndarray:
    """Two's complement bit pattern of ``x`` in ``bits`` bits, as non-negative integers.

    >>> to_unsigned(np.array([-1, 3]), 4).tolist()
    [15, 3]
    """
    return wrap(x, bits, signed=False)


# ---------------------------------------------------------------------------------------
# word packing
# ---------------------------------------------------------------------------------------


def pack_words(values: np.ndarray, elem_bits: int, elems_per_word: int) -> list[int]:
    """Pack a flat sequence of integers into stream words, element 0 in the LSBs.

    The length must be a multiple of ``elems_per_word``. Signed values are stored as two's
    complement; values must fit ``elem_bits`` (as signed or unsigned).

    >>> [hex(w) for w in pack_words(np.array([1, 2, 3, -1]), 4, 2)]
    ['0x21', '0xf3']
    """
    flat = np.asarray(values).reshape(-1)
    if flat.size % elems_per_word:
        raise ValueError(f"{flat.size} values do not fill words of {elems_per_word} elements")
    lo, hi = -(1 << (elem_bits - 1)), (1 << elem_bits) - 1
    if flat.size and (int(flat.min()) < lo or int(flat.max()) > hi):
        raise ValueError(f"values outside what {elem_bits} bits can hold")
    mask = (1 << elem_bits) - 1
    if elem_bits > 62 or flat.dtype == object:  # beyond int64 fields: Python integers
        words = []
        for i in range(0, flat.size, elems_per_word):
            w = 0
            for j in range(elems_per_word):
                w |= (int(flat[i + j]) & mask) << (j * elem_bits)
            words.append(w)
        return words
    return _pack_fields(flat.astype(np.int64) & mask, elem_bits, elems_per_word)


def _pack_fields(fields: np.ndarray, bits: int, per_word: int) -> list[int]:
    """Words of ``per_word`` non-negative ``bits``-bit fields each (element 0 in the LSBs):
    the fields of each 64-bit chunk OR-ed in numpy, then the chunks of a word joined (one
    chunk for the usual word of 64 bits or fewer: no Python per element)."""
    rows = fields.reshape(-1, per_word).astype(np.uint64)
    k = 64 // bits  # fields per chunk
    chunks = []
    for c in range(0, per_word, k):
        part = rows[:, c:c + k]
        shifts = np.arange(part.shape[1], dtype=np.uint64) * np.uint64(bits)
        chunks.append(np.bitwise_or.reduce(part << shifts, axis=1))
    if len(chunks) == 1:
        return [int(w) for w in chunks[0].tolist()]
    words = np.zeros(len(rows), dtype=object)
    for i, chunk in enumerate(chunks):
        words |= chunk.astype(object) << (i * k * bits)
    return [int(w) for w in words.tolist()]


def unpack_words(
    words: list[int] | np.ndarray, elem_bits: int, elems_per_word: int, signed: bool
) -> np.ndarray:
    """Inverse of :func:`pack_words`: a flat int64 array of all elements, in order.

    Bits above ``elems_per_word * elem_bits`` (padding) are ignored.

    >>> unpack_words([0x21, 0xF3], 4, 2, signed=True).tolist()
    [1, 2, 3, -1]
    >>> unpack_words([0x1F3], 4, 2, signed=False).tolist()
    [3, 15]
    """
    mask = (1 << elem_bits) - 1
    out = [(int(w) >> (j * elem_bits)) & mask for w in words for j in range(elems_per_word)]
    return wrap(np.array(out, dtype=object), elem_bits, signed) if out else np.zeros(0, np.int64)


# ---------------------------------------------------------------------------------------
# memory files
# ---------------------------------------------------------------------------------------


def _write_hex_lines(words: list[int], width_bits: int, path: str | Path) -> Path:
    digits = max(1, (width_bits + 3) // 4)
    p = Path(path)
    p.write_text("".join(f"{w:0{digits}x}\n" for w in words))
    return p


def weight_mem_words(w: np.ndarray, pe: int, simd: int, w_bits: int,
                     signed: bool = True) -> list[int]:
    """Words of the cs_mvau weight ROM for a FINN weight matrix ``w`` of shape (MW, MH).

    Word ``nf*SF + sf`` holds the weight of output row ``r = nf*PE + p`` and input column
    ``c = sf*SIMD + s`` at bit offset ``(p*SIMD + s)*w_bits`` (two's complement; unsigned
    codes where ``signed`` is False, e.g. the 0/1 weights of an XNOR MVAU).

    >>> w = np.array([[1, 2], [3, -1]])  # MW=2 inputs, MH=2 outputs
    >>> [hex(x) for x in weight_mem_words(w, pe=2, simd=1, w_bits=4)]
    ['0x21', '0xf3']
    >>> [hex(x) for x in weight_mem_words(np.array([[1, 0], [1, 1]]), 2, 2, 1, signed=False)]
    ['0xb']
    """
    w = np.asarray(w)
    mw, mh = w.shape
    if mw % simd or mh % pe:
        raise ValueError(f"MW={mw} not divisible by SIMD={simd} or MH={mh} by PE={pe}")
    lo, hi = value_range(w_bits, signed)
    if w.size and (int(w.min()) < lo or int(w.max()) > hi):
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"weights outside the {kind} {w_bits}-bit range [{lo}, {hi}]")
    sf, nf = mw // simd, mh // pe
    words = []
    for n in range(nf):
        for f in range(sf):
            # block[p, s] = w[c = f*SIMD + s, r = n*PE + p]
            block = w[f * simd : (f + 1) * simd, n * pe : (n + 1) * pe].T
            words += pack_words(block.reshape(-1), w_bits, pe * simd)
    return words


def write_weight_mem(w: np.ndarray, pe: int, simd: int, w_bits: int, path: str | Path,
                     signed: bool = True) -> Path:
    """Write the cs_mvau ``WEIGHT_FILE`` for weights ``w`` (MW x MH, as FINN stores them).

    One hex line per word (see :func:`weight_mem_words`), ``NF*SF`` lines.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> p = write_weight_mem(np.array([[1, 2], [3, -1]]), 2, 1, 4, os.path.join(d, "w.mem"))
    >>> p.read_text().split()
    ['21', 'f3']
    """
    words = weight_mem_words(w, pe, simd, w_bits, signed)
    return _write_hex_lines(words, pe * simd * w_bits, path)


def clip_thresholds(thr: np.ndarray, data_bits: int, data_signed: bool) -> np.ndarray:
    """Clip thresholds into ``[min, max + 1]`` of the compared data type.

    This does not change ``count(x >= t)`` for any representable ``x`` and makes every
    threshold fit a ``data_bits + 1``-bit word of the data's signedness (the kernels'
    default THR_BITS).

    >>> clip_thresholds(np.array([-5, 3, 99]), 4, False).tolist()
    [0, 3, 16]
    """
    lo, hi = value_range(data_bits, data_signed)
    return np.clip(np.asarray(thr, dtype=np.int64), lo, hi + 1)


def threshold_bits(thr: np.ndarray, data_bits: int, data_signed: bool) -> int:
    """Width of the threshold ROM words (THR_BITS): the narrowest type of the data's
    signedness that holds every threshold strictly inside its range (above its minimum
    when signed, below its maximum), at most ``data_bits + 1``.

    FINN stores thresholds in the smallest type that holds them, too. The kernels compare
    at this width: they saturate the data into ``[min, max - 1]`` of the type, which keeps
    ``x >= t`` for every such threshold and keeps the padding (the type's maximum) from
    firing; at ``data_bits + 1`` (clipped thresholds always fit) that is no change at all.
    A 32-bit accumulator compared with thresholds of 16-bit range then searches at 17
    bits, not 33.

    >>> threshold_bits(np.array([[0, 3, 9]]), 16, False)  # 0..15 holds 9 below its max
    4
    >>> threshold_bits(np.array([[-3, 2]]), 16, True)  # -4..3
    3
    >>> threshold_bits(np.array([[-128, 128]]), 8, True)  # clipped to the data range: 9 bits
    9
    """
    thr = np.asarray(thr, dtype=np.int64)
    cap = data_bits + 1
    if thr.size == 0:
        return cap
    lo, hi = int(thr.min()), int(thr.max())
    for bits in range(1 if not data_signed else 2, cap):
        t_lo, t_hi = value_range(bits, data_signed)
        if (not data_signed or t_lo < lo) and hi < t_hi:
            return bits
    return cap


def thresh_stages(n_thres: int) -> int:
    """Binary-search stages of the threshold kernels for ``n_thres`` thresholds per channel:
    the bits of the count, ``$clog2(N_THRES + 1)``.

    >>> [thresh_stages(n) for n in (1, 2, 3, 4, 7, 15, 255)]
    [1, 2, 2, 3, 3, 4, 8]
    """
    if not 1 <= n_thres <= 0xFFFF:
        raise ValueError(f"N_THRES={n_thres} outside 1..65535 (at most 16 search stages)")
    return n_thres.bit_length()


def thresh_mem_name(base: str, stage: int, lane: int) -> str:
    """File name of search stage ``stage``, PE lane ``lane`` for a ``THRESH_FILE`` base
    name: the kernel's ``{THRESH_FILE, "_s", h, "_p", llll, ".mem"}`` with ``h`` one and
    ``llll`` four lower-case hex digits.

    >>> thresh_mem_name("thresholds", 0, 0), thresh_mem_name("t", 11, 26)
    ('thresholds_s0_p0000.mem', 't_sb_p001a.mem')
    """
    if not (0 <= stage <= 0xF and 0 <= lane <= 0xFFFF):
        raise ValueError(f"stage {stage} or lane {lane} outside 0..15 / 0..65535")
    return f"{base}_s{stage:x}_p{lane:04x}.mem"


def thresh_mem_words(
    thr: np.ndarray, pe: int, thr_bits: int, signed: bool = True
) -> list[list[list[int]]]:
    """Words of the search-stage ROMs (cs_thresh_search) for thresholds ``thr`` of shape
    (channels, N_THRES): ``words[s][p]`` is the ROM of stage ``s``, PE lane ``p``. Each
    channel's thresholds are sorted first (the search needs them ascending; the count
    does not depend on their order).

    With ``B = thresh_stages(N_THRES)`` the thresholds are padded to ``2**B - 1`` with the
    largest value of the ``thr_bits`` type, which the kernel's saturated data never reaches
    (every threshold lies strictly inside the type, see :func:`threshold_bits`). Stage ``s``
    (``k = B-1-s``) has ``NF*2**s`` words of ``thr_bits`` per lane: word ``nf*2**s + j``
    of lane ``p`` holds threshold ``j*2**(k+1) + 2**k - 1`` of channel ``nf*PE + p``
    (two's complement bits when ``signed``). ``signed`` must match the compared data (the
    accumulator for cs_mvau, the input for cs_thresholding). A single row (shape
    (1, N_THRES)) is not broadcast here: give one row per channel.

    >>> thr = np.array([[1, 5, 8], [-2, 0, 3]])  # 2 channels, 3 thresholds: B = 2
    >>> [[[hex(w) for w in lane] for lane in st] for st in thresh_mem_words(thr, 2, 5)]
    [[['0x5'], ['0x0']], [['0x1', '0x8'], ['0x1e', '0x3']]]
    >>> # stage 0: thr[1] of each lane (5; 0); stage 1: thr[0], thr[2] (1, 8; -2, 3)
    """
    thr = np.asarray(thr, dtype=np.int64)
    ch, n_thres = thr.shape
    if ch % pe:
        raise ValueError(f"{ch} channels not divisible by PE={pe}")
    lo, hi = value_range(thr_bits, signed)
    lo, hi = (lo + 1 if signed else lo), hi - 1  # strictly inside (see threshold_bits)
    if thr.size and (int(thr.min()) < lo or int(thr.max()) > hi):
        raise ValueError(
            f"thresholds outside [{lo}, {hi}], the inside of the "
            f"{'signed' if signed else 'unsigned'} {thr_bits}-bit type; "
            "clip them with clip_thresholds() and size THR_BITS with threshold_bits()"
        )
    # the search needs ascending thresholds; count(x >= t) does not depend on their order
    thr = np.sort(thr, axis=1)
    b = thresh_stages(n_thres)
    pad = value_range(thr_bits, signed)[1]
    full = np.full((ch, (1 << b) - 1), pad, dtype=np.int64)
    full[:, :n_thres] = thr
    stages = []
    for s in range(b):
        k = b - 1 - s
        # candidates j = 0 .. 2**s - 1 of every channel, by lane: (PE, NF, 2**s)
        cand = full[:, (1 << k) - 1 :: 1 << (k + 1)].reshape(ch // pe, pe, -1).swapaxes(0, 1)
        # lane p, word nf*2**s + j
        stages.append([pack_words(lane.reshape(-1), thr_bits, 1) for lane in cand])
    return stages


def write_thresh_mem(
    thr: np.ndarray, pe: int, thr_bits: int, base: str | Path, signed: bool = True
) -> list[Path]:
    """Write the search-stage ROM files of a ``THRESH_FILE`` (cs_mvau / cs_thresholding)
    for ``thr`` (channels x N_THRES); ``signed`` as the compared data
    (ACC_SIGNED / IN_SIGNED).

    ``base`` is the kernel's ``THRESH_FILE`` value (with a folder here; the kernel gets the
    name a tool resolves); stage ``s``, lane ``p`` goes to ``thresh_mem_name(base, s, p)``,
    one hex line per word (see :func:`thresh_mem_words`). Returns the files, stage-major
    (stage 0 first), lane-minor.

    >>> import tempfile, os
    >>> d = tempfile.mkdtemp()
    >>> thr = np.array([[-1, 1], [0, 2]])  # 2 channels, padded with 15 (5-bit max) to [t0, t1, 15]
    >>> files = write_thresh_mem(thr, 2, 5, os.path.join(d, "t"))
    >>> [(f.name, f.read_text().split()) for f in files]  # doctest: +NORMALIZE_WHITESPACE
    [('t_s0_p0000.mem', ['01']), ('t_s0_p0001.mem', ['02']),
     ('t_s1_p0000.mem', ['1f', '0f']), ('t_s1_p0001.mem', ['00', '0f'])]
    """
    base = Path(base)
    out = []
    for s, lanes in enumerate(thresh_mem_words(thr, pe, thr_bits, signed)):
        for p, words in enumerate(lanes):
            path = base.with_name(thresh_mem_name(base.name, s, p))
            out.append(_write_hex_lines(words, thr_bits, path))
    return out
