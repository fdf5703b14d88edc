"""Thresholds that equal the QONNX graph's rounding, not FINN's float32 approximation.

FINN computes a quantizer's thresholds in float32 and moves every scale and bias of the
graph into them in float32, then rounds each up (``x >= t``). Two things go wrong:

- **drift**: a threshold that lies on an integer accumulator value (common with
  power-of-two and 1/255 scales) lands a float32 ulp to either side of it, so whole
  codes move one step;
- **ties**: QONNX's ``Quant`` rounds half to even, ``x >= t`` rounds half up, so an
  accumulator exactly on a rounding boundary of an odd level comes out one step high.

The lowering therefore streamlines in float64 (:func:`to_float64`, with FINN's threshold
computation widened by :func:`finn_thresholds_in_float64`) and, right after the QONNX
conversion, moves each threshold of a round-to-nearest quantizer by a tiny ``delta``
towards the side its tie belongs to (:func:`nudge_ties`: up for odd levels, down for
even). Streamlining maps thresholds through increasing affine functions, which keep that
side; float64's error stays about 2^-10 of ``delta`` (the margin in :data:`TIE_NUDGE`),
so :func:`round_and_clip_thresholds` rounds each up to the exact integer. Integer
thresholds beyond float32's exact range (2^24) stay float64 in the graph.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from onnx import TensorProto, numpy_helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes

from codesign.dataflow.kernels import ThresholdTensor

TIE_NUDGE = 2.0**-34
"""``delta`` in quantizer steps. Thresholds start within 2^8 steps of zero and pass a
few affine maps, so float64's error is below 2^-44 steps while ``delta`` is 2^-34; a
non-tie threshold moves across an integer only if it lies within ``delta`` of one."""

FLOAT32_EXACT = 2**24
"""Integers up to this magnitude are exact in float32."""


def _retype(model: ModelWrapper, src: int, dst: int, keep: set[str]) -> None:
    graph = model.graph
    dtype = np.float64 if dst == TensorProto.DOUBLE else np.float32
    for t in graph.initializer:
        if t.data_type == src and t.name not in keep:
            t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(dtype), t.name))
    for vi in (*graph.input, *graph.output, *graph.value_info):
        if vi.type.tensor_type.elem_type == src and vi.name not in keep:
            vi.type.tensor_type.elem_type = dst


RESAMPLING_PARAMS = {"Resize": (1, 2), "Upsample": (1,)}
"""Inputs ONNX types float32 only: a Resize's roi and scales, an Upsample's scales."""


def to_float64(model: ModelWrapper) -> ModelWrapper:
    """Every float32 initializer and tensor type of ``model`` widened to float64, but the
    resampling parameters ONNX takes in float32 only (:data:`RESAMPLING_PARAMS`)."""
    keep = {node.input[i] for node in model.graph.node
            for i in RESAMPLING_PARAMS.get(node.op_type, ()) if i < len(node.input)}
    _retype(model, TensorProto.FLOAT, TensorProto.DOUBLE, keep)
    return model


def to_float32(model: ModelWrapper) -> ModelWrapper:
    """Back to float32, except integer thresholds beyond float32's exact range, which stay
    float64 (their readers take them as integers)."""
    keep = set()
    for tensor in _threshold_inputs(model):
        t = model.get_initializer(tensor.name)
        if t is not None and np.abs(t).max(initial=0) > FLOAT32_EXACT:
            keep.add(tensor.name)
    _retype(model, TensorProto.DOUBLE, TensorProto.FLOAT, keep)
    return model


@contextmanager
def finn_thresholds_in_float64() -> Iterator[None]:
    """FINN's QONNX activation handlers compute thresholds in float64 and then narrow them
    to their module's ``np_default_dtype`` (float32); keep them float64 meanwhile."""
    from finn.transformation.qonnx import qonnx_activation_handlers as handlers

    saved = handlers.np_default_dtype
    handlers.np_default_dtype = np.float64
    try:
        yield
    finally:
        handlers.np_default_dtype = saved


