"""Graph plumbing shared by the lowering steps: the dataflow child, execution, FINN setup.

After ``create_dataflow_partition`` the model that flows through the steps is FINN's
*parent* graph: the nodes that stay on the host (e.g. the float ``Mul``/``Add`` of the
last layer) plus one ``StreamingDataflowPartition`` node whose ``model`` attribute names
the ONNX file of the *dataflow child* (only HW nodes). Steps that work on the hardware
load the child, transform it, write it to a new file and point the parent at it.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import numpy as np
from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp

from codesign.dataflow.executor import SDP_OP, PreparedGraph
from codesign.dataflow.kernels import DOMAIN, is_hw_domain
from codesign.errors import LoweringError

WORKDIR_PROP = "codesign.dataflow.lower.workdir"
"""Model metadata key: directory where steps write dataflow child models."""
FPGAPART_PROP = "codesign.dataflow.lower.fpgapart"
"""Model metadata key: FPGA part the estimates of the child were made for."""


def is_hw_node(node: NodeProto) -> bool:
    """True for HW layers: FINN's (generic or specialized) and codesign's own ops; False
    for host-side ONNX nodes and FINN's partition node."""
    return is_hw_domain(node.domain) and node.op_type != SDP_OP


def is_own_node(node: NodeProto) -> bool:
    """True for the HW layers of codesign's own ops. FINN's SpecializeLayers leaves them
    generic (it turns only FINN's generic HW layers into ``_hls``/``_rtl`` variants), so
    their kernels estimate and fold them."""
    return node.domain == DOMAIN


def specialized_copy(child: ModelWrapper, part: str) -> ModelWrapper:
    """A copy of a dataflow child with FINN's generic HW layers specialized for ``part``
    (FINN's estimates and SetFolding only visit ``_hls``/``_rtl`` nodes); codesign's own
    ops stay generic in it, estimated and folded by their kernels."""
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

    return copy.deepcopy(child).transform(SpecializeLayers(part))


def sdp_node(parent: ModelWrapper) -> NodeProto | None:
    """The single StreamingDataflowPartition node of a parent graph, or None before it."""
    nodes = parent.get_nodes_by_op_type(SDP_OP)
    if len(nodes) > 1:
        names = ", ".join(n.name for n in nodes)
        raise LoweringError(f"expected one dataflow partition, found {len(nodes)}: {names}")
    return nodes[0] if nodes else None


def child_path(parent: ModelWrapper) -> Path:
    """File of the dataflow child model the parent's partition node points to."""
    node = sdp_node(parent)
    if node is None:
        raise LoweringError(
            "the graph has no StreamingDataflowPartition node; run create_dataflow_partition "
            "before the hardware steps"
        )
    return Path(cast(str, getCustomOp(node).get_nodeattr("model")))


def dataflow_child(parent: ModelWrapper) -> ModelWrapper:
    """Load the dataflow child (HW nodes only) of a parent graph."""
    path = child_path(parent)
    if not path.is_file():
        raise LoweringError(f"dataflow child model {path} named by the parent graph is missing")
    return ModelWrapper(str(path))


def point_to_child(parent: ModelWrapper, path: Path) -> None:
    """Make the parent's partition node refer to the child model stored at ``path``."""
    node = sdp_node(parent)
    if node is None:
        raise LoweringError("the graph has no StreamingDataflowPartition node")
    getCustomOp(node).set_nodeattr("model", str(Path(path).resolve()))


def workdir(model: ModelWrapper) -> Path:
    """Directory for files written by steps (child models); set by :func:`run_lower`.

    A model that did not come through the runner gets a fresh temporary directory.
    """
    prop = model.get_metadata_prop(WORKDIR_PROP)
    if prop:
        path = Path(prop)
    else:
        path = Path(tempfile.mkdtemp(prefix="codesign_lower_"))
        model.set_metadata_prop(WORKDIR_PROP, str(path))
    path.mkdir(parents=True, exist_ok=True)
    return path


def store_child(parent: ModelWrapper, child: ModelWrapper, tag: str) -> ModelWrapper:
    """Save ``child`` as a new working file and point ``parent`` at it.

    The child's graph outputs may have changed data type (e.g. after accumulator
    minimization); the parent's annotations of the partition outputs follow.
    """
    wd = workdir(parent)
    child.set_metadata_prop(WORKDIR_PROP, str(wd))
    fd, name = tempfile.mkstemp(prefix=f"dataflow_{tag}_", suffix=".onnx", dir=wd)
    os.close(fd)
    child.save(name)
    point_to_child(parent, Path(name))
    node = sdp_node(parent)
    assert node is not None
    for p_out, c_out in zip(node.output, child.graph.output, strict=True):
        parent.set_tensor_datatype(p_out, child.get_tensor_datatype(c_out.name))
    return parent


