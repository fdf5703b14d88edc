"""Random kernel instances for the HLS kernel tests (tests/test_hls_kernels.py), built the
way the kernel modules' read() builds them from a FINN node."""

from __future__ import annotations

import numpy as np

from codesign.backends import words
from codesign.dataflow.kernels import KernelInstance, Memory, StreamFormat, kernel_named


def finn_acc_bits(w: np.ndarray, in_bits: int, in_signed: bool) -> tuple[int, bool]:
    """FINN MinimizeAccumulatorWidth: bits and signedness that hold every sum of these
    weights over every input."""
    lo, hi = words.value_range(in_bits, in_signed)
    vmax = np.where(w > 0, w * hi, w * lo).sum(axis=0).max()
    vmin = np.where(w > 0, w * lo, w * hi).sum(axis=0).min()
    if vmin >= 0:
        return max(1, int(np.ceil(np.log2(vmax + 1)))), False
    return int(np.ceil(np.log2(max(-vmin, 1 + vmax)))) + 1, True


def mvau(seed: int, mw: int, mh: int, pe: int, simd: int, in_bits: int, in_signed: bool,
         w_bits: int, *, vectors: int = 1, squeeze: int = 0, n_thres: int = 0,
         act_bias: int = 0, nonneg_w: bool = False) -> KernelInstance:
    """An MVAU instance with random weights (and thresholds over the accumulator range,
    a few beyond it, clipped as the reader clips them)."""
    rng = np.random.default_rng(seed)
    wlo, whi = words.value_range(w_bits, True)
    w = rng.integers(0 if nonneg_w else wlo, whi + 1, size=(mw, mh))
    acc_bits, acc_signed = finn_acc_bits(w, in_bits, in_signed)
    acc_bits -= squeeze
    memories = {"WEIGHT_FILE": Memory("weights", w, pe, simd, w_bits, True)}
    if n_thres:
        top = act_bias + n_thres
        out_bits = max(act_bias.bit_length(), top.bit_length()) + int(act_bias < 0)
        out_signed = act_bias < 0
        alo, ahi = words.value_range(acc_bits, acc_signed)
        mid, span = (alo + ahi) // 2, max(4, (ahi - alo) // 2)
        thr = rng.integers(mid - span, mid + span, size=(mh, n_thres))
        thr = words.clip_thresholds(thr, acc_bits, acc_signed)
        memories["THRESH_FILE"] = Memory("thresholds", thr, pe, 1, acc_bits + 1, acc_signed)
    else:
        out_bits, out_signed = acc_bits, acc_signed
    sf, nf = mw // simd, mh // pe
    return KernelInstance(
        node=f"mvau_{seed}", kind="mvau", op_type="MVAU", module="cs_mvau",
        params={"MW": mw, "MH": mh, "PE": pe, "SIMD": simd, "N_VECTORS": vectors,
                "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "W_BITS": w_bits,
                "ACC_BITS": acc_bits, "ACC_SIGNED": int(acc_signed), "OUT_BITS": out_bits,
                "N_THRES": n_thres, "THR_BITS": acc_bits + 1, "ACT_BIAS": act_bias},
        inputs=(StreamFormat(in_bits, simd, in_signed),),
        outputs=(StreamFormat(out_bits, pe, out_signed),),
        words_in=(vectors * sf,), words_out=(vectors * nf,), est_cycles=vectors * sf * nf,
        memories=memories, has_ovf=True,
    )


def random_inputs(k: KernelInstance, frames: int, seed: int) -> list[np.ndarray]:
    """Random values of every streamed input, (frames, values per frame) each."""
    rng = np.random.default_rng(seed)
    out = []
    for fmt, n in zip(k.inputs, k.words_in, strict=True):
        lo, hi = words.value_range(fmt.elem_bits, fmt.signed)
        out.append(rng.integers(lo, hi + 1, size=(frames, n * fmt.elems)))
    return out


