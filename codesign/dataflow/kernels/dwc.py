"""StreamingDataWidthConverter: FINN's stream width converter. RTL: ``cs_dwc``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.backends.words import pack_words, unpack_words
from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    int_dtype,
    stream_words,
)


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


@register
class Dwc(Kernel):
    name = "dwc"
    op_types = ("StreamingDataWidthConverter",)
    created_by = (
        "FINN's InsertDWC (lowering step insert_dwc_and_fifos), where producer and consumer "
        "stream widths differ"
    )
    rtl_module = "cs_dwc"
    moves_words = True

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        bits, signed = int_dtype(inst, "dataType")
        in_elems = inst.get_nodeattr("inWidth") // bits
        out_elems = inst.get_nodeattr("outWidth") // bits
        return self.instance(
            node,
            params={"IN_ELEMS": in_elems, "OUT_ELEMS": out_elems, "ELEM_BITS": bits},
            inputs=(StreamFormat(bits, in_elems, signed),),
            outputs=(StreamFormat(bits, out_elems, signed),),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        return tuple(inputs)  # the same values, regrouped into other words

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::dwc`` of hls/cs_dwc.hpp (one frame: words in and out per call)."""
        p = k.params
        return HlsCall("cs_dwc.hpp", "cs::dwc", (
            int(p["IN_ELEMS"]), int(p["OUT_ELEMS"]), int(p["ELEM_BITS"]), k.words_in[0],
            k.words_out[0],
        ))
