"""LabelSelect: FINN's top-K over the class scores (ONNX TopK). RTL: ``cs_label_select``."""

from __future__ import annotations

import dataclasses
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
    stream_words,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering


def label_select(x: np.ndarray, k: int) -> IntArray:
    """Indices of the ``k`` largest values per row, largest first; ties go to the lowest
    index first (what FINN's LabelSelect execution gets from ONNX TopK, whose spec says
    equal elements keep index order).

    >>> label_select(np.array([[3, 7, 7, 1, 7]]), 3).tolist()
    [[1, 2, 4]]
    """
    x = np.asarray(x, dtype=np.int64)
    # stable sort on the negated values keeps index order among equal values
    return np.argsort(-x, axis=-1, kind="stable")[..., :k].astype(np.int64)


def _infer_label_select() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.label_select import InferLabelSelectLayer

    return [InferLabelSelectLayer()]


@register
class LabelSelect(Kernel):
    name = "label_select"
    lowerings = (
        Lowering(
            "InferLabelSelectLayer", _infer_label_select, guard=("TopK",),
            after=("InferVectorVectorActivation",),  # FINN's builder order
            lowers=(LoweredOp("TopK", "LabelSelect (integer input)", on_host=True),),
        ),
    )
    op_types = ("LabelSelect",)
    rtl_module = "cs_label_select"
    fold = (("PE", "Labels"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        in_bits, in_signed = int_dtype(inst, "inputDataType")
        out_bits, _ = int_dtype(inst, "outputDataType")
        pe, k = inst.get_nodeattr("PE"), inst.get_nodeattr("K")
        return self.instance(
            node,
            params={"N_LABELS": inst.get_nodeattr("Labels"), "PE": pe, "K": k,
                    "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "OUT_BITS": out_bits},
            inputs=(StreamFormat(in_bits, pe, in_signed),),
            outputs=(StreamFormat(out_bits, 1, False),),
            words_in=(stream_words(inst.get_folded_input_shape(0)),), words_out=(k,),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        n = int(k.params["N_LABELS"])
        y = label_select(x.reshape(-1, n), int(k.params["K"]))
        return (y.reshape(len(x), -1),)

    def with_input_format(self, k: KernelInstance, port: int, fmt: StreamFormat) -> KernelInstance:
        """Scores of any width and signedness rank the same: a wider producer (the
        32-bit-accumulator twin of an MVAU without activation) widens the compared
        values."""
        if fmt.elems != k.inp.elems:
            return super().with_input_format(k, port, fmt)
        params = {**k.params, "IN_BITS": fmt.elem_bits, "IN_SIGNED": int(fmt.signed)}
        return dataclasses.replace(k, params=params, inputs=(fmt,))

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::label_select`` of hls/cs_label_select.hpp."""
        return HlsCall("cs_label_select.hpp", "cs::label_select", tuple(
            int(k.params[n]) for n in ("N_LABELS", "PE", "K", "IN_BITS", "IN_SIGNED", "OUT_BITS")
        ))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        return {"channels": getCustomOp(node).get_nodeattr("Labels")}