def _as_batch(x: np.ndarray, model: ModelWrapper,
              dtype: type[np.floating[Any]] = np.float32) -> np.ndarray:
    shape = model.get_tensor_shape(model.graph.input[0].name)
    assert shape is not None
    per_sample = tuple(int(d) for d in shape[1:])
    arr: np.ndarray = np.asarray(x, dtype=dtype)
    if arr.shape == per_sample:
        arr = arr[None]
    if arr.shape[1:] != per_sample:
        raise LoweringError(
            f"input of shape {arr.shape} does not match the graph input "
            f"{model.graph.input[0].name} of shape {tuple(shape)} (batch of {per_sample})"
        )
    return arr


def _reshape_batch(model: ModelWrapper, node: Any) -> int | None:
    """The batch entry of a Reshape's constant target shape (None where it is computed)."""
    shape = model.get_initializer(node.input[1]) if len(node.input) > 1 else None
    return None if shape is None or shape.ndim != 1 or not shape.size else int(shape[0])


def _batched(model: ModelWrapper, n: int) -> ModelWrapper:
    """Copy of a graph without HW nodes whose dynamic tensors have batch size ``n``.

    A Reshape to a constant shape with batch 1 (an exported ``x.view(1, -1)``) gets
    batch ``n``; a reshape to a computed shape keeps the batch (see :func:`_batchable`).
    """
    batched = copy.deepcopy(model)
    dynamic = {batched.graph.input[0].name}
    for node in batched.graph.node:  # topologically sorted
        if any(i in dynamic for i in node.input):
            dynamic.update(node.output)
            if node.op_type == "Reshape" and _reshape_batch(batched, node) == 1:
                shape = batched.get_initializer(node.input[1]).copy()
                shape[0] = n
                name = batched.make_new_valueinfo_name()
                batched.set_initializer(name, shape)
                node.input[1] = name
    infos = [*batched.graph.input, *batched.graph.output, *batched.graph.value_info]
    for vi in infos:
        dims = vi.type.tensor_type.shape.dim
        if vi.name in dynamic and len(dims) > 0 and dims[0].dim_value == 1:
            dims[0].dim_value = n
    return batched


BATCH1_OPS = frozenset({"Im2Col"})
"""Ops whose attributes fix the batch size to 1 (Im2Col's ``input_shape``)."""


def _batchable(model: ModelWrapper) -> bool:
    """Whether a graph runs on a batch: no HW layers, no ops fixed to batch 1, and every
    Reshape keeps the batch first (-1, 0 or 1 there, the last rewritten by
    :func:`_batched`)."""
    for node in model.graph.node:
        if is_hw_domain(node.domain) or node.op_type in BATCH1_OPS:
            return False
        if node.op_type == "Reshape" and _reshape_batch(model, node) not in (None, -1, 0, 1):
            return False
    return True


def _execute(model: ModelWrapper, x: np.ndarray, float64: bool = False) -> np.ndarray:
    """Run ``model``: a batch at once if it has no HW layers (nor ops fixed to batch 1),
    else sample by sample (FINN's HW layers are built for batch 1), the graph prepared once.
    ``float64``: a graph typed float64, run in :class:`PreparedGraph`'s float64 mode."""
    arr = _as_batch(x, model, np.float64 if float64 else np.float32)
    iname = model.graph.input[0].name
    oname = model.graph.output[0].name
    if arr.shape[0] > 1 and _batchable(model):
        batched = _batched(model, arr.shape[0])
        if float64:
            return np.asarray(PreparedGraph(batched, float64=True)({iname: arr})[oname])
        return execute_onnx(batched, {iname: arr})[oname]
    run = PreparedGraph(model, float64=float64)
    outs = [run({iname: arr[i : i + 1]})[oname] for i in range(arr.shape[0])]
    return np.concatenate(outs, axis=0)


