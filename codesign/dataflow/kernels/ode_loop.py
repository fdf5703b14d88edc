"""ODELoop: codesign's loop node, a body stream graph iterated T times with the frame on
chip (the Neural-ODE engine of dsODENet). RTL: ``cs_ode_loop`` (the loop controller and
its frame buffer) beside one instance of the body.

The node exists after the lowering step ``roll_loops``, which rolls the T identical
copies of a weight-shared block into it (:mod:`codesign.dataflow.kernels._loop_rolling`);
its ``body`` attribute is the first copy as a graph (FINN HW nodes: the block's layers,
the residual add, the requantization and their FIFOs) and ``iteration`` is T.

- Execution (qonnx): the body executed T times, each output the next input.
- Hardware: the first pass streams the frame from upstream into the body, and passes
  1..T-1 stream it from the frame buffer, into which every pass but the last writes its
  output in place; the last pass's output leaves. A word is written only after the
  current pass has read it, and read only after the previous pass has written it: with
  ``lead`` = words read into the body minus words out of it, a read needs
  ``lead < WORDS`` and a write ``lead > 0``; one buffer of one frame suffices.
- Cycles per frame: T passes at the body's rate, ``T * body II`` (the passes follow each
  other without a gap while the body's latency is under a frame's time); latency adds
  one body fill. FINN's FINNLoop models ``body latency + (T-1) * body II + 40 T``, its
  frames going through DDR.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp
from onnx import GraphProto, NodeProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import get_by_name, qonnx_make_model

from codesign.dataflow.executor import PreparedGraph
from codesign.dataflow.kernels import DOMAIN, register
from codesign.dataflow.kernels._base import HlsCall, IntArray, Kernel, KernelInstance
from codesign.errors import LoweringError

if TYPE_CHECKING:
    from codesign.dataflow.graph import StreamGraph

OP_TYPE = "ODELoop"
LUTRAM_BITS = 4096
"""A frame buffer up to this size maps to LUT RAM (64 bits per LUT), a larger one to
18-kbit block RAMs."""


def loop_cycles(body_ii: int, iterations: int) -> int:
    """Cycles per frame of the loop: T passes at the body's rate.

    >>> loop_cycles(1024, 4)
    4096
    """
    return iterations * body_ii


def buffer_resources(words: int, width: int) -> dict[str, float]:
    """LUT / BRAM_18K of a frame buffer of ``words`` x ``width`` bits (one frame).

    >>> buffer_resources(128, 8), buffer_resources(1024, 64)
    ({'LUT': 16.0, 'BRAM_18K': 0.0}, {'LUT': 0.0, 'BRAM_18K': 4.0})
    """
    bits = words * width
    if bits <= LUTRAM_BITS:
        return {"LUT": float(math.ceil(bits / 64)), "BRAM_18K": 0.0}
    return {"LUT": 0.0, "BRAM_18K": float(math.ceil(bits / 18432))}


class ODELoop(HWCustomOp):
    """The loop node: ``body`` (a graph of HW nodes, one stream in, one out) run
    ``iteration`` times on each frame."""

    _run_body: PreparedGraph | None = None

    def get_nodeattr_types(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "body": ("g", True, ""),
            "iteration": ("i", True, 1),
            "inputDataType": ("s", True, ""),
            "outputDataType": ("s", True, ""),
        }
        attrs.update(HWCustomOp.get_nodeattr_types(self))
        return attrs

    def body(self) -> ModelWrapper:
        """The body graph as a model (qonnx reads graph attributes as raw protos)."""
        attr = get_by_name(self.onnx_node.attribute, "body")
        if attr is None:
            raise LoweringError(f"node {self.onnx_node.name} (ODELoop) has no body")
        return ModelWrapper(qonnx_make_model(attr.g))

    def _end(self, which: str) -> Any:
        """The custom op of the body's first (``in``) or last (``out``) node."""
        body = self.body()
        if which == "in":
            return getCustomOp(body.find_consumer(body.graph.input[0].name))
        return getCustomOp(body.find_producer(body.graph.output[0].name))

    def get_normal_input_shape(self, ind: int = 0) -> Any:
        return self._end("in").get_normal_input_shape(0)

    def get_normal_output_shape(self, ind: int = 0) -> Any:
        return self._end("out").get_normal_output_shape(0)

    def get_folded_input_shape(self, ind: int = 0) -> Any:
        return self._end("in").get_folded_input_shape(0)

    def get_folded_output_shape(self, ind: int = 0) -> Any:
        return self._end("out").get_folded_output_shape(0)

    def get_instream_width(self, ind: int = 0) -> int:
        return int(self._end("in").get_instream_width(0))

    def get_outstream_width(self, ind: int = 0) -> int:
        return int(self._end("out").get_outstream_width(0))

    def get_input_datatype(self, ind: int = 0) -> Any:
        return DataType[self.get_nodeattr("inputDataType")]

    def get_output_datatype(self, ind: int = 0) -> Any:
        return DataType[self.get_nodeattr("outputDataType")]

    def infer_node_datatype(self, model: ModelWrapper) -> None:
        model.set_tensor_datatype(self.onnx_node.output[0], self.get_output_datatype())

    def verify_node(self) -> list[str]:
        return []

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        """The body executed ``iteration`` times, each output the next input."""
        if self._run_body is None:  # prepared once: a graph executes this node per sample
            self._run_body = PreparedGraph(self.body())
        run = self._run_body
        x = context[self.onnx_node.input[0]]
        for _ in range(int(self.get_nodeattr("iteration"))):
            x = run({run.inputs[0]: x})[run.outputs[0]]
        context[self.onnx_node.output[0]] = np.asarray(x, dtype=np.float32)

    def get_exp_cycles(self) -> int:
        """:func:`loop_cycles` of the body's stream graph (its kernels' estimates, as the
        flow compares the measured II with)."""
        from codesign.dataflow.graph import read_graph

        body = read_graph(self.body(), name=f"{self.onnx_node.name}_body")
        return loop_cycles(body.est_ii, int(self.get_nodeattr("iteration")))

    def node_res_estimation(self, fpgapart: str) -> dict[str, float]:
        """The body's estimates (annotated on its nodes before rolling) plus the frame
        buffer; the controller's counters are a few dozen LUTs, not modelled."""
        total: dict[str, float] = {}
        for node in self.body().graph.node:
            res = getCustomOp(node).get_nodeattr("res_estimate")
            for key, value in (ast.literal_eval(res) if res else {}).items():
                total[key] = total.get(key, 0.0) + float(value)
        words = int(np.prod(self.get_folded_input_shape()[:-1]))
        for key, value in buffer_resources(words, self.get_instream_width()).items():
            total[key] = total.get(key, 0.0) + value
        return total


