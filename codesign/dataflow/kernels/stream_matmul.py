"""StreamMatMul: a matrix product of two streamed operands per attention head, the scores
Q.K^T or the mix A.V (our op, ``HWStreamMatMul`` in codesign's domain). RTL:
``cs_stream_matmul``.

It lowers the graph-level ``AttentionScores`` and ``AttentionMix``
(:mod:`codesign.frontend.ops`) once their operands are integer tensors. The operand read
N times (K or V, input 1) is buffered whole; the other (input 0) streams as the rows of
an MVAU whose weights are that buffer. Its output type holds every sum of its operands'
data types (:func:`codesign.frontend.ops.int_type`), so the accumulator cannot overflow:
the overflow proof of an accumulator whose operands both stream is this data-type bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.backends.words import wrap
from codesign.dataflow.kernels import DOMAIN, register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    divisors,
    int_dtype,
)
from codesign.dataflow.kernels._folding import check_divides
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering, ReplaceNodes
from codesign.errors import LoweringError

MODES = {"AttentionScores": "scores", "AttentionMix": "mix"}
"""Graph-level op -> the mode of the HW op that computes it."""
EQUATIONS = {"scores": "fihc,fjhc->fihj", "mix": "fihj,fjhc->fihc"}
"""Per mode, the product over frames (f), rows (i), heads (h), tokens (j), features (c)."""


def stream_matmul(a: IntArray, b: IntArray, mode: str) -> IntArray:
    """The exact integer product of (frames, NQ, H, K) rows ``a`` and (frames, NK, H, DH)
    ``b`` in ``mode``.

    >>> q = np.array([[[[1, 2]], [[3, 4]]]])  # 2 queries, 1 head, 2 features
    >>> stream_matmul(q, q, "scores")[0, :, 0].tolist()
    [[5, 11], [11, 25]]
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    terms = a.shape[-1]
    bound = terms * int(np.abs(a).max(initial=0)) * int(np.abs(b).max(initial=0))
    # int64 sums are exact below 2^63; beyond, Python integers
    kind = np.int64 if bound < 2**62 else object
    return np.einsum(EQUATIONS[mode], a.astype(kind), b.astype(kind)).astype(np.int64)


