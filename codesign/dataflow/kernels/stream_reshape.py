"""StreamReshape: a Reshape between HW layers (our op, ``HWStreamReshape`` in codesign's
domain). RTL: ``cs_stream_reshape``, a pass-through: the elements stream in the same
order whatever the tensor's shape, so only the labels change.

The ViT needs it where tokens and features meet other views of the same stream: the
embedding's thresholds per token x feature, the heads of the attention, the classifier
over every token.
"""

from __future__ import annotations

import dataclasses
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

from codesign.dataflow.kernels import DOMAIN, is_hw_domain, register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    divisors,
    int_dtype,
    replace_params,
)
from codesign.dataflow.kernels._folding import check_divides
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering


class HWStreamReshape(HWCustomOp):
    """``in_shape`` -> ``out_shape`` (the same number of elements), PE elements a word
    (PE divides the last axis of both)."""

    def get_nodeattr_types(self) -> dict[str, Any]:
        attrs: dict[str, Any] = super().get_nodeattr_types()
        attrs.update({
            "in_shape": ("ints", True, []), "out_shape": ("ints", True, []),
            "PE": ("i", False, 1), "dataType": ("s", True, ""),
        })
        return attrs

    def get_normal_input_shape(self, ind: int = 0) -> list[int]:
        return list(self.get_nodeattr("in_shape"))

    def get_normal_output_shape(self, ind: int = 0) -> list[int]:
        return list(self.get_nodeattr("out_shape"))

    def _folded(self, shape: list[int]) -> list[int]:
        pe = self.get_nodeattr("PE")
        return [*shape[:-1], shape[-1] // pe, pe]

    def get_folded_input_shape(self, ind: int = 0) -> list[int]:
        return self._folded(self.get_normal_input_shape())

    def get_folded_output_shape(self, ind: int = 0) -> list[int]:
        return self._folded(self.get_normal_output_shape())

    def get_input_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr("dataType")]

    def get_output_datatype(self, ind: int = 0) -> DataType:
        return self.get_input_datatype()

    def get_instream_width(self, ind: int = 0) -> int:
        return int(self.get_nodeattr("PE") * self.get_input_datatype().bitwidth())

    def get_outstream_width(self, ind: int = 0) -> int:
        return self.get_instream_width()

    def get_number_output_values(self) -> int:
        return int(np.prod(self.get_normal_output_shape())) // self.get_nodeattr("PE")

    def get_exp_cycles(self) -> int:
        return self.get_number_output_values()

    def infer_node_datatype(self, model: ModelWrapper) -> None:
        """The type is its input's (which FINN's accumulator minimization may narrow)."""
        self.set_nodeattr("dataType", model.get_tensor_datatype(self.onnx_node.input[0]).name)
        model.set_tensor_datatype(self.onnx_node.output[0], self.get_output_datatype())

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        context[node.output[0]] = context[node.input[0]].reshape(self.get_normal_output_shape())

    def verify_node(self) -> list[str]:
        return []


class InferStreamReshape(Transformation):
    """Reshapes of an integer tensor that a HW layer produces -> HWStreamReshape (PE 1);
    others (e.g. a CNN's flatten behind a Transpose, which FINN absorbs into the first FC
    layer) are left alone."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for index, node in enumerate(model.graph.node):
            if node.op_type != "Reshape":
                continue
            producer = model.find_producer(node.input[0])
            dt = model.get_tensor_datatype(node.input[0])
            if producer is None or not is_hw_domain(producer.domain) or not dt.is_integer():
                continue
            hw = helper.make_node(
                "HWStreamReshape", [node.input[0]], [node.output[0]], name=node.name,
                domain=DOMAIN, backend="fpgadataflow", dataType=dt.name,
                in_shape=model.get_tensor_shape(node.input[0]),
                out_shape=model.get_tensor_shape(node.output[0]),
            )
            model.graph.node.remove(node)
            model.graph.node.insert(index, hw)
            return model, True
        return model, False


def _infer_stream_reshape() -> list[Transformation]:
    return [InferStreamReshape()]


@register
class StreamReshape(Kernel):
    name = "stream_reshape"
    role = "attention"
    op_types = ("HWStreamReshape",)
    custom_ops = (HWStreamReshape,)
    lowerings = (
        Lowering(
            "InferStreamReshape", _infer_stream_reshape, guard=("Reshape",),
            after=("InferElementwiseBinaryOperation",),
            lowers=(LoweredOp("Reshape", "HWStreamReshape (an integer tensor a HW layer "
                              "produces; elsewhere it stays on the host)", on_host=True),),
        ),
    )
    rtl_module = "cs_stream_reshape"
    moves_words = True

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        bits, signed = int_dtype(inst, "dataType")
        pe = int(inst.get_nodeattr("PE"))
        words = inst.get_number_output_values()
        fmt = StreamFormat(bits, pe, signed)
        return self.instance(
            node, params={"PE": pe, "BITS": bits}, inputs=(fmt,), outputs=(fmt,),
            words_in=(words,), words_out=(words,), est_cycles=int(inst.get_exp_cycles()),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        return tuple(inputs)  # the same values in the same order

    def with_input_format(self, k: KernelInstance, port: int, fmt: StreamFormat) -> KernelInstance:
        """Wider elements pass through the same way (e.g. a producer's accumulator widened
        for the 32-bit twin)."""
        return dataclasses.replace(replace_params(k, BITS=fmt.elem_bits), inputs=(fmt,),
                                   outputs=(fmt,))

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::stream_reshape`` of hls/cs_stream_reshape.hpp, one frame per call."""
        return HlsCall("cs_stream_reshape.hpp", "cs::stream_reshape",
                       (int(k.params["PE"]), int(k.params["BITS"]), k.words_out[0]))

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        last = math.gcd(inst.get_normal_input_shape()[-1], inst.get_normal_output_shape()[-1])
        return {"PE": divisors(last)}

    def check_folding(self, node: Any) -> None:
        inst = getCustomOp(node)
        last = math.gcd(inst.get_normal_input_shape()[-1], inst.get_normal_output_shape()[-1])
        check_divides(node, "PE", int(inst.get_nodeattr("PE")), "the last axes' gcd", last)
