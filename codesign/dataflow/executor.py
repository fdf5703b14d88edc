"""Sample-by-sample execution of a graph that is prepared once, not once per sample.

Graphs with HW layers run one sample at a time (FINN's HW layers are built for batch 1).
qonnx's ``execute_onnx`` re-does per call what does not change between samples: it checks
every tensor's shape and the topological order, looks up each tensor's datatype by a
linear search, builds and compiles an onnxruntime session for every standard node, and a
``StreamingDataflowPartition`` re-reads its child graph from disk. Over the 360 test
images those repeats cost more than the layers themselves.

:class:`PreparedGraph` does that work once and then runs each sample through the same
steps as ``execute_onnx``: the same custom-op ``execute_node`` calls, the same onnxruntime
node models, the same rounding of integer tensors before and after every node as qonnx's
``sanitize_quant_values`` (when qonnx's ``SANITIZE_QUANT_TENSORS`` asks for it), with its
largest rounding error taken in numpy (:func:`sanitize`): qonnx's takes it with Python's
``max`` over every element, 17 s per 128x128x64 frame.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import onnxruntime as rt
from onnx import AttributeProto, NodeProto, TensorProto, ValueInfoProto, helper
from onnxruntime.capi.onnxruntime_pybind11_state import NotImplemented as NoKernel
from qonnx.analysis.topology import nodes_topologically_sorted
from qonnx.core.datatype import BaseDataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_node
from qonnx.custom_op.registry import getCustomOp, is_custom_op
from qonnx.util.basic import (
    get_execution_error_thresh,
    get_preferred_qonnx_opset,
    get_sanitize_quant_tensors,
    qonnx_make_model,
)

from codesign.dataflow.float64_ops import FLOAT64_OPS
from codesign.errors import LoweringError

SDP_OP = "StreamingDataflowPartition"
"""FINN's node holding a dataflow child graph (the ``model`` attribute names its file)."""

Context = dict[str, Any]
Run = Callable[[Context], None]


def sanitize(dtypes: dict[str, BaseDataType], names: Iterable[str], ctx: Context) -> None:
    """qonnx's ``sanitize_quant_values`` (without its ``check_values``) in numpy: each
    integer-typed tensor of ``names`` whose values its datatype does not allow is rounded
    (with qonnx's warning); a rounding error beyond qonnx's execution error threshold
    raises, as qonnx's does.

    >>> from qonnx.core.datatype import DataType
    >>> ctx = {"a": np.array([1.0, 2.0 + 1e-7]), "b": np.array([0.5])}
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     sanitize({"a": DataType["INT4"], "b": DataType["FLOAT32"]}, ["a", "b"], ctx)
    >>> ctx["a"].tolist(), ctx["b"].tolist()
    ([1.0, 2.0], [0.5])
    """
    for name in names:
        if not name:  # an optional input left out
            continue
        dtype = dtypes[name]
        if not dtype.is_integer():
            continue
        values = ctx[name]
        if np.all(dtype.allowed(values)):
            continue
        rounded = np.round(values)
        warnings.warn(
            f"The values of tensor {name} can't be represented with the set datatype "
            f"annotation ({dtype.name}), they will be rounded to match the datatype annotation.",
            stacklevel=2,
        )
        if float(np.abs(values - rounded).max(initial=0.0)) > get_execution_error_thresh():
            raise Exception(
                f"Rounding error is too high to match set QONNX datatype ({dtype}) for input "
                f"{name}"
            )
        ctx[name] = rounded


