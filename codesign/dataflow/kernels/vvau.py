"""VVAU: FINN's vector-vector-activation unit, the depthwise convolution behind a depthwise
sliding-window generator (one k*k window per channel, each channel its own kernel).

Stream order (FINN's depthwise ConvolutionInputGenerator with SIMD = the VVAU's PE, and
finn-rtllib's mvu_vvu_axi): per output pixel, for each channel fold ``nf``, for each kernel
position ``k`` (row-major over Kernel), the PE channels ``nf*PE + p`` -- element
``(nf*K2 + k)*PE + p`` of the pixel's ``K2*C`` values. Words of SIMD*PE consecutive
elements, so element ``s*PE + p`` of word ``nf*SF + sf`` is kernel position
``sf*SIMD + s`` of channel ``nf*PE + p``. The order depends on PE, not on SIMD.

RTL: ``cs_vvau`` (PE channels x SIMD window elements per cycle, ACC_BITS accumulators that
wrap, thresholds by binary search, a sticky overflow monitor), with the cs_mvau weight ROM
format for the (K2, C) weight matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign import bounds
from codesign.backends.words import value_range, wrap
from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsArray,
    HlsCall,
    IntArray,
    KernelInstance,
    Memory,
    StreamFormat,
    divisors,
    int_dtype,
    int_initializer,
    refuse_unknown_params,
    stream_words,
)
from codesign.dataflow.kernels._folding import check_divides
from codesign.dataflow.kernels._lowering import Lowering
from codesign.dataflow.kernels.mvau import Mvau, use_dsp, whole_frames
from codesign.dataflow.kernels.thresholding import (
    accumulator_thresholds,
    multithreshold,
    threshold_memory,
)
from codesign.errors import LoweringError


def windows(x: np.ndarray, k2: int, pe: int) -> np.ndarray:
    """Pixels in VVAU stream order, (pixels, K2*C), as (pixels, K2, C) windows.

    >>> windows(np.arange(8).reshape(1, 8), k2=2, pe=2)[0].tolist()  # C = 4, NF = 2
    [[0, 1, 4, 5], [2, 3, 6, 7]]
    """
    x = np.asarray(x)
    n = x.shape[0]
    nf = x.shape[1] // (k2 * pe)
    return x.reshape(n, nf, k2, pe).transpose(0, 2, 1, 3).reshape(n, k2, nf * pe)


def from_im2col(x: np.ndarray, k2: int, pe: int) -> IntArray:
    """Pixels in im2col order, (pixels, K2*C) with the kernel position major and the
    channel minor (FINN's Python execution of a ConvolutionInputGenerator, and its
    hardware output when SIMD = C), in VVAU stream order for ``pe`` (what the depthwise
    generator with SIMD = PE streams).

    >>> from_im2col(np.array([[0, 1, 4, 5, 2, 3, 6, 7]]), k2=2, pe=2).tolist()  # C = 4
    [[0, 1, 2, 3, 4, 5, 6, 7]]
    """
    x = np.asarray(x, dtype=np.int64)
    n = x.shape[0]
    nf = x.shape[1] // (k2 * pe)
    return x.reshape(n, k2, nf, pe).transpose(0, 2, 1, 3).reshape(n, -1)


def vvau(
    x: np.ndarray,
    w: np.ndarray,
    pe: int,
    acc_bits: int,
    acc_signed: bool = True,
    thr: np.ndarray | None = None,
    act_bias: int = 0,
) -> IntArray:
    """Per channel ``c`` the dot product of its window with ``w[:, c]`` in an ``acc_bits``
    accumulator that wraps, then the optional MultiThreshold activation.

    ``x``: (pixels, K2*C) integers in VVAU stream order for ``pe`` (:func:`windows`);
    ``w``: (K2, C), FINN's (C, 1, k_h, k_w) weights as ``w.reshape(C, K2).T``.
    Returns (pixels, C), channels in order.

    >>> x = np.array([[100, 100, 1, 2]])  # K2 = 2, C = 2, PE = 1: channel 0 = [100, 100]
    >>> w = np.array([[1, 3], [1, -1]])
    >>> vvau(x, w, 1, acc_bits=16).tolist(), vvau(x, w, 1, acc_bits=8).tolist()
    ([[200, 1]], [[-56, 1]])
    >>> vvau(x, w, 1, acc_bits=16, thr=np.array([[0, 150], [0, 2]]), act_bias=-1).tolist()
    [[1, 0]]
    """
    win = windows(x, w.shape[0], pe).astype(object)
    exact = np.einsum("nkc,kc->nc", win, np.asarray(w, dtype=object))
    acc = wrap(exact, acc_bits, acc_signed)
    if thr is None:
        return acc
    return multithreshold(acc, thr, act_bias)


def vvau_overflows(x: np.ndarray, w: np.ndarray, pe: int, simd: int, acc_bits: int,
                   acc_signed: bool = True) -> bool:
    """Whether the cs_vvau overflow monitor fires: some partial sum of some channel, taken
    after each SIMD fold (kernel positions ``0 .. (sf+1)*SIMD-1``), falls outside the
    ``acc_bits`` range.

    >>> x = np.array([[100, 100]]); w = np.array([[1], [1]])  # K2 = 2, C = 1
    >>> vvau_overflows(x, w, 1, 1, 8), vvau_overflows(x, w, 1, 1, 9)
    (True, False)
    >>> vvau_overflows(np.array([[100, -100]]), w, 1, 1, 8)  # ends in range, 100 passes
    False
    """
    win = windows(x, w.shape[0], pe).astype(object)
    w = np.asarray(w, dtype=object)
    lo, hi = value_range(acc_bits, acc_signed)
    for end in range(simd, w.shape[0] + 1, simd):
        part = np.einsum("nkc,kc->nc", win[:, :end], w[:end])
        if part.size and (part.min() < lo or part.max() > hi):
            return True
    return False


def probe_pixels(w: np.ndarray, pe: int, x_lo: int, x_hi: int) -> IntArray:
    """Two pixels in stream order: the first drives every channel's accumulator to its
    largest value, the second to its smallest (each channel has its own window, so one
    pixel reaches every channel's extreme at once).

    >>> probe_pixels(np.array([[1, -2], [3, 0]]), 2, 0, 15).tolist()  # PE = C = 2
    [[15, 0, 15, 0], [0, 15, 0, 15]]
    """
    lo_x, hi_x = bounds.extreme_inputs(w, x_lo, x_hi)  # (C, K2) each
    c, k2 = lo_x.shape

    def stream(win: IntArray) -> IntArray:  # (C, K2) -> stream order
        return win.reshape(c // pe, pe, k2).transpose(0, 2, 1).reshape(-1)

    return np.stack([stream(hi_x), stream(lo_x)])


def hls_weights(mem: Memory) -> HlsArray:
    """The (K2, C) weights as cs::vvau takes them: ``[NF*SF][PE][SIMD]``, entry
    ``[nf*SF + sf][p][s]`` the weight of channel ``nf*PE + p`` at kernel position
    ``sf*SIMD + s`` (the words of the cs_vvau weight ROM, unpacked), the PE x SIMD weights
    of one input word side by side.

    >>> w = np.arange(8).reshape(4, 2)  # K2 = 4, C = 2
    >>> hls_weights(Memory("weights", w, 2, 2, 4, True)).values.tolist()
    [[[0, 2], [1, 3]], [[4, 6], [5, 7]]]
    """
    k2, c = mem.values.shape
    pe, simd = mem.pe, mem.simd
    tiles = mem.values.reshape(k2 // simd, simd, c // pe, pe).transpose(2, 0, 3, 1)
    return HlsArray("weights", mem.bits, True, tiles.reshape(-1, pe, simd),
                    partition=((2, "complete"), (3, "complete")))


#: cs::vvau's template parameters in declaration order (cs::vvau_noact: the first 11),
#: both followed by USE_DSP.
_HLS_PARAMS = (
    "K2", "C", "PE", "SIMD", "N_PIXELS", "IN_BITS", "IN_SIGNED", "W_BITS", "ACC_BITS",
    "ACC_SIGNED", "OUT_BITS", "N_THRES", "THR_BITS", "ACT_BIAS",
)


def _infer_vvau() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.vector_vector_activation import (
        InferVectorVectorActivation,
    )

    return [InferVectorVectorActivation()]


@register
class Vvau(Mvau):
    """The VVAU shares the MVAU's accumulator and activation parameters (IN_BITS,
    ACC_BITS, ACC_SIGNED, THR_BITS, a WEIGHT_FILE of (fan_in, channels) weights, an
    optional THRESH_FILE), so accumulator() and with_acc_bits() are the MVAU's."""

    name = "vvau"
    op_types = ("VVAU",)
    # the depthwise MatMuls (sparse, from a depthwise Conv) the MVAU lowering left
    lowerings = (
        Lowering(
            "InferVectorVectorActivation", _infer_vvau, guard=("MatMul",),
            after=("InferQuantizedMatrixVectorActivation",),
        ),
    )
    rtl_module = "cs_vvau"
    # SIMD divides the product of the list attribute Kernel: see legal_folding
    fold = (("PE", "Channels"), ("SIMD", "Kernel"))

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        if inst.get_nodeattr("binaryXnorMode"):
            raise LoweringError(f"node {node.name}: binaryXnorMode VVAUs are not supported")
        self.check_folding(node)
        c, pe, simd = (int(inst.get_nodeattr(a)) for a in ("Channels", "PE", "SIMD"))
        k_h, k_w = inst.get_nodeattr("Kernel")
        dim_h, dim_w = inst.get_nodeattr("Dim")
        k2 = k_h * k_w
        in_bits, in_signed = int_dtype(inst, "inputDataType")
        w_bits, w_signed = int_dtype(inst, "weightDataType")
        if not w_signed:
            w_bits += 1  # the kernel's weights are signed: an unsigned type needs one more bit
        acc_bits, acc_signed = int_dtype(inst, "accDataType")
        out_bits, out_signed = int_dtype(inst, "outputDataType")
        raw = int_initializer(model, node.input[1], node.name)
        if raw.shape != (c, 1, k_h, k_w):
            raise LoweringError(
                f"node {node.name}: weights {node.input[1]} have shape {list(raw.shape)}; "
                f"a VVAU takes (Channels, 1, k_h, k_w) = {[c, 1, k_h, k_w]}"
            )
        weights = raw.reshape(c, k2).T  # (fan_in, channels), as the accumulator sees them
        memories = {"WEIGHT_FILE": Memory("weights", weights, pe, simd, w_bits, True)}
        n_thres, thr_bits = 0, acc_bits + 1
        if not inst.get_nodeattr("noActivation"):
            thr = threshold_memory(model, node, 2, c, pe, acc_bits, acc_signed)
            memories["THRESH_FILE"] = thr
            n_thres, thr_bits = thr.values.shape[1], thr.bits
        return self.instance(
            node,
            params={
                "K2": k2, "C": c, "PE": pe, "SIMD": simd, "N_PIXELS": dim_h * dim_w,
                "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "W_BITS": w_bits,
                "ACC_BITS": acc_bits, "ACC_SIGNED": int(acc_signed), "OUT_BITS": out_bits,
                "N_THRES": n_thres, "THR_BITS": thr_bits,
                "ACT_BIAS": inst.get_nodeattr("ActVal"), "USE_DSP": use_dsp(inst),
            },
            inputs=(StreamFormat(in_bits, simd * pe, in_signed),),
            outputs=(StreamFormat(out_bits, pe, out_signed),),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node), memories=memories, has_ovf=True,
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        p = k.params
        w = k.memories["WEIGHT_FILE"].values
        thr = k.memories["THRESH_FILE"].values if int(p["N_THRES"]) else None
        y = vvau(x.reshape(-1, int(p["K2"]) * int(p["C"])), w, int(p["PE"]),
                 int(p["ACC_BITS"]), bool(p["ACC_SIGNED"]), thr, int(p["ACT_BIAS"]))
        return (np.asarray(y, dtype=np.int64).reshape(len(x), -1),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::vvau`` (thresholds) or ``cs::vvau_noact`` of hls/cs_vvau.hpp (not the
        MVAU's: the VVAU's weights and input order are per channel)."""
        refuse_unknown_params(k, (*_HLS_PARAMS, "USE_DSP"), "hls/cs_vvau.hpp")
        p = {n: int(k.params[n]) for n in _HLS_PARAMS}
        place = int(k.params.get("USE_DSP", 1))  # cs::mac_lane's BIND_OP
        arrays = [hls_weights(k.memories["WEIGHT_FILE"])]
        if not p["N_THRES"]:
            return HlsCall("cs_vvau.hpp", "cs::vvau_noact",
                           (*(p[n] for n in _HLS_PARAMS[:11]), place), tuple(arrays))
        arrays.append(accumulator_thresholds(k))
        return HlsCall("cs_vvau.hpp", "cs::vvau", (*(p[n] for n in _HLS_PARAMS), place),
                       tuple(arrays))

    def folds(self, k: KernelInstance) -> tuple[int, int]:
        p = k.params
        return int(p["C"]) // int(p["PE"]), int(p["K2"]) // int(p["SIMD"])

    def overflow_probe(self, k: KernelInstance) -> IntArray:
        acc = self.accumulator(k)
        x_lo, x_hi = bounds.int_range(acc.in_bits, acc.in_signed)
        pixels = probe_pixels(acc.weights, int(k.params["PE"]), x_lo, x_hi)
        return whole_frames(pixels, int(k.params["N_PIXELS"]))

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        k_h, k_w = inst.get_nodeattr("Kernel")
        return {"PE": divisors(int(inst.get_nodeattr("Channels"))), "SIMD": divisors(k_h * k_w)}

    def check_folding(self, node: Any) -> None:
        inst = getCustomOp(node)
        k_h, k_w = inst.get_nodeattr("Kernel")
        check_divides(node, "PE", inst.get_nodeattr("PE"), "Channels",
                      inst.get_nodeattr("Channels"))
        check_divides(node, "SIMD", inst.get_nodeattr("SIMD"), "k_h*k_w", k_h * k_w)

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        k_h, k_w = inst.get_nodeattr("Kernel")
        no_act = bool(inst.get_nodeattr("noActivation"))
        thr = None if no_act else model.get_initializer(node.input[2])
        return {
            "window": [k_h, k_w], "fan_in": k_h * k_w,
            "channels": inst.get_nodeattr("Channels"),
            "weight_dtype": inst.get_nodeattr("weightDataType"),
            "acc_dtype": inst.get_nodeattr("accDataType"),
            "no_activation": no_act,
            "n_thresholds": None if thr is None else int(thr.shape[1]),
            "weight_count": int(model.get_initializer(node.input[1]).size),
            "mac_resource": self.mac_resource(node),
        }