def execute_float64(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    """Execute a graph without HW layers (the QONNX graph) in float64: the reference the
    lowered graph is checked against, since its thresholds are exact
    (:mod:`codesign.dataflow.lower.exact`) while float32 execution rounds sums of scaled
    values (and qonnx's Quant rounds ``q * s`` to float32) and can move them across a
    quantizer's rounding boundary."""
    from codesign.dataflow.lower.exact import to_float64

    return _execute(to_float64(copy.deepcopy(model)), x, float64=True)


def execute_parent(parent: ModelWrapper, x: np.ndarray) -> np.ndarray:
    """Execute a whole lowered graph (host nodes + the dataflow child) in Python.

    ``x`` is one sample or a batch of samples (integer input codes as floats); the
    result has a leading batch axis. Any graph of the flow (QONNX, FINN-ONNX, the
    parent with its partition node) executes this way.
    """
    return _execute(parent, x)


def dataflow_input(parent: ModelWrapper, x: np.ndarray) -> np.ndarray:
    """What the accelerator receives for graph inputs ``x``: the host nodes before the
    dataflow partition (a CNN's NCHW->NHWC Transpose) applied to them."""
    node = sdp_node(parent)
    if node is None:
        raise LoweringError("dataflow_input needs a parent graph with its partition")
    index = list(parent.graph.node).index(node)
    if index == 0:
        return _as_batch(x, parent)
    head = copy.deepcopy(parent)
    new_output = head.get_tensor_valueinfo(node.input[0])
    if new_output is None:
        raise LoweringError(f"no shape information for {node.input[0]}")
    new_output = copy.deepcopy(new_output)
    for vi in list(head.graph.value_info):
        if vi.name == new_output.name:
            head.graph.value_info.remove(vi)
    for later in list(head.graph.node)[index:]:  # topologically sorted: none feeds a head
        head.graph.node.remove(later)
    del head.graph.output[:]
    head.graph.output.append(new_output)
    return _execute(head, np.asarray(x, dtype=np.float32))


def execute_host_tail(parent: ModelWrapper, dataflow_out: np.ndarray) -> np.ndarray:
    """Execute only the host nodes after the dataflow partition (e.g. the last layer's
    float scale and bias) on given accelerator outputs, e.g. those of a design whose
    accumulators are squeezed and wrap.

    Host nodes before the partition (a CNN's NCHW->NHWC input Transpose) are dropped
    with it: the accelerator outputs are what the partition node emits.
    """
    node = sdp_node(parent)
    if node is None:
        raise LoweringError("execute_host_tail needs a parent graph with its partition")
    index = list(parent.graph.node).index(node)
    # the accelerator's frames are flat; the partition output may be a feature map
    shape = parent.get_tensor_shape(node.output[0])
    out = np.asarray(dataflow_out, dtype=np.float32)
    out = out.reshape(-1, *shape[1:]) if shape else out
    if index == len(parent.graph.node) - 1:
        return out  # nothing runs on the host after it (e.g. a LabelSelect)
    tail = copy.deepcopy(parent)
    first = tail.graph.node[index]
    new_input = tail.get_tensor_valueinfo(first.output[0])
    if new_input is None:
        raise LoweringError(f"no shape information for {first.output[0]}")
    new_input = copy.deepcopy(new_input)
    for vi in list(tail.graph.value_info):
        if vi.name == new_input.name:
            tail.graph.value_info.remove(vi)
    for head in list(tail.graph.node)[: index + 1]:  # topologically sorted: all feed it
        tail.graph.node.remove(head)
    del tail.graph.input[:]
    tail.graph.input.append(new_input)
    return _execute(tail, out)


def execute_dataflow(child: ModelWrapper, x: np.ndarray) -> np.ndarray:
    """Execute the dataflow child (generic FINN HW nodes) in Python.

    ``x`` must be what the accelerator receives (the child's input tensor); the output
    holds the integer values the accelerator emits (as floats).
    """
    for node in child.graph.node:
        if not is_hw_node(node):
            raise LoweringError(
                f"node {node.name} ({node.op_type}) of the dataflow child is not a HW layer"
            )
    return _execute(child, x)


@contextmanager
def finn_build_dir(path: Path) -> Iterator[Path]:
    """Point FINN at ``path`` for any scratch files it makes (``FINN_BUILD_DIR``).

    The variable is set only for the duration of the block and restored afterwards,
    so users never have to set a FINN environment variable themselves.
    """
    path = Path(path).resolve()
    path.mkdir(parents=True, exist_ok=True)
    old = os.environ.get("FINN_BUILD_DIR")
    os.environ["FINN_BUILD_DIR"] = str(path)
    try:
        yield path
    finally:
        if old is None:
            os.environ.pop("FINN_BUILD_DIR", None)
        else:
            os.environ["FINN_BUILD_DIR"] = old


def fpga_part(board: str) -> str:
    """The Xilinx part FINN's estimates use for ``board`` (``boards/<board>.yaml``: its
    part on a Xilinx board, its ``estimate_part`` on an open one, whose part FINN does not
    know); an unknown board raises an error listing the known ones.

    >>> fpga_part("zcu104"), fpga_part("icebreaker")
    ('xczu7ev-ffvc1156-2-e', 'xc7z020clg400-1')
    """
    from codesign.board.registry import get_board

    return get_board(board).finn_part