def golden(k: KernelInstance, x: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    return kernel_named(k.kind).golden(k, x)


def divisor(rng: np.random.Generator, n: int) -> int:
    """A random divisor of ``n`` (a legal folding)."""
    return int(rng.choice([d for d in range(1, n + 1) if n % d == 0]))


def random_mvaus(seed: int, count: int) -> list[KernelInstance]:
    """``count`` MVAUs of random shape, folding, bit widths, activation and accumulator
    (FINN's minimal one, or squeezed so that it wraps)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        mw, mh = int(rng.integers(1, 25)), int(rng.integers(1, 17))
        in_signed = bool(rng.integers(2))
        n_thres = int(rng.choice([0, 1, 3, 7, 15, 255])) if i % 3 else 0
        out.append(mvau(
            seed * 100 + i, mw, mh, divisor(rng, mh), divisor(rng, mw),
            int(rng.integers(1, 9)), in_signed, int(rng.integers(2, 9)),
            vectors=int(rng.integers(1, 4)), squeeze=int(rng.integers(0, 4)) if i % 2 else 0,
            n_thres=n_thres, act_bias=int(rng.integers(-n_thres // 2 - 1, 2)) if n_thres else 0,
            nonneg_w=bool(rng.integers(2)) and not in_signed,
        ))
    return out


def thresholding(seed: int, c: int, pe: int, pixels: int, n_thres: int, in_bits: int,
                 in_signed: bool, act_bias: int = 0) -> KernelInstance:
    """A Thresholding instance, thresholds a little beyond the input range (clipped)."""
    rng = np.random.default_rng(seed)
    lo, hi = words.value_range(in_bits, in_signed)
    thr = words.clip_thresholds(rng.integers(lo - 2, hi + 3, size=(c, n_thres)), in_bits,
                                in_signed)
    top = act_bias + n_thres
    out_bits = max(act_bias.bit_length(), top.bit_length()) + int(act_bias < 0)
    return KernelInstance(
        node=f"thr_{seed}", kind="thresholding", op_type="Thresholding",
        module="cs_thresholding",
        params={"C": c, "PE": pe, "N_THRES": n_thres, "IN_BITS": in_bits,
                "IN_SIGNED": int(in_signed), "THR_BITS": in_bits + 1, "ACT_BIAS": act_bias,
                "OUT_BITS": out_bits},
        inputs=(StreamFormat(in_bits, pe, in_signed),),
        outputs=(StreamFormat(out_bits, pe, act_bias < 0),),
        words_in=(pixels * c // pe,), words_out=(pixels * c // pe,), est_cycles=pixels * c // pe,
        memories={"THRESH_FILE": Memory("thresholds", thr, pe, 1, in_bits + 1, in_signed)},
    )


def fifo(seed: int, bits: int, elems: int, words_: int, depth: int) -> KernelInstance:
    fmt = StreamFormat(bits, elems, bool(seed % 2))
    return KernelInstance(
        node=f"fifo_{seed}", kind="fifo", op_type="StreamingFIFO", module="cs_fifo",
        params={"WIDTH": fmt.tdata_bits, "DEPTH": depth}, inputs=(fmt,), outputs=(fmt,),
        words_in=(words_,), words_out=(words_,), est_cycles=words_,
    )


def dwc(seed: int, in_elems: int, out_elems: int, bits: int, groups: int) -> KernelInstance:
    """A width converter over ``groups`` times lcm(in, out) elements per frame."""
    lcm = in_elems * out_elems // int(np.gcd(in_elems, out_elems))
    n = groups * lcm
    signed = bool(seed % 2)
    return KernelInstance(
        node=f"dwc_{seed}", kind="dwc", op_type="StreamingDataWidthConverter", module="cs_dwc",
        params={"IN_ELEMS": in_elems, "OUT_ELEMS": out_elems, "ELEM_BITS": bits},
        inputs=(StreamFormat(bits, in_elems, signed),),
        outputs=(StreamFormat(bits, out_elems, signed),),
        words_in=(n // in_elems,), words_out=(n // out_elems,), est_cycles=n,
    )


def label_select(seed: int, n: int, pe: int, k: int, in_bits: int,
                 in_signed: bool) -> KernelInstance:
    out_bits = max(1, (n - 1).bit_length())  # FINN: smallest unsigned type holding N-1
    return KernelInstance(
        node=f"ls_{seed}", kind="label_select", op_type="LabelSelect", module="cs_label_select",
        params={"N_LABELS": n, "PE": pe, "K": k, "IN_BITS": in_bits,
                "IN_SIGNED": int(in_signed), "OUT_BITS": out_bits},
        inputs=(StreamFormat(in_bits, pe, in_signed),),
        outputs=(StreamFormat(out_bits, 1, False),),
        words_in=(n // pe,), words_out=(k,), est_cycles=n // pe,
    )
