"""StreamingFIFO: FINN's stream FIFO between two kernels. RTL: ``cs_fifo``."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    int_dtype,
    replace_params,
    stream_words,
)


@register
class Fifo(Kernel):
    name = "fifo"
    op_types = ("StreamingFIFO",)
    created_by = "FINN's InsertFIFO (lowering step insert_dwc_and_fifos), on every stream"
    rtl_module = "cs_fifo"
    moves_words = True
    sized_by_simulation = True
    peak_signal = "peak"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        bits, signed = int_dtype(inst, "dataType")
        shape = inst.get_folded_output_shape(0)
        fmt = StreamFormat(bits, int(shape[-1]), signed)
        words = stream_words(shape)
        return self.instance(
            node,
            params={"WIDTH": fmt.tdata_bits, "DEPTH": max(2, inst.get_nodeattr("depth"))},
            inputs=(fmt,), outputs=(fmt,), words_in=(words,), words_out=(words,),
            est_cycles=self.cycles(node),
        )

    def cycles(self, node: Any) -> int:
        """A word a cycle (FINN's generic StreamingFIFO does not model its cycles)."""
        return stream_words(getCustomOp(node).get_folded_output_shape(0))

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        return tuple(inputs)

    def with_input_format(self, k: KernelInstance, port: int, fmt: StreamFormat) -> KernelInstance:
        return dataclasses.replace(replace_params(k, WIDTH=fmt.tdata_bits), inputs=(fmt,),
                                   outputs=(fmt,))

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::fifo`` (hls/cs_fifo.hpp): a pass-through whose output stream the top
        declares DEPTH deep (``HlsCall.depth``), where Vitis HLS builds the FIFO."""
        width, depth = int(k.params["WIDTH"]), int(k.params["DEPTH"])
        return HlsCall("cs_fifo.hpp", "cs::fifo", (width, depth, k.words_in[0]), depth=depth)

    def with_depth(self, k: KernelInstance, depth: int) -> KernelInstance:
        return replace_params(k, DEPTH=max(2, depth))
