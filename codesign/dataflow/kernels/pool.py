"""Pool (Function MaxPool): FINN's pooling behind a depthwise sliding window, which is
what finn-plus 1.6.1's ``InferPool`` makes of a MaxPool (an Im2Col with depthwise=1,
turned into a ConvolutionInputGenerator, followed by ``Pool``; there is no
StreamingMaxPool any more).

Its input stream is the depthwise SWG's (C/PE, kh*kw, PE) per output pixel, so every
kh*kw consecutive words reduce, lane by lane, to one output word; the output is NHWC.
RTL: ``cs_maxpool`` (one input word per cycle, FINN's estimate exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
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


#: cs::maxpool's first template parameters in declaration order (then the output words).
_HLS_PARAMS = ("PE", "K2", "ELEM_BITS", "SIGNED")


def _infer_pool() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.pool import InferPool

    return [InferPool()]


@register
class MaxPool(Kernel):
    name = "maxpool"
    op_types = ("Pool",)
    # a MaxPool becomes an Im2Col (the window, lowered by the swg kernel) + Pool
    lowerings = (
        Lowering(
            "InferPool", _infer_pool, guard=("MaxPool", "MaxPoolNHWC"),
            after=("InferThresholdingLayer",),  # FINN's builder order
            lowers=(LoweredOp("MaxPool", "ConvolutionInputGenerator + Pool (integer input)"),),
        ),
    )
    rtl_module = "cs_maxpool"
    fold = (("PE", "Channels"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        fxn = inst.get_nodeattr("Function")
        if fxn != "MaxPool":
            raise LoweringError(
                f"node {node.name} (Pool): Function={fxn} is not supported by cs_maxpool; "
                "accepted: Function=MaxPool"
            )
        if int(inst.get_nodeattr("BatchSize")) != 1:
            raise LoweringError(
                f"node {node.name} (Pool): BatchSize={inst.get_nodeattr('BatchSize')} is "
                "not supported; accepted: BatchSize=1 (one image per frame)"
            )
        pe = int(inst.get_nodeattr("PE"))
        k2 = int(np.prod(inst.get_nodeattr("KernelSize")))
        bits, signed = int_dtype(inst, "InputDataType")
        fmt = StreamFormat(bits, pe, signed)
        return self.instance(
            node,
            params={"PE": pe, "K2": k2, "ELEM_BITS": bits, "SIGNED": int(signed)},
            inputs=(fmt,), outputs=(fmt,),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        return (max_pool_stream(x, int(k.params["K2"]), int(k.params["PE"])),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::maxpool`` of hls/cs_maxpool.hpp: cs_maxpool's parameters and the output
        words of a frame (one frame per call; the RTL kernel needs no frame size)."""
        refuse_unknown_params(k, _HLS_PARAMS, "hls/cs_maxpool.hpp")
        args = tuple(int(k.params[n]) for n in _HLS_PARAMS)
        return HlsCall("cs_maxpool.hpp", "cs::maxpool", (*args, k.words_out[0]))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": int(inst.get_nodeattr("Channels")),
                "window": [int(v) for v in inst.get_nodeattr("KernelSize")]}
