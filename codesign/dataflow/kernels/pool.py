"""Pool (Function MaxPool or QuantAvgPool): FINN's pooling behind a depthwise sliding
window, which is what finn-plus 1.6.1's ``InferPool`` makes of a MaxPool and of Brevitas'
QuantAvgPool2d (an Im2Col with depthwise=1, turned into a ConvolutionInputGenerator,
followed by ``Pool``; there is no StreamingMaxPool any more).

Its input stream is the depthwise SWG's (C/PE, kh*kw, PE) per output pixel, so every
kh*kw consecutive words reduce, lane by lane, to one output word; the output is NHWC.
One kernel per FINN op type: this one reads every Pool node and picks the RTL module by
``Function`` -- ``cs_maxpool`` (the maximum) or ``cs_avgpool`` (the sum shifted right);
both take one input word per cycle, FINN's estimate exactly. Its registry name stays
``maxpool``, which the flow's results and tests already use.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    int_dtype,
    refuse_unknown_params,
    stream_words,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.errors import LoweringError


def max_pool_stream(x: np.ndarray, k2: int, pe: int) -> IntArray:
    """Lane-wise maximum over each run of ``k2`` words of ``pe`` elements: frames ``x``
    (frames, values) in the depthwise SWG's stream order, one row per frame out.

    >>> max_pool_stream(np.array([[1, 9, 4, 2, 3, 3, 0, 5]]), 2, 2).tolist()
    [[4, 9, 3, 5]]
    """
    x = np.asarray(x, dtype=np.int64)
    return x.reshape(len(x), -1, k2, pe).max(axis=2).reshape(len(x), -1)


def avg_pool_stream(x: np.ndarray, k2: int, pe: int, shift: int) -> IntArray:
    """FINN's QuantAvgPool in the depthwise SWG's stream order: the lane-wise sum over
    each run of ``k2`` words, shifted right by ``shift`` (floor, as numpy's right_shift).

    >>> avg_pool_stream(np.array([[1, 9, 4, -2, 3, 3, 0, 5]]), 2, 2, 1).tolist()
    [[2, 3, 1, 4]]
    """
    x = np.asarray(x, dtype=np.int64)
    return np.right_shift(x.reshape(len(x), -1, k2, pe).sum(axis=2), shift).reshape(len(x), -1)


def quant_avg_shift(in_bits: int, out_bits: int, k2: int) -> int:
    """The right shift of FINN's Pool.execute_node (and QuantAvgPool2d's ``get_shifts``):
    the bits of an unsigned ``in_bits`` window sum less ``out_bits``, at least 0.

    >>> quant_avg_shift(4, 4, 4), quant_avg_shift(8, 3, 9), quant_avg_shift(2, 8, 1)
    (2, 9, 0)
    """
    return max(((2**in_bits - 1) * k2).bit_length() - out_bits, 0)


#: The C++ kernels' first template parameters in declaration order (then the words).
_HLS_PARAMS = {
    "cs_maxpool": ("PE", "K2", "ELEM_BITS", "SIGNED"),
    "cs_avgpool": ("PE", "K2", "ELEM_BITS", "SIGNED", "SHIFT", "OUT_BITS"),
}


def _infer_pool() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.pool import InferPool

    return [InferPool()]


def _avg_params(node: Any, inst: Any, k2: int, bits: int, signed: bool) -> dict[str, int]:
    """cs_avgpool's SHIFT and OUT_BITS; refuse a node whose ``Size`` (the shift FINN's HLS
    kernel takes) differs from its execute_node's, or whose shifted sums leave
    OutputDataType (FINN's Python would give values the output stream cannot hold)."""
    out_bits, out_signed = int_dtype(inst, "OutputDataType")
    idt = DataType[inst.get_nodeattr("InputDataType")]
    odt = DataType[inst.get_nodeattr("OutputDataType")]
    shift = quant_avg_shift(bits, out_bits, k2)
    size = int(inst.get_nodeattr("Size"))
    if size != shift:
        raise LoweringError(
            f"node {node.name} (Pool): Size={size} but the shift of InputDataType="
            f"{idt.name}, OutputDataType={odt.name} over {k2} window elements is {shift}; "
            "accepted: Size equal to that shift"
        )
    lo, hi = (int(k2 * idt.min()) >> shift), (int(k2 * idt.max()) >> shift)
    if out_signed != signed or lo < odt.min() or hi > odt.max():
        raise LoweringError(
            f"node {node.name} (Pool): QuantAvgPool sums of {k2} {idt.name} values shifted "
            f"right by {shift} span {lo}..{hi}, outside OutputDataType={odt.name}; accepted: "
            "an OutputDataType of the input's signedness holding that range"
        )
    return {"SHIFT": shift, "OUT_BITS": out_bits}


@register
class Pool(Kernel):
    name = "maxpool"
    op_types = ("Pool",)
    # a MaxPool or QuantAvgPool2d becomes an Im2Col (the window, lowered by the swg
    # kernel) + Pool
    lowerings = (
        Lowering(
            "InferPool", _infer_pool, guard=("MaxPool", "MaxPoolNHWC", "QuantAvgPool2d"),
            after=("InferThresholdingLayer",),  # FINN's builder order
            lowers=(LoweredOp("MaxPool", "ConvolutionInputGenerator + Pool (integer input)"),
                    LoweredOp("QuantAvgPool2d", "ConvolutionInputGenerator + Pool("
                              "QuantAvgPool) on cs_avgpool (integer input)")),
        ),
    )
    rtl_module = "cs_maxpool"
    fold = (("PE", "Channels"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        fxn = inst.get_nodeattr("Function")
        if fxn not in ("MaxPool", "QuantAvgPool"):
            raise LoweringError(
                f"node {node.name} (Pool): Function={fxn} is not supported; accepted: "
                "Function=MaxPool (cs_maxpool) or QuantAvgPool (cs_avgpool)"
            )
        if int(inst.get_nodeattr("BatchSize")) != 1:
            raise LoweringError(
                f"node {node.name} (Pool): BatchSize={inst.get_nodeattr('BatchSize')} is "
                "not supported; accepted: BatchSize=1 (one image per frame)"
            )
        pe = int(inst.get_nodeattr("PE"))
        k2 = int(np.prod(inst.get_nodeattr("KernelSize")))
        bits, signed = int_dtype(inst, "InputDataType")
        params = {"PE": pe, "K2": k2, "ELEM_BITS": bits, "SIGNED": int(signed)}
        out_bits = bits
        if fxn == "QuantAvgPool":
            params |= _avg_params(node, inst, k2, bits, signed)
            out_bits = params["OUT_BITS"]
        k = self.instance(
            node, params=params,
            inputs=(StreamFormat(bits, pe, signed),),
            outputs=(StreamFormat(out_bits, pe, signed),),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node),
        )
        # the average pool is its own RTL module (and C++ function) of this kernel
        return k if fxn == "MaxPool" else dataclasses.replace(k, module="cs_avgpool")

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        k2, pe = int(k.params["K2"]), int(k.params["PE"])
        if k.module == "cs_avgpool":
            return (avg_pool_stream(x, k2, pe, int(k.params["SHIFT"])),)
        return (max_pool_stream(x, k2, pe),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::maxpool`` of hls/cs_maxpool.hpp or ``cs::avgpool`` of hls/cs_avgpool.hpp
        (the instance's module): its RTL twin's parameters and the output words of a
        frame (one frame per call; the RTL kernels need no frame size)."""
        names = _HLS_PARAMS[k.module]
        function = k.module.removeprefix("cs_")
        refuse_unknown_params(k, names, f"hls/{k.module}.hpp")
        args = tuple(int(k.params[n]) for n in names)
        return HlsCall(f"{k.module}.hpp", f"cs::{function}", (*args, k.words_out[0]))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": int(inst.get_nodeattr("Channels")),
                "window": [int(v) for v in inst.get_nodeattr("KernelSize")],
                "function": inst.get_nodeattr("Function")}