def make_loop_node(inp: str, out: str, body: GraphProto, iterations: int) -> NodeProto:
    """An ODELoop node of codesign's domain over ``body`` (see
    :func:`~codesign.dataflow.kernels._loop_rolling.roll_loops`)."""
    wrapped = ModelWrapper(qonnx_make_model(body))
    return helper.make_node(
        OP_TYPE, [inp], [out], name=f"{OP_TYPE}_0", domain=DOMAIN, backend="fpgadataflow",
        body=body, iteration=iterations,
        inputDataType=wrapped.get_tensor_datatype(body.input[0].name).name,
        outputDataType=wrapped.get_tensor_datatype(body.output[0].name).name,
    )


def roll(child: ModelWrapper, iterations: int) -> ModelWrapper:
    """``child`` with its ``iterations`` copies of a block rolled into one ODELoop node."""
    from codesign.dataflow.kernels._loop_rolling import roll_loops

    return roll_loops(child, iterations, make_loop_node)


def _check_body(node: Any, body: StreamGraph, iterations: int) -> None:
    """A loop needs T >= 1 and a body whose output stream is its input stream's twin."""
    if iterations < 1:
        raise LoweringError(f"node {node.name} (ODELoop): iteration={iterations}; T must be >= 1")
    if (body.inp, body.words_in) != (body.out, body.words_out):
        raise LoweringError(
            f"node {node.name} (ODELoop): the body's output ({body.out}, {body.words_out} "
            f"words) differs from its input ({body.inp}, {body.words_in} words); a loop "
            "feeds its output back as its input"
        )


@register
class OdeLoop(Kernel):
    name = "ode_loop"
    op_types = (OP_TYPE,)
    custom_ops = (ODELoop,)
    created_by = ("the lowering step roll_loops, from the T copies of a weight-shared block "
                  "(model.kind: ode)")
    rtl_module = "cs_ode_loop"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        from codesign.dataflow.graph import read_graph

        inst = getCustomOp(node)
        iterations = int(inst.get_nodeattr("iteration"))
        body = read_graph(inst.body(), name=f"{node.name}_body")
        _check_body(node, body, iterations)
        fmt, words = body.inp, body.words_in
        return self.instance(
            node,
            params={"ITERATIONS": iterations, "WORDS": words, "WIDTH": fmt.tdata_bits},
            inputs=(fmt,), outputs=(fmt,), words_in=(words,), words_out=(words,),
            est_cycles=loop_cycles(body.est_ii, iterations), body=body,
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        from codesign.dataflow.graph import run_reference

        assert k.body is not None  # read() always gives a loop its body
        (x,) = inputs
        for _ in range(int(k.params["ITERATIONS"])):
            x = run_reference(k.body, x)
        return (x,)

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The outer streams, then the body's: ``sb_axis`` out of it, ``mb_axis`` into it
        (the RTL backend wires them to the body's instance)."""
        return ("s_axis", "sb_axis"), ("m_axis", "mb_axis")

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::ode_loop`` of hls/cs_ode_loop.hpp over the frame's words; the HLS top
        passes the body's generated function after the streams."""
        p = k.params
        return HlsCall("cs_ode_loop.hpp", "cs::ode_loop",
                       (int(p["WIDTH"]), int(p["WORDS"]), int(p["ITERATIONS"])))

    def body_model(self, node: Any) -> ModelWrapper | None:
        return getCustomOp(node).body()

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"iterations": int(inst.get_nodeattr("iteration")),
                "body_nodes": len(inst.body().graph.node)}
