"""IntSoftmax: the integer softmax of codesign.attention over rows of integer scores (our
op, ``HWIntSoftmax`` in codesign's domain). RTL: ``cs_int_softmax``.

It lowers the graph-level ``IntSoftmax`` (:mod:`codesign.frontend.ops`) once streamlining
has moved its scales out (``in_scale`` and ``out_scale`` 1: it reads integer scores and
writes the unsigned ``out_bits`` codes); a softmax that still carries a scale is refused,
naming the node.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign import attention
from codesign.dataflow.kernels import DOMAIN, register
from codesign.dataflow.kernels._base import (
    HlsArray,
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    Memory,
    StreamFormat,
    int_dtype,
    stream_words,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering, ReplaceNodes
from codesign.errors import LoweringError

GRAPH_OP = "IntSoftmax"
"""The graph-level op (codesign.frontend.ops) this kernel lowers."""


def softmax_row_cycles(n: int, pe: int, recip_bits: int) -> int:
    """cs_int_softmax's cycles per row without stalls: the row stage's turn-around, one
    cycle per word to look up and sum, R + 1 division steps, one cycle per output word.

    >>> softmax_row_cycles(16, 2, 20)  # 1 + 8 + 21 + 8
    38
    """
    return 1 + n // pe + recip_bits + 1 + n // pe


class HWIntSoftmax(HWCustomOp):
    """Rows of ``N`` integer scores (``numInputVectors`` rows: queries x heads), ``PE``
    per word, to unsigned ``out_bits`` codes."""

    def get_nodeattr_types(self) -> dict[str, Any]:
        attrs: dict[str, Any] = super().get_nodeattr_types()
        attrs.update({
            "N": ("i", True, 1),
            "PE": ("i", True, 1),
            "numInputVectors": ("ints", False, [1]),
            "inputDataType": ("s", True, ""),
            "lut": ("ints", True, []),
            "out_bits": ("i", True, attention.OUT_BITS),
            "recip_bits": ("i", True, 0),
        })
        return attrs

    def _rows(self) -> int:
        return int(np.prod(self.get_nodeattr("numInputVectors")))

    def get_normal_input_shape(self, ind: int = 0) -> list[int]:
        return [*self.get_nodeattr("numInputVectors"), self.get_nodeattr("N")]

    def get_normal_output_shape(self, ind: int = 0) -> list[int]:
        return self.get_normal_input_shape()

    def get_folded_input_shape(self, ind: int = 0) -> list[int]:
        pe = self.get_nodeattr("PE")
        return [*self.get_nodeattr("numInputVectors"), self.get_nodeattr("N") // pe, pe]

    def get_folded_output_shape(self, ind: int = 0) -> list[int]:
        return self.get_folded_input_shape()

    def get_input_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr("inputDataType")]

    def get_output_datatype(self, ind: int = 0) -> DataType:
        return DataType[f"UINT{self.get_nodeattr('out_bits')}"]

    def get_instream_width(self, ind: int = 0) -> int:
        return int(self.get_nodeattr("PE") * self.get_input_datatype().bitwidth())

    def get_outstream_width(self, ind: int = 0) -> int:
        return int(self.get_nodeattr("PE") * self.get_nodeattr("out_bits"))

    def get_number_output_values(self) -> int:
        return int(np.prod(self.get_folded_output_shape()[:-1]))

    def get_exp_cycles(self) -> int:
        return self._rows() * softmax_row_cycles(
            self.get_nodeattr("N"), self.get_nodeattr("PE"), self.get_nodeattr("recip_bits"))

    def infer_node_datatype(self, model: ModelWrapper) -> None:
        """The scores' type is the input tensor's (a narrower producer narrows it)."""
        idt = model.get_tensor_datatype(self.onnx_node.input[0])
        self.set_nodeattr("inputDataType", idt.name)
        model.set_tensor_datatype(self.onnx_node.output[0], self.get_output_datatype())

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        s = np.rint(context[node.input[0]]).astype(np.int64)
        a = attention.int_softmax(s, self.get_nodeattr("lut"), self.get_nodeattr("out_bits"),
                                  self.get_nodeattr("recip_bits"))
        context[node.output[0]] = a.astype(np.float32)

    def verify_node(self) -> list[str]:
        return []

    def lut_estimate(self) -> int:
        """Per lane: the exponential ROM (one LUT6 per 64 words of a bit), the subtract,
        compare and the product; the divider once (a rough model, ours)."""
        ew = int(self.get_nodeattr("lut")[0]).bit_length()
        rom = ew * math.ceil(len(self.get_nodeattr("lut")) / 64)
        in_bits = self.get_input_datatype().bitwidth()
        lane = rom + 2 * in_bits + ew * (self.get_nodeattr("recip_bits") - ew + 2)
        return int(self.get_nodeattr("PE") * lane + 2 * self.get_nodeattr("recip_bits"))


class InferIntSoftmax(ReplaceNodes):
    """Graph-level IntSoftmax nodes of integer scores -> HWIntSoftmax (PE 1)."""

    def __init__(self) -> None:
        super().__init__((GRAPH_OP,), _hw_node)


def _hw_node(model: ModelWrapper, node: Any) -> Any:
    op = getCustomOp(node)
    scales = {a: float(op.get_nodeattr(a)) for a in ("in_scale", "out_scale")}
    dt = model.get_tensor_datatype(node.input[0])
    if any(v != 1.0 for v in scales.values()) or not dt.is_integer():
        raise LoweringError(
            f"node {node.name} (IntSoftmax) is not quantized: it reads {dt.name} scores with "
            f"in_scale={scales['in_scale']:g}, out_scale={scales['out_scale']:g}; the "
            "hardware softmax needs integer scores and no scales (the scales of the score "
            "operands moved into it, its output scale into the next thresholds)"
        )
    *rows, n = model.get_tensor_shape(node.input[0])
    return helper.make_node(
        "HWIntSoftmax", list(node.input), list(node.output), name=node.name, domain=DOMAIN,
        backend="fpgadataflow", N=n, PE=1, numInputVectors=rows, inputDataType=dt.name,
        lut=list(op.get_nodeattr("lut")), out_bits=op.get_nodeattr("out_bits"),
        recip_bits=op.get_nodeattr("recip_bits"),
    )


def _infer_int_softmax() -> list[Transformation]:
    return [InferIntSoftmax()]


@register
class IntSoftmax(Kernel):
    name = "int_softmax"
    role = "attention"
    op_types = ("HWIntSoftmax",)
    custom_ops = (HWIntSoftmax,)
    lowerings = (
        Lowering(
            "InferIntSoftmax", _infer_int_softmax, guard=(GRAPH_OP,),
            after=("InferElementwiseBinaryOperation",),
            lowers=(LoweredOp(GRAPH_OP, "HWIntSoftmax (integer scores, no scales)"),),
        ),
    )
    rtl_module = "cs_int_softmax"
    fold = (("PE", "N"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        in_bits, in_signed = int_dtype(inst, "inputDataType")
        lut = np.asarray(inst.get_nodeattr("lut"), dtype=np.int64)
        exp_bits = int(lut[0]).bit_length() - 1
        pe, out_bits = int(inst.get_nodeattr("PE")), int(inst.get_nodeattr("out_bits"))
        words = stream_words(inst.get_folded_input_shape(0))
        return self.instance(
            node,
            params={"N": int(inst.get_nodeattr("N")), "PE": pe, "IN_BITS": in_bits,
                    "IN_SIGNED": int(in_signed), "EXP_BITS": exp_bits, "OUT_BITS": out_bits,
                    "RECIP_BITS": int(inst.get_nodeattr("recip_bits")), "LUT_LEN": len(lut)},
            inputs=(StreamFormat(in_bits, pe, in_signed),),
            outputs=(StreamFormat(out_bits, pe, False),),
            words_in=(words,), words_out=(words,),
            est_cycles=int(inst.get_exp_cycles()),
            memories={"LUT_FILE": Memory("weights", lut.reshape(-1, 1), 1, 1, exp_bits + 1,
                                         False)},
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        n = int(k.params["N"])
        lut = k.memories["LUT_FILE"].values.reshape(-1)
        a = attention.int_softmax(x.reshape(len(x), -1, n), lut, int(k.params["OUT_BITS"]),
                                  int(k.params["RECIP_BITS"]))
        return (a.reshape(len(x), -1),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::int_softmax`` of hls/cs_int_softmax.hpp: one frame (its rows) per call,
        the exponential table as a const array."""
        p = {n: int(v) for n, v in k.params.items()}
        rows = k.words_in[0] * p["PE"] // p["N"]
        lut = k.memories["LUT_FILE"]
        args = (p["N"], rows, p["PE"], p["IN_BITS"], p["IN_SIGNED"], p["EXP_BITS"],
                p["OUT_BITS"], p["RECIP_BITS"], p["LUT_LEN"])
        return HlsCall("cs_int_softmax.hpp", "cs::int_softmax", args,
                       (HlsArray("lut", lut.bits, False, lut.values.reshape(-1)),))

    def estimate(self, node: Any, part: str) -> tuple[int, dict[str, float]]:
        inst = getCustomOp(node)
        return int(inst.get_exp_cycles()), {"LUT": float(inst.lut_estimate()),
                                            "BRAM_18K": 0.0, "URAM": 0.0, "DSP": 0.0}
