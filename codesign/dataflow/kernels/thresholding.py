"""Thresholding: FINN's standalone MultiThreshold layer (``Thresholding``), and the
threshold semantics the MVAU and VVAU activations share.

RTL: ``cs_thresholding`` (PE channels per word, a pipelined binary search per lane,
``cs_thresh_search``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.backends.words import (
    clip_thresholds,
    threshold_bits,
    unpack_words,
    value_range,
)
from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsArray,
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    Memory,
    StreamFormat,
    ThresholdTensor,
    int_dtype,
    int_initializer,
    refuse_unknown_params,
    replace_params,
    stream_words,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.errors import LoweringError


def multithreshold(x: np.ndarray, thr: np.ndarray, act_bias: int = 0) -> IntArray:
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
) -> IntArray:
    """Bit-level model of cs_thresh_search: the pipelined binary search over the per-stage,
    per-lane ROM words of :func:`~codesign.backends.words.thresh_mem_words`
    (``rom_words[s][p]``; PE is the number of lanes), for ``x`` of shape (..., channels).

    ``x`` is first saturated into ``[min, max - 1]`` of the ``thr_bits`` type, as the
    kernel does; stage ``s`` (``k = B-1-s``) reads word ``nf*2**s + (r >> (k+1))`` of lane
    ``p``'s ROM and sets count bit ``k`` when ``x >= threshold``. Must equal
    :func:`multithreshold` (the padding never fires).

    >>> from codesign.backends.words import thresh_mem_words
    >>> thr = np.array([[-3, 0, 0, 5, 7], [1, 2, 3, 4, 8]])  # 4-bit signed data
    >>> x = np.array([[-4, 0], [0, 7], [7, 3], [5, -8]])
    >>> words = thresh_mem_words(thr, pe=1, thr_bits=5, signed=True)
    >>> thresh_search(x, words, 5, True, -1).tolist()
    [[-1, -1], [2, 3], [4, 2], [3, -1]]
    >>> (multithreshold(x, thr, -1) == thresh_search(x, words, 5, True, -1)).all()
    np.True_
    """
    lo, hi = value_range(thr_bits, signed)
    x = np.clip(np.asarray(x, dtype=np.int64), lo, hi - 1)
    b = len(rom_words)
    pe = len(rom_words[0])
    ch = x.shape[-1]
    flat = x.reshape(-1, ch)
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


def threshold_memory(
    model: ModelWrapper, node: Any, index: int, channels: int, pe: int, data_bits: int,
    data_signed: bool,
) -> Memory:
    """The threshold ROM of ``node`` (initializer ``index``), one row per channel (see
    :func:`threshold_rom`)."""
    thr = int_initializer(model, node.input[index], node.name)
    thr = np.broadcast_to(thr, (channels, thr.shape[-1])).copy()
    return threshold_rom(thr, pe, data_bits, data_signed)


def threshold_rom(thr: IntArray, pe: int, data_bits: int, data_signed: bool) -> Memory:
    """Thresholds (channels x N_THRES) compared with ``data_bits`` data, as a ROM: clipped
    to the data range (thresholds outside it never or always fire, and clipping them to
    [min, max + 1] keeps every comparison), in the narrowest word that holds them
    (:func:`~codesign.backends.words.threshold_bits`, the kernels' THR_BITS)."""
    thr = clip_thresholds(thr, data_bits, data_signed)
    return Memory("thresholds", thr, pe, 1, threshold_bits(thr, data_bits, data_signed),
                  data_signed)


def hls_thresholds(mem: Memory, name: str = "thresholds") -> HlsArray:
    """The thresholds of a ROM as the hls/ kernels take them: ``[NF][PE][N_THRES]``,
    entry ``[nf][p][t]`` threshold ``t`` of channel ``nf*PE + p``, with the compared data's
    signedness, every lane's thresholds side by side (partitioned: one compare per
    threshold and lane per cycle)."""
    ch, n = mem.values.shape
    tiles = mem.values.reshape(ch // mem.pe, mem.pe, n)
    return HlsArray(name, mem.bits, mem.signed, tiles,
                    partition=((2, "complete"), (3, "complete")))


def accumulator_thresholds(k: KernelInstance) -> HlsArray:
    """:func:`hls_thresholds` of an accumulating kernel's THRESH_FILE (MVAU, VVAU), whose
    C++ kernel compares them as THR_BITS-bit values of the accumulator's signedness: a ROM
    of another type is a named error rather than a silent reinterpretation."""
    p = k.params
    thr = k.memories["THRESH_FILE"]
    if thr.signed != bool(p["ACC_SIGNED"]) or thr.bits != int(p["THR_BITS"]):
        raise LoweringError(
            f"node {k.node}: thresholds are {thr.bits}-bit "
            f"{'signed' if thr.signed else 'unsigned'}, the accumulator compares "
            f"{p['THR_BITS']}-bit {'signed' if p['ACC_SIGNED'] else 'unsigned'}"
        )
    return hls_thresholds(thr)


#: cs::thresholding's template parameters but WORDS (the third), in declaration order.
_HLS_PARAMS = ("C", "PE", "IN_BITS", "IN_SIGNED", "N_THRES", "THR_BITS", "ACT_BIAS", "OUT_BITS")


def _infer_thresholding() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.thresholding import (
        InferThresholdingLayer,
    )

    return [InferThresholdingLayer()]


@register
class Thresholding(Kernel):
    name = "thresholding"
    op_types = ("Thresholding",)
    # after the MVAU/VVAU lowerings absorbed the thresholds that follow them: the rest
    # become standalone layers (and after LabelSelect, as in FINN's builder)
    lowerings = (
        Lowering(
            "InferThresholdingLayer", _infer_thresholding, guard=("MultiThreshold",),
            after=("InferQuantizedMatrixVectorActivation", "InferVectorVectorActivation",
                   "InferLabelSelectLayer"),
            lowers=(LoweredOp("MultiThreshold", "Thresholding (integer input), or absorbed "
                              "into the preceding MVAU/VVAU"),),
        ),
    )
    rtl_module = "cs_thresholding"
    fold = (("PE", "NumChannels"),)

    def thresholds(self, model: ModelWrapper, node: Any) -> ThresholdTensor | None:
        return ThresholdTensor(node.input[1], model.get_tensor_datatype(node.input[0]),
                               "weightDataType")

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        c, pe = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("PE")
        in_bits, in_signed = int_dtype(inst, "inputDataType")
        out_bits, out_signed = int_dtype(inst, "outputDataType")
        mem = threshold_memory(model, node, 1, c, pe, in_bits, in_signed)
        return self.instance(
            node,
            params={
                "C": c, "PE": pe, "N_THRES": mem.values.shape[1], "IN_BITS": in_bits,
                "IN_SIGNED": int(in_signed), "THR_BITS": mem.bits,
                "ACT_BIAS": inst.get_nodeattr("ActVal"), "OUT_BITS": out_bits,
            },
            inputs=(StreamFormat(in_bits, pe, in_signed),),
            outputs=(StreamFormat(out_bits, pe, out_signed),),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node),
            memories={"THRESH_FILE": mem},
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        c = int(k.params["C"])
        y = multithreshold(x.reshape(-1, c), k.memories["THRESH_FILE"].values,
                           int(k.params["ACT_BIAS"]))
        return (y.reshape(len(x), -1),)

    def with_input_format(self, k: KernelInstance, port: int, fmt: StreamFormat) -> KernelInstance:
        """Wider input elements of the same signedness and lanes (an accumulator widened
        upstream, e.g. for the wide-accumulator twin): the kernel saturates them into its
        THR_BITS type, which holds every threshold, so every comparison is unchanged."""
        inp = k.inputs[port]
        if (fmt.tdata_bits == inp.tdata_bits or fmt.signed != inp.signed
                or fmt.elems != inp.elems or fmt.elem_bits < inp.elem_bits):
            return super().with_input_format(k, port, fmt)
        return dataclasses.replace(replace_params(k, IN_BITS=fmt.elem_bits), inputs=(fmt,))

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::thresholding`` of hls/cs_thresholding.hpp."""
        p = k.params
        refuse_unknown_params(k, _HLS_PARAMS, "hls/cs_thresholding.hpp")
        thr = k.memories["THRESH_FILE"]
        if thr.signed != bool(p["IN_SIGNED"]) or thr.bits != int(p["THR_BITS"]):
            raise LoweringError(
                f"node {k.node}: thresholds of {thr.bits} bits (signed={thr.signed}) do not "
                f"match the input's THR_BITS={p['THR_BITS']} (signed={bool(p['IN_SIGNED'])})"
            )
        args = [int(p[n]) for n in _HLS_PARAMS]
        args.insert(2, k.words_in[0])  # WORDS: one frame per call
        return HlsCall("cs_thresholding.hpp", "cs::thresholding", tuple(args),
                       (hls_thresholds(thr),))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": inst.get_nodeattr("NumChannels"),
                "n_thresholds": inst.get_nodeattr("numSteps")}