class PreparedGraph:
    """A topologically sorted graph, ready to execute one sample at a time."""

    def __init__(self, model: ModelWrapper, *, float64: bool = False) -> None:
        """``float64``: a graph typed float64 (``lower.exact.to_float64``), whose nodes then
        run in float64 (:mod:`codesign.dataflow.float64_ops`: qonnx's Quant without its
        float32 cast, Conv and GlobalAveragePool in numpy; other standard nodes with their
        inputs cast to the declared type)."""
        if not model.check_all_tensor_shapes_specified():
            raise LoweringError(f"graph {model.graph.name!r} has tensors without shapes")
        if not model.analysis(nodes_topologically_sorted)["nodes_topologically_sorted"]:
            raise LoweringError(f"graph {model.graph.name!r}: nodes not topologically sorted")
        self.model = model
        self.inputs = [i.name for i in model.graph.input]
        self.outputs = [o.name for o in model.graph.output]
        self._template = {k: v for k, v in model.make_empty_exec_context().items() if k}
        opsets = model.get_opset_imports()
        graph = model.graph
        self._infos = {t.name: helper.make_tensor_value_info(t.name, t.data_type, t.dims)
                       for t in graph.initializer}  # every tensor's type and shape
        self._infos.update({vi.name: vi
                            for vi in (*graph.input, *graph.output, *graph.value_info)})
        self._float64 = float64
        self._runs = [self._prepare(node, opsets) for node in graph.node]
        self._sanitize = get_sanitize_quant_tensors() != 0
        tensors = {t for node in model.graph.node for t in (*node.input, *node.output)}
        self._dtypes = {n: model.get_tensor_datatype(n) for n in tensors if n}

    def __call__(self, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Execute one sample (or whatever batch the graph's shapes hold)."""
        ctx: Context = {k: np.copy(v) for k, v in self._template.items()}
        ctx[""] = None
        for name, value in feeds.items():
            want = self._template[name].shape
            if value.shape != want:
                raise LoweringError(f"input {name} has shape {value.shape}, expected {want}")
            ctx[name] = value
        for node, run in zip(self.model.graph.node, self._runs, strict=True):
            if self._sanitize:
                sanitize(self._dtypes, node.input, ctx)
            run(ctx)
            if self._sanitize:
                sanitize(self._dtypes, node.output, ctx)
        return {name: ctx[name] for name in self.outputs}

    def _prepare(self, node: NodeProto, opsets: dict[str, int]) -> Run:
        opset = opsets.get(node.domain, get_preferred_qonnx_opset())
        if node.op_type == SDP_OP:
            return _partition(node)
        if self._float64 and node.op_type in FLOAT64_OPS:
            return FLOAT64_OPS[node.op_type](node)
        if is_custom_op(node.domain, node.op_type):
            op = getCustomOp(node, onnx_opset_version=opset)
            graph = self.model.graph
            return lambda ctx: op.execute_node(ctx, graph)
        if any(a.type == AttributeProto.GRAPH for a in node.attribute):
            graph = self.model.graph  # control flow: qonnx's own per-call path
            return lambda ctx: execute_node(node, ctx, graph, opset)
        return _onnxruntime_node(node, opset, self._infos, self._float64)


def _partition(node: NodeProto) -> Run:
    """A ``StreamingDataflowPartition``: its child graph, prepared once."""
    model = ModelWrapper(getCustomOp(node).get_nodeattr("model"))
    child = PreparedGraph(model)

    def run(ctx: Context) -> None:
        feeds = {c: ctx[p] for p, c in zip(node.input, child.inputs, strict=True)}
        outs = child(feeds)
        for p, c in zip(node.output, child.outputs, strict=True):
            ctx[p] = outs[c]

    return run


def _session(node: NodeProto, opset: int, infos: dict[str, ValueInfoProto]) -> Any:
    one = helper.make_graph(
        nodes=[node], name="single-node-exec",
        inputs=[infos[t] for t in node.input if t],
        outputs=[infos[t] for t in node.output],
    )
    proto = qonnx_make_model(one)
    proto.opset_import[0].version = opset
    return rt.InferenceSession(proto.SerializeToString())


def _as_float32(infos: dict[str, ValueInfoProto], names: list[str]) -> dict[str, ValueInfoProto]:
    narrow = {}
    for name in names:
        vi = copy.deepcopy(infos[name])
        if vi.type.tensor_type.elem_type == TensorProto.DOUBLE:
            vi.type.tensor_type.elem_type = TensorProto.FLOAT
        narrow[name] = vi
    return narrow


def _onnxruntime_node(node: NodeProto, opset: int, infos: dict[str, ValueInfoProto],
                      float64: bool) -> Run:
    """A standard ONNX node as a one-node onnxruntime session, compiled once; ``infos``
    holds the graph's value infos by tensor name; ``float64``: see PreparedGraph."""
    names = [t for t in (*node.input, *node.output) if t]
    missing = [t for t in names if t not in infos]
    if missing:
        raise LoweringError(f"node {node.name} ({node.op_type}): no shape for {missing}")
    try:
        session = _session(node, opset, infos)
    except NoKernel:  # no float64 kernel: it does not sum (see float64_ops)
        infos = _as_float32(infos, names)
        session = _session(node, opset, infos)
    names = [t for t in node.input if t]
    floats = {t: helper.tensor_dtype_to_np_dtype(infos[t].type.tensor_type.elem_type)
              for t in names if float64}
    floats = {t: dtype for t, dtype in floats.items() if np.issubdtype(dtype, np.floating)}

    def run(ctx: Context) -> None:
        feeds = {t: ctx[t] for t in names}
        for t, dtype in floats.items():
            feeds[t] = np.asarray(feeds[t], dtype=dtype)
        results = session.run(None, feeds)
        for name, value in zip(node.output, results, strict=True):
            ctx[name] = value

    return run
