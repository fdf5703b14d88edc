"""Streamlining of the ViT graph: the scales around codesign's graph-level attention ops
(:mod:`codesign.frontend.ops`) and the shape ops between tokens and heads.

FINN's streamlining moves scalar Muls past MatMuls and absorbs them into thresholds; it
does not know our ops, nor a per-feature Mul in front of a Reshape that merges tokens and
features. These transformations do that part, so that after them every attention op
computes on integers (``in_scale`` and ``out_scale`` 1, the scales as Muls beside it)
and FINN's own transformations absorb the Muls into the next thresholds:

* a scalar Mul or Add behind a Reshape moves in front of it, where FINN absorbs an Add
  that follows a MultiThreshold (its sign bias) into the thresholds;
* a per-feature Mul in front of a Reshape that merges the last axes moves behind it,
  tiled over the merged axis;
* a scalar Mul on an input of AttentionScores or AttentionMix moves behind it (both are
  bilinear), one on IntSoftmax's or LinearAttention's inputs into their scales, and
  their ``out_scale`` out into a Mul behind them;
* a scalar Mul moves behind a ReduceSum; the sum over tokens then joins the classifier
  (its weights tiled over the tokens), so no reduction op of its own is needed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from onnx import helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.frontend.ops import DOMAIN

_BILINEAR = ("AttentionScores", "AttentionMix")
_SCALE_INPUTS = {"IntSoftmax": ("in_scale",), "LinearAttention": ("q_scale", "k_scale", "v_scale")}
SNAP = 2.0**-20
"""A scale within this (relative) of 1 after absorbing its Muls is 1: the operand is an
integer tensor and its float32 rounding is no scale."""


def _scalar(model: ModelWrapper, node: Any) -> float | None:
    """The constant of a Mul or Add by one scalar initializer, else None."""
    if node is None or node.op_type not in ("Mul", "Add"):
        return None
    c = model.get_initializer(node.input[1])
    if c is None or c.size != 1 or model.get_initializer(node.input[0]) is not None:
        return None
    return float(c.reshape(()))


def _single_consumer(model: ModelWrapper, tensor: str) -> Any:
    consumers = model.find_consumers(tensor)
    return consumers[0] if len(consumers) == 1 else None


def _mul_after(model: ModelWrapper, node: Any, value: float | np.ndarray) -> None:
    """Insert ``out * value`` behind ``node``'s (only) output."""
    out = node.output[0]
    inner = model.make_new_valueinfo_name()
    const = model.make_new_valueinfo_name()
    model.set_initializer(const, np.asarray(value, dtype=np.float32))
    for consumer in model.find_consumers(out):
        for i, name in enumerate(consumer.input):
            if name == out:
                consumer.input[i] = inner
    node_index = list(model.graph.node).index(node)
    model.graph.node.insert(node_index + 1, helper.make_node("Mul", [out, const], [inner]))
    model.set_tensor_shape(inner, model.get_tensor_shape(out))


def _bypass(model: ModelWrapper, node: Any) -> None:
    """Remove a Mul/Add node, its consumers reading its input instead."""
    for consumer in model.find_consumers(node.output[0]):
        for i, name in enumerate(consumer.input):
            if name == node.output[0]:
                consumer.input[i] = node.input[0]
    model.graph.node.remove(node)