def rounding_quantizers(model: ModelWrapper) -> dict[str, np.ndarray]:
    """Per activation ``Quant`` that rounds to nearest (QONNX: half to even), its scale
    (per channel, flattened), by the tensor the MultiThreshold replacing it will read:
    the Quant's input, or the input of the Relu before it (FINN folds the two)."""
    scales: dict[str, np.ndarray] = {}
    for node in model.get_nodes_by_op_type("Quant"):
        scale = model.get_initializer(node.input[1])
        if model.get_initializer(node.input[0]) is not None or scale is None:
            continue  # a weight quantizer
        if getCustomOp(node).get_nodeattr("rounding_mode").upper() not in ("ROUND",
                                                                             "HALF_EVEN"):
            continue
        flat = np.abs(np.asarray(scale, dtype=np.float64)).reshape(-1)
        scales[node.input[0]] = flat
        producer = model.find_producer(node.input[0])
        if producer is not None and producer.op_type == "Relu":
            scales[producer.input[0]] = flat
    return scales


def nudge_ties(model: ModelWrapper, scales: dict[str, np.ndarray]) -> ModelWrapper:
    """Move each threshold of a MultiThreshold made from a rounding quantizer (its input
    tensor in ``scales``) ``TIE_NUDGE`` steps towards the level its tie rounds to.

    Threshold ``t`` sits at ``(q - 0.5) * s`` between levels ``q - 1`` and ``q``; half to
    even gives a tie to ``q`` when ``q`` is even (``t`` moves down, ``x >= t`` holds) and
    to ``q - 1`` when it is odd (``t`` moves up).

    """
    for node in model.get_nodes_by_op_type("MultiThreshold"):
        scale = scales.get(node.input[0])
        thresholds = model.get_initializer(node.input[1])
        if scale is None or thresholds is None:
            continue
        model.set_initializer(node.input[1], _nudged(thresholds, scale))
    return model


def _nudged(thresholds: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Thresholds (channels, levels) of a quantizer with a per-tensor or per-channel step.

    >>> t = np.array([[-1.5, -0.5, 0.5, 1.5, 2.5]])  # levels -1, 0, 1, 2, 3
    >>> np.sign(_nudged(t, np.array([1.0])) - t).tolist()
    [[1.0, -1.0, 1.0, -1.0, 1.0]]
    """
    t = np.asarray(thresholds, dtype=np.float64)
    s = scale.reshape(-1, 1) if scale.size == t.shape[0] else np.full((1, 1), scale.flat[0])
    level = np.rint(t / s + 0.5)
    direction = np.where(level % 2 == 0, -1.0, 1.0)
    return t + direction * s * TIE_NUDGE


def _threshold_inputs(model: ModelWrapper) -> Iterator[ThresholdTensor]:
    """The thresholds of every MultiThreshold (compared with its input's type) and of every
    HW node whose kernel has thresholds (:meth:`Kernel.thresholds`)."""
    from codesign.dataflow.kernels import kernel_for
    from codesign.dataflow.lower._graph import is_hw_node

    for node in model.graph.node:
        if node.op_type == "MultiThreshold":
            yield ThresholdTensor(node.input[1], model.get_tensor_datatype(node.input[0]))
        elif is_hw_node(node) and (tensor := kernel_for(node).thresholds(model, node)):
            yield tensor


def round_and_clip_thresholds(model: ModelWrapper) -> ModelWrapper:
    """FINN's RoundAndClipThresholds (each threshold up to the next integer, clipped to
    the compared type's range plus one; the threshold type one bit wider) without its
    cast to float32, which would move integers beyond 2^24: those stay float64."""
    for tensor in _threshold_inputs(model):
        name, dtype = tensor.name, tensor.compared
        thresholds = model.get_initializer(name)
        if thresholds is None or not dtype.is_integer():
            continue
        rounded = np.clip(np.ceil(thresholds), dtype.min(), dtype.max() + 1)
        big = np.abs(rounded).max(initial=0) > FLOAT32_EXACT
        model.set_initializer(name, rounded.astype(np.float64 if big else np.float32))
        top = dtype.max() + 1
        tdt = DataType.get_smallest_possible(-top - 1 if dtype.signed() else top)
        model.set_tensor_datatype(name, tdt)
        if tensor.dtype_attr:
            getCustomOp(model.find_consumer(name)).set_nodeattr(tensor.dtype_attr, tdt.name)
    return model.transform(InferDataTypes())