class HWStreamMatMul(HWCustomOp):
    """``mode`` scores: (NQ, H, DH) x (NK, H, DH) -> (NQ, H, NK); mix: (NQ, H, NK) x
    (NK, H, DH) -> (NQ, H, DH). PE outputs and SIMD row elements per word, BPE elements
    per word of the buffered operand."""

    def get_nodeattr_types(self) -> dict[str, Any]:
        attrs: dict[str, Any] = super().get_nodeattr_types()
        attrs.update({
            "mode": ("s", True, "scores", {"scores", "mix"}),
            "NQ": ("i", True, 1), "H": ("i", True, 1), "NK": ("i", True, 1),
            "DH": ("i", True, 1),
            "PE": ("i", False, 1), "SIMD": ("i", False, 1), "BPE": ("i", False, 1),
            "aDataType": ("s", True, ""), "bDataType": ("s", True, ""),
            "outputDataType": ("s", True, ""),
        })
        return attrs

    def dims(self) -> tuple[int, int]:
        """(K, MH): the length of a row and the outputs per row."""
        nk, dh = self.get_nodeattr("NK"), self.get_nodeattr("DH")
        return (dh, nk) if self.get_nodeattr("mode") == "scores" else (nk, dh)

    def _rows(self) -> list[int]:
        return [1, self.get_nodeattr("NQ"), self.get_nodeattr("H")]

    def get_normal_input_shape(self, ind: int = 0) -> list[int]:
        if ind == 1:
            return [1, self.get_nodeattr("NK"), self.get_nodeattr("H"), self.get_nodeattr("DH")]
        return [*self._rows(), self.dims()[0]]

    def get_normal_output_shape(self, ind: int = 0) -> list[int]:
        return [*self._rows(), self.dims()[1]]

    def get_folded_input_shape(self, ind: int = 0) -> list[int]:
        if ind == 1:
            bpe = self.get_nodeattr("BPE")
            return [1, int(np.prod(self.get_normal_input_shape(1))) // bpe, bpe]
        simd = self.get_nodeattr("SIMD")
        return [*self._rows(), self.dims()[0] // simd, simd]

    def get_folded_output_shape(self, ind: int = 0) -> list[int]:
        pe = self.get_nodeattr("PE")
        return [*self._rows(), self.dims()[1] // pe, pe]

    def get_input_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr("bDataType" if ind == 1 else "aDataType")]

    def get_output_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr("outputDataType")]

    def get_instream_width(self, ind: int = 0) -> int:
        lanes = self.get_nodeattr("BPE" if ind == 1 else "SIMD")
        return int(lanes * self.get_input_datatype(ind).bitwidth())

    def get_outstream_width(self, ind: int = 0) -> int:
        return int(self.get_nodeattr("PE") * self.get_output_datatype().bitwidth())

    def get_number_output_values(self) -> int:
        return int(np.prod(self.get_folded_output_shape()[:-1]))

    def get_exp_cycles(self) -> int:
        """Loading the buffer, then MVAU-like rows: (MH/PE)(K/SIMD) cycles each."""
        k, mh = self.dims()
        load = int(np.prod(self.get_folded_input_shape(1)[:-1]))
        rows = self.get_nodeattr("NQ") * self.get_nodeattr("H")
        return load + rows * (mh // self.get_nodeattr("PE")) * (k // self.get_nodeattr("SIMD"))

    def infer_node_datatype(self, model: ModelWrapper) -> None:
        """The operand types are the input tensors' (a narrower producer narrows them; the
        output type, sized for the types at lowering, still holds every sum)."""
        for attr, name in zip(("aDataType", "bDataType"), self.onnx_node.input, strict=True):
            self.set_nodeattr(attr, model.get_tensor_datatype(name).name)
        model.set_tensor_datatype(self.onnx_node.output[0], self.get_output_datatype())

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        a, b = (np.rint(context[name]).astype(np.int64) for name in node.input)
        out = stream_matmul(a.reshape(self.get_normal_input_shape(0)),
                            b.reshape(self.get_normal_input_shape(1)), self.get_nodeattr("mode"))
        context[node.output[0]] = out.astype(np.float32)

    def verify_node(self) -> list[str]:
        return []


class InferStreamMatMul(ReplaceNodes):
    """Graph-level AttentionScores / AttentionMix of integer operands -> HWStreamMatMul
    (PE, SIMD, BPE 1)."""

    def __init__(self) -> None:
        super().__init__(tuple(MODES), _hw_node)


def _hw_node(model: ModelWrapper, node: Any) -> Any:
    types = [model.get_tensor_datatype(name) for name in node.input]
    if not all(t.is_integer() for t in types):
        raise LoweringError(
            f"node {node.name} ({node.op_type}) multiplies {types[0].name} by {types[1].name}; "
            "the hardware product needs integer operands (their scales moved behind it)"
        )
    _, nq, h, _ = model.get_tensor_shape(node.input[0])
    _, nk, _, dh = model.get_tensor_shape(node.input[1])
    return helper.make_node(
        "HWStreamMatMul", list(node.input), list(node.output), name=node.name, domain=DOMAIN,
        backend="fpgadataflow", mode=MODES[node.op_type], NQ=nq, H=h, NK=nk, DH=dh,
        aDataType=types[0].name, bDataType=types[1].name,
        outputDataType=model.get_tensor_datatype(node.output[0]).name,
    )


def _infer_stream_matmul() -> list[Transformation]:
    return [InferStreamMatMul()]


@register
class StreamMatMul(Kernel):
    name = "stream_matmul"
    role = "attention"
    op_types = ("HWStreamMatMul",)
    custom_ops = (HWStreamMatMul,)
    lowerings = (
        Lowering(
            "InferStreamMatMul", _infer_stream_matmul, guard=tuple(MODES),
            after=("InferElementwiseBinaryOperation",),
            lowers=tuple(LoweredOp(op, "HWStreamMatMul (two integer streams)")
                         for op in MODES),
        ),
    )
    frames_held = 1  # the buffered operand, whole, before the first product
    rtl_module = "cs_stream_matmul"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        p = {a: int(inst.get_nodeattr(a)) for a in ("NQ", "H", "NK", "DH", "PE", "SIMD", "BPE")}
        a_bits, a_signed = int_dtype(inst, "aDataType")
        b_bits, b_signed = int_dtype(inst, "bDataType")
        out_bits, out_signed = int_dtype(inst, "outputDataType")
        return self.instance(
            node,
            params={"NA": p["NQ"] * p["H"], "H": p["H"], "NK": p["NK"], "DH": p["DH"],
                    "MODE": int(inst.get_nodeattr("mode") == "mix"), "PE": p["PE"],
                    "SIMD": p["SIMD"], "BPE": p["BPE"], "A_BITS": a_bits,
                    "A_SIGNED": int(a_signed), "B_BITS": b_bits, "B_SIGNED": int(b_signed),
                    "ACC_BITS": out_bits, "OUT_SIGNED": int(out_signed)},
            inputs=(StreamFormat(a_bits, p["SIMD"], a_signed),
                    StreamFormat(b_bits, p["BPE"], b_signed)),
            outputs=(StreamFormat(out_bits, p["PE"], out_signed),),
            words_in=tuple(int(np.prod(inst.get_folded_input_shape(i)[:-1])) for i in (0, 1)),
            words_out=(inst.get_number_output_values(),),
            est_cycles=int(inst.get_exp_cycles()),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        a, b = inputs
        p = k.params
        nq, h, nk, dh = (int(p["NA"]) // int(p["H"]), int(p["H"]), int(p["NK"]), int(p["DH"]))
        mode = "mix" if p["MODE"] else "scores"
        rows = a.reshape(len(a), nq, h, -1)
        out = stream_matmul(rows, b.reshape(len(b), nk, h, dh), mode)
        return (wrap(out.reshape(len(a), -1), int(p["ACC_BITS"]), bool(p["OUT_SIGNED"])),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::stream_matmul`` of hls/cs_stream_matmul.hpp, one frame per call."""
        names = ("NA", "H", "NK", "DH", "MODE", "PE", "SIMD", "BPE", "A_BITS", "A_SIGNED",
                 "B_BITS", "B_SIGNED", "ACC_BITS")
        return HlsCall("cs_stream_matmul.hpp", "cs::stream_matmul",
                       tuple(int(k.params[n]) for n in names))

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        k, mh = inst.dims()
        size_b = int(np.prod(inst.get_normal_input_shape(1)))
        return {"PE": divisors(mh), "SIMD": divisors(k), "BPE": divisors(size_b)}

    def check_folding(self, node: Any) -> None:
        inst = getCustomOp(node)
        k, mh = inst.dims()
        size_b = int(np.prod(inst.get_normal_input_shape(1)))
        for attr, name, size in (("PE", "the outputs per row", mh),
                                 ("SIMD", "the row length", k),
                                 ("BPE", "the buffered operand's elements", size_b)):
            check_divides(node, attr, int(inst.get_nodeattr(attr)), name, size)

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("s0_axis", "s1_axis"), ("m_axis",)

    def estimate(self, node: Any, part: str) -> tuple[int, dict[str, float]]:
        """Cycles from the custom op; LUTs: the buffer as LUT-RAM-sized registers and
        PE x SIMD multipliers (a rough model, ours)."""
        inst = getCustomOp(node)
        b_bits = inst.get_input_datatype(1).bitwidth()
        buf = int(np.prod(inst.get_normal_input_shape(1))) * b_bits
        macs = inst.get_nodeattr("PE") * inst.get_nodeattr("SIMD")
        lut = buf // 2 + macs * inst.get_input_datatype(0).bitwidth() * b_bits
        return int(inst.get_exp_cycles()), {"LUT": float(lut), "BRAM_18K": 0.0, "URAM": 0.0,
                                            "DSP": 0.0}
