"""ElementwiseAdd: FINN's (finn.custom_op.fpgadataflow.elementwise_binary) sum of two
streams, what finn-plus 1.6.1's InferElementwiseBinaryOperation makes of a residual
``Add`` of two quantized activations (it has no AddStreams op any more).
RTL: ``cs_elementwise_add``.

Both operands are streams of the same shape (lhs on ``s0_axis``, rhs on ``s1_axis``);
a constant operand or broadcasting is refused, naming the node.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.backends.words import wrap
from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    divisors,
    int_dtype,
    refuse_unknown_params,
    stream_words,
)
from codesign.dataflow.kernels._folding import check_divides
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.errors import LoweringError


def elementwise_add(a: np.ndarray, b: np.ndarray, out_bits: int, out_signed: bool) -> IntArray:
    """``a + b`` in an ``out_bits`` result that wraps (FINN derives an out_dtype that holds
    every sum, so with it nothing wraps).

    >>> elementwise_add(np.array([[7, -8]]), np.array([[15, 0]]), 6, True).tolist()
    [[22, -8]]
    >>> elementwise_add(np.array([[7, -8]]), np.array([[15, 0]]), 5, True).tolist()
    [[-10, -8]]
    """
    exact = np.asarray(a, dtype=object) + np.asarray(b, dtype=object)
    return wrap(exact, out_bits, out_signed)


#: cs::elementwise_add's first template parameters in declaration order (then the words).
_HLS_PARAMS = ("PE", "LHS_BITS", "LHS_SIGNED", "RHS_BITS", "RHS_SIGNED", "OUT_BITS",
               "OUT_SIGNED")


def _integer_join(model: ModelWrapper, node: Any) -> bool:
    """Filter of InferElementwiseBinaryOperation: FINN's own (the graph's final
    de-quantizing Mul stays on the host) and integer inputs only, so the float bias Add
    of the last layer stays there too."""
    from finn.transformation.fpgadataflow.convert_to_hw.elementwise_binary_operation import (
        InferElementwiseBinaryOperation,
    )

    return bool(InferElementwiseBinaryOperation.reject_output_dequant(model, node)) and all(
        model.get_tensor_datatype(name).is_integer() for name in node.input
    )


def _infer_elementwise_add() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.elementwise_binary_operation import (
        InferElementwiseBinaryOperation,
    )

    return [InferElementwiseBinaryOperation(_integer_join)]


@register
class ElementwiseAdd(Kernel):
    name = "elementwise_add"
    op_types = ("ElementwiseAdd",)
    lowerings = (
        Lowering(
            "InferElementwiseBinaryOperation", _infer_elementwise_add, guard=("Add",),
            after=("InferConvInpGen",),  # FINN's builder order
            lowers=(LoweredOp("Add", "ElementwiseAdd (two integer streams, e.g. a residual "
                              "join)", on_host=True),),
        ),
    )
    rtl_module = "cs_elementwise_add"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        styles = (inst.get_nodeattr("lhs_style"), inst.get_nodeattr("rhs_style"))
        if styles != ("input", "input"):
            raise LoweringError(
                f"node {node.name} (ElementwiseAdd): lhs_style={styles[0]}, "
                f"rhs_style={styles[1]}; cs_elementwise_add adds two streams (both 'input')"
            )
        shapes = [list(inst.get_nodeattr(a)) for a in ("lhs_shape", "rhs_shape", "out_shape")]
        if not shapes[0] == shapes[1] == shapes[2]:
            raise LoweringError(
                f"node {node.name} (ElementwiseAdd): lhs_shape {shapes[0]}, rhs_shape "
                f"{shapes[1]}, out_shape {shapes[2]}; cs_elementwise_add adds two streams "
                "of one shape (no broadcasting)"
            )
        self.check_folding(node)
        pe = int(inst.get_nodeattr("PE"))
        lhs_bits, lhs_signed = int_dtype(inst, "lhs_dtype")
        rhs_bits, rhs_signed = int_dtype(inst, "rhs_dtype")
        out_bits, out_signed = int_dtype(inst, "out_dtype")
        words = stream_words(inst.get_folded_output_shape(0))
        return self.instance(
            node,
            params={"PE": pe, "LHS_BITS": lhs_bits, "LHS_SIGNED": int(lhs_signed),
                    "RHS_BITS": rhs_bits, "RHS_SIGNED": int(rhs_signed),
                    "OUT_BITS": out_bits, "OUT_SIGNED": int(out_signed)},
            inputs=(StreamFormat(lhs_bits, pe, lhs_signed), StreamFormat(rhs_bits, pe, rhs_signed)),
            outputs=(StreamFormat(out_bits, pe, out_signed),),
            words_in=(words, words), words_out=(words,),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        a, b = inputs
        return (elementwise_add(a, b, int(k.params["OUT_BITS"]), bool(k.params["OUT_SIGNED"])),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::elementwise_add`` of hls/cs_elementwise_add.hpp: cs_elementwise_add's
        parameters and the words of a frame (one frame per call)."""
        refuse_unknown_params(k, _HLS_PARAMS, "hls/cs_elementwise_add.hpp")
        args = tuple(int(k.params[n]) for n in _HLS_PARAMS)
        return HlsCall("cs_elementwise_add.hpp", "cs::elementwise_add", (*args, k.words_out[0]))

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        return {"PE": divisors(int(inst.get_nodeattr("out_shape")[-1]))}

    def check_folding(self, node: Any) -> None:
        inst = getCustomOp(node)
        check_divides(node, "PE", inst.get_nodeattr("PE"), "the last axis of out_shape",
                      int(inst.get_nodeattr("out_shape")[-1]))

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("s0_axis", "s1_axis"), ("m_axis",)

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": int(inst.get_nodeattr("out_shape")[-1]),
                "lhs_dtype": inst.get_nodeattr("lhs_dtype"),
                "rhs_dtype": inst.get_nodeattr("rhs_dtype"),
                "out_dtype": inst.get_nodeattr("out_dtype")}
