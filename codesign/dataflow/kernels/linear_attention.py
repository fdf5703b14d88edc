"""LinearAttention: ViTALiTy's first-order Taylor attention with token-centred keys (our
op, ``HWLinearAttention`` in codesign's domain). RTL: ``cs_linear_attention``.

One pass over the keys and values accumulates K^T.V, sum K and sum V per head; each query
then takes one dh x dh product with ``G = N K^T V - (sum K)(sum V)``
(:func:`codesign.attention.linear_attention`). It lowers the graph-level
``LinearAttention`` (:mod:`codesign.frontend.ops`) once streamlining has moved its scales
out; one that still carries a scale is refused, naming the node. Every internal value is
sized from the operands' data types (:func:`codesign.attention.linear_widths`), so
nothing can overflow whatever the three streams carry.
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

from codesign import attention
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

GRAPH_OP = "LinearAttention"
_OPERANDS = ("q", "k", "v")


def _magnitude(dt: DataType) -> int:
    return int(max(-dt.min(), dt.max()))


def linear_cycles(n: int, h: int, dh: int, simd: int, pe: int) -> int:
    """cs_linear_attention's cycles per frame without stalls: per key/value token its
    words, a turn and the accumulation; per query its words and the products.

    >>> linear_cycles(16, 2, 4, 8, 4)  # 16 * (2 + 1 + 16)
    304
    """
    return n * (2 * (h * dh) // simd + 1 + 2 * h * dh * dh // pe)


class HWLinearAttention(HWCustomOp):
    """(N, H*DH) queries, keys and values (inputs 0, 1, 2), SIMD elements per word, PE
    products per cycle; outputs one element a word."""

    def get_nodeattr_types(self) -> dict[str, Any]:
        attrs: dict[str, Any] = super().get_nodeattr_types()
        attrs.update({
            "N": ("i", True, 1), "H": ("i", True, 1), "DH": ("i", True, 1),
            "SIMD": ("i", False, 1), "PE": ("i", False, 1),
            "qDataType": ("s", True, ""), "kDataType": ("s", True, ""),
            "vDataType": ("s", True, ""), "outputDataType": ("s", True, ""),
            "mult": ("i", True, 0), "shift": ("i", True, 0),
            "frac": ("i", True, attention.FRAC_BITS),
        })
        return attrs

    def _d(self) -> int:
        return int(self.get_nodeattr("H") * self.get_nodeattr("DH"))

    def get_normal_input_shape(self, ind: int = 0) -> list[int]:
        return [1, self.get_nodeattr("N"), self._d()]

    def get_normal_output_shape(self, ind: int = 0) -> list[int]:
        return self.get_normal_input_shape()

    def get_folded_input_shape(self, ind: int = 0) -> list[int]:
        simd = self.get_nodeattr("SIMD")
        return [1, self.get_nodeattr("N"), self._d() // simd, simd]

    def get_folded_output_shape(self, ind: int = 0) -> list[int]:
        return [1, self.get_nodeattr("N"), self._d(), 1]

    def get_input_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr(f"{_OPERANDS[ind]}DataType")]

    def get_output_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr("outputDataType")]

    def get_instream_width(self, ind: int = 0) -> int:
        return int(self.get_nodeattr("SIMD") * self.get_input_datatype(ind).bitwidth())

    def get_outstream_width(self, ind: int = 0) -> int:
        return int(self.get_output_datatype().bitwidth())

    def get_number_output_values(self) -> int:
        return int(self.get_nodeattr("N") * self._d())

    def get_exp_cycles(self) -> int:
        return linear_cycles(*(int(self.get_nodeattr(a)) for a in ("N", "H", "DH", "SIMD", "PE")))

    def infer_node_datatype(self, model: ModelWrapper) -> None:
        """The operand types are the input tensors' (a narrower producer narrows them; the
        output type, sized for the types at lowering, still holds every value)."""
        for x, name in zip(_OPERANDS, self.onnx_node.input, strict=True):
            self.set_nodeattr(f"{x}DataType", model.get_tensor_datatype(name).name)
        model.set_tensor_datatype(self.onnx_node.output[0], self.get_output_datatype())

    def widths(self) -> attention.LinearWidths:
        q, k, v = ((int(t.min()), int(t.max()))
                   for t in (self.get_input_datatype(i) for i in range(3)))
        return attention.linear_widths(
            self.get_nodeattr("N"), self.get_nodeattr("DH"), q, k, v, self.get_nodeattr("mult"),
            self.get_nodeattr("shift"), self.get_nodeattr("frac"))

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        q, k, v = (np.rint(context[name]).astype(np.int64) for name in node.input)
        z = attention.linear_attention(q, k, v, self.get_nodeattr("H"), self.get_nodeattr("mult"),
                                       self.get_nodeattr("shift"), self.get_nodeattr("frac"))
        context[node.output[0]] = z.astype(np.float32)

    def verify_node(self) -> list[str]:
        return []


class InferLinearAttention(ReplaceNodes):
    """Graph-level LinearAttention of integer operands, without scales -> HWLinearAttention
    (SIMD, PE 1)."""

    def __init__(self) -> None:
        super().__init__((GRAPH_OP,), _hw_node)


def _hw_node(model: ModelWrapper, node: Any) -> Any:
    op = getCustomOp(node)
    scales = {f"{x}_scale": float(op.get_nodeattr(f"{x}_scale")) for x in (*_OPERANDS, "out")}
    types = [model.get_tensor_datatype(name) for name in node.input]
    if any(v != 1.0 for v in scales.values()) or not all(t.is_integer() for t in types):
        listed = ", ".join(f"{k}={v:g}" for k, v in scales.items())
        raise LoweringError(
            f"node {node.name} (LinearAttention) is not quantized: it reads "
            f"{', '.join(t.name for t in types)} with {listed}; the hardware needs integer "
            "operands and no scales (moved into the thresholds around it)"
        )
    _, n, d = model.get_tensor_shape(node.input[0])
    heads = int(op.get_nodeattr("heads"))
    return helper.make_node(
        "HWLinearAttention", list(node.input), list(node.output), name=node.name,
        domain=DOMAIN, backend="fpgadataflow", N=n, H=heads, DH=d // heads,
        qDataType=types[0].name, kDataType=types[1].name, vDataType=types[2].name,
        outputDataType=model.get_tensor_datatype(node.output[0]).name,
        mult=op.get_nodeattr("mult"), shift=op.get_nodeattr("shift"),
        frac=op.get_nodeattr("frac"),
    )


def _infer_linear_attention() -> list[Transformation]:
    return [InferLinearAttention()]


@register
class LinearAttention(Kernel):
    name = "linear_attention"
    role = "attention"
    op_types = ("HWLinearAttention",)
    custom_ops = (HWLinearAttention,)
    lowerings = (
        Lowering(
            "InferLinearAttention", _infer_linear_attention, guard=(GRAPH_OP,),
            after=("InferElementwiseBinaryOperation",),
            lowers=(LoweredOp(GRAPH_OP, "HWLinearAttention (integer q, k, v, no scales)"),),
        ),
    )
    frames_held = 1  # every key and value before the first query
    rtl_module = "cs_linear_attention"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        n, h, dh, simd, pe = (int(inst.get_nodeattr(a)) for a in ("N", "H", "DH", "SIMD", "PE"))
        types = [int_dtype(inst, f"{x}DataType") for x in _OPERANDS]
        out_bits, out_signed = int_dtype(inst, "outputDataType")
        shift, frac = int(inst.get_nodeattr("shift")), int(inst.get_nodeattr("frac"))
        # N sum(k v) and (sum K)(sum V) before their difference G, and Y
        kv_max = n * n * _magnitude(inst.get_input_datatype(1)) * _magnitude(
            inst.get_input_datatype(2))
        wide = max(inst.widths().total, kv_max.bit_length() + 2) + 1
        params: dict[str, int | str] = {"N": n, "H": h, "DH": dh, "SIMD": simd, "PE": pe}
        for x, (bits, signed) in zip(("Q", "K", "V"), types, strict=True):
            params[f"{x}_BITS"], params[f"{x}_SIGNED"] = bits, int(signed)
        params.update({"MULT": int(inst.get_nodeattr("mult")), "SHIFT": shift,
                       "DOWN": shift + 2 * attention.clog2(n) - frac, "W": wide,
                       "OUT_BITS": out_bits})
        words = n * h * dh // simd
        return self.instance(
            node, params=params,
            inputs=tuple(StreamFormat(bits, simd, signed) for bits, signed in types),
            outputs=(StreamFormat(out_bits, 1, out_signed),),
            words_in=(words, words, words), words_out=(n * h * dh,),
            est_cycles=int(inst.get_exp_cycles()),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        p = k.params
        n, d = int(p["N"]), int(p["H"]) * int(p["DH"])
        q, key, v = (x.reshape(len(x), n, d) for x in inputs)
        shift = int(p["SHIFT"])
        frac = shift + 2 * attention.clog2(n) - int(p["DOWN"])
        z = attention.linear_attention(q, key, v, int(p["H"]), int(p["MULT"]), shift, frac)
        return (wrap(z.reshape(len(z), -1), int(p["OUT_BITS"]), k.out.signed),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::linear_attention`` of hls/cs_linear_attention.hpp, one frame per call (the
        RTL's PE, products per cycle, is the HLS tool's to choose)."""
        names = ("N", "H", "DH", "SIMD", "Q_BITS", "Q_SIGNED", "K_BITS", "K_SIGNED", "V_BITS",
                 "V_SIGNED", "MULT", "SHIFT", "DOWN", "W", "OUT_BITS")
        return HlsCall("cs_linear_attention.hpp", "cs::linear_attention",
                       tuple(int(k.params[n]) for n in names))

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        dh = int(inst.get_nodeattr("DH"))
        return {"SIMD": divisors(inst._d()), "PE": divisors(dh)}

    def check_folding(self, node: Any) -> None:
        inst = getCustomOp(node)
        check_divides(node, "SIMD", int(inst.get_nodeattr("SIMD")), "d = H*DH", inst._d())
        check_divides(node, "PE", int(inst.get_nodeattr("PE")), "DH",
                      int(inst.get_nodeattr("DH")))

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("s0_axis", "s1_axis", "s2_axis"), ("m_axis",)

    def estimate(self, node: Any, part: str) -> tuple[int, dict[str, float]]:
        """Cycles from the custom op; LUTs: the d x d context and the sums as registers,
        PE multipliers of the internal width (a rough model, ours)."""
        inst = getCustomOp(node)
        wide = inst.widths().total
        h, dh, pe = (int(inst.get_nodeattr(a)) for a in ("H", "DH", "PE"))
        lut = (h * dh * dh + 5 * h * dh) * wide // 2 + 2 * pe * wide * wide // 4
        return int(inst.get_exp_cycles()), {"LUT": float(lut), "BRAM_18K": 0.0, "URAM": 0.0,
                                            "DSP": 0.0}