class MoveScalarLinearBeforeReshape(Transformation):
    """Reshape -> scalar Mul/Add becomes scalar Mul/Add -> Reshape."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type != "Reshape":
                continue
            nxt = _single_consumer(model, node.output[0])
            if _scalar(model, nxt) is None or model.find_producer(node.input[0]) is None:
                continue
            x, shaped, out = node.input[0], node.output[0], nxt.output[0]
            nxt.input[0], nxt.output[0] = x, shaped
            node.input[0], node.output[0] = shaped, out
            model.set_tensor_shape(shaped, model.get_tensor_shape(x))
            index = list(model.graph.node).index(node)
            model.graph.node.remove(nxt)
            model.graph.node.insert(index, nxt)
            return model, True
        return model, False


class MoveChannelMulPastMergingReshape(Transformation):
    """Mul by a per-feature constant (last axis) -> Reshape whose last axis is a multiple
    of the features becomes Reshape -> Mul by the constant tiled along that axis."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            if node.op_type != "Mul":
                continue
            c = model.get_initializer(node.input[1])
            reshape = _single_consumer(model, node.output[0])
            if c is None or c.size == 1 or reshape is None or reshape.op_type != "Reshape":
                continue
            shape = model.get_tensor_shape(node.input[0])
            features = shape[-1]
            if c.size != features or c.shape[-1] != features:
                continue
            width = model.get_tensor_shape(reshape.output[0])[-1]
            if width % features:
                continue
            _bypass(model, node)
            _mul_after(model, reshape, np.tile(c.reshape(-1), width // features))
            return model, True
        return model, False


class MoveScalarMulPastAttention(Transformation):
    """Scalar Muls on the inputs of the bilinear attention ops (and ReduceSum) move
    behind them; scalar Muls into IntSoftmax / LinearAttention become their input
    scales, and their output scales Muls behind them."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.graph.node:
            ours = node.domain == DOMAIN
            if ours and node.op_type in _SCALE_INPUTS and _out_scale_to_mul(model, node):
                return model, True
            if ours and node.op_type in (*_BILINEAR, *_SCALE_INPUTS):
                inputs = list(node.input)
            elif node.op_type == "ReduceSum":
                inputs = [node.input[0]]
            else:
                continue
            for i, name in enumerate(inputs):
                mul = model.find_producer(name)
                c = _scalar(model, mul)
                if c is None or mul.op_type != "Mul" or _single_consumer(model, name) is None:
                    continue
                _bypass(model, mul)
                if node.op_type in _SCALE_INPUTS:
                    _divide_scale(node, _SCALE_INPUTS[node.op_type][i], c)
                else:
                    _mul_after(model, node, c)
                return model, True
        return model, False


def _divide_scale(node: Any, attr: str, c: float) -> None:
    inst = getCustomOp(node)
    scale = float(inst.get_nodeattr(attr)) / c
    inst.set_nodeattr(attr, 1.0 if abs(scale - 1.0) < SNAP else scale)


def _out_scale_to_mul(model: ModelWrapper, node: Any) -> bool:
    inst = getCustomOp(node)
    scale = float(inst.get_nodeattr("out_scale"))
    if scale == 1.0:
        return False
    inst.set_nodeattr("out_scale", 1.0)
    _mul_after(model, node, scale)
    return True


class SumPoolIntoClassifier(Transformation):
    """ReduceSum over the tokens -> MatMul by W becomes Reshape to (1, N*d) -> MatMul by W
    tiled N times: the same integer sums (sum_t sum_c h[t, c] W[c, o]), as one MVAU over
    every token, with the same accumulator bound."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for node in model.get_nodes_by_op_type("ReduceSum"):
            matmul = _single_consumer(model, node.output[0])
            axes = model.get_initializer(node.input[1]) if len(node.input) > 1 else None
            shape = model.get_tensor_shape(node.input[0])
            if (matmul is None or matmul.op_type != "MatMul" or axes is None
                    or [int(a) % len(shape) for a in axes.reshape(-1)] != [1] or len(shape) != 3):
                continue
            w = model.get_initializer(matmul.input[1])
            if w is None:
                continue
            _, n, d = shape
            target = model.make_new_valueinfo_name()
            model.set_initializer(target, np.array([-1, n * d], dtype=np.int64))
            flat = model.make_new_valueinfo_name()
            index = list(model.graph.node).index(node)
            model.graph.node.insert(
                index, helper.make_node("Reshape", [node.input[0], target], [flat]))
            model.set_tensor_shape(flat, [1, n * d])
            model.set_tensor_datatype(flat, model.get_tensor_datatype(node.input[0]))
            matmul.input[0] = flat
            model.set_initializer(matmul.input[1], np.tile(w, (n, 1)))
            model.graph.node.remove(node)
            return model, True
        return model, False


def tokens_channels_last(model: ModelWrapper) -> ModelWrapper:
    """Thresholds of (batch, tokens, features) tensors act on the features: FINN's
    QONNX conversion annotates every MultiThreshold ``NC``, which qonnx reads as channel
    axis 1 (the tokens) on a 3-D input."""
    for node in model.get_nodes_by_op_type("MultiThreshold"):
        if len(model.get_tensor_shape(node.input[0])) == 3:
            getCustomOp(node).set_nodeattr("data_layout", "NWC")
    return model


def streamline_vit(model: ModelWrapper) -> ModelWrapper:
    """FINN's streamlining around this module's moves (see the module doc): the sign
    biases and the embedding's per-feature scale first, so that FINN absorbs them; the
    residual forks and joins as for the CNN family; the scales through the attention
    ops last, into the thresholds behind them."""
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.reorder import (
        MoveLinearPastEltwiseAdd,
        MoveLinearPastFork,
        MoveScalarLinearPastInvariants,
        MoveScalarMulPastMatMul,
    )

    model = tokens_channels_last(model)
    model = model.transform(MoveScalarLinearBeforeReshape())
    model = model.transform(MoveChannelMulPastMergingReshape())
    model = model.transform(Streamline())
    model = model.transform(MoveLinearPastFork())
    model = model.transform(Streamline())
    model = model.transform(MoveLinearPastEltwiseAdd())
    model = model.transform(Streamline())
    model = model.transform(MoveScalarLinearPastInvariants())
    model = model.transform(MoveScalarMulPastAttention())
    model = model.transform(MoveScalarMulPastMatMul())  # the pooled scale past the classifier
    return model.transform(SumPoolIntoClassifier())
