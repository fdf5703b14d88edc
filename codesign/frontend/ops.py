"""codesign's graph-level attention ops, the custom-op domain the ViT family exports to.

qonnx resolves a node's domain by importing the module of that name and reading its
``custom_op`` dict, so a graph with these nodes executes in Python (``execute_onnx``) as
torch computes it (:mod:`codesign.frontend.models.vit.attention` calls the same
:mod:`codesign.attention` functions). They are the QONNX level, as ONNX's ``Softmax`` is
for FINN: they take the real-valued (scaled) tensors of the graph and carry the scales
that make their integers, and the lowering turns them into hardware kernels.

* ``AttentionScores(q, k)``: per head, ``s[i, h, j] = q[i, h, :] . k[j, h, :]`` of
  (N, heads, dh) queries and keys (the graph reshapes (N, d) to them, which leaves a
  stream's order unchanged), shape (N, heads, N);
* ``IntSoftmax(s)``: :func:`codesign.attention.int_softmax` over the last axis of the
  integers ``round(s / in_scale)``, times ``out_scale`` (``2^-out_bits`` as exported);
* ``AttentionMix(a, v)``: per head, ``o[i, h, :] = sum_j a[i, h, j] v[j, h, :]`` of
  (N, heads, N) weights and (N, heads, dh) values, shape (N, heads, dh);
* ``LinearAttention(q, k, v)``: :func:`codesign.attention.linear_attention` of the
  integers ``round(x / x_scale)``, times ``out_scale`` (``v_scale 2^-frac`` as exported).

Streamlining moves the scales into and out of the ops (``in_scale`` and ``out_scale``
1), which then compute on the integers alone.

Sums run in float64 and are rounded to float32 once: the mix's products (8-bit codes
times float32 values of at most 8-bit integers) are exact in float64 whatever the order
of the sum, so torch and numpy give the same float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
from onnx import NodeProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.base import CustomOp

from codesign import attention, bounds

DOMAIN = __name__
"""The ONNX domain of the graph-level attention ops."""

FloatArray = npt.NDArray[np.float32]


SCORES = "...ihc,...jhc->...ihj"
"""AttentionScores as an einsum: queries (i), keys (j), heads (h), head features (c)."""
MIX = "...ihj,...jhc->...ihc"
"""AttentionMix as an einsum."""


def scores(q: npt.NDArray[Any], k: npt.NDArray[Any]) -> FloatArray:
    """(..., N, heads, dh) queries and keys -> (..., N, heads, N) dot products."""
    return np.einsum(SCORES, q.astype(np.float64), k.astype(np.float64)).astype(np.float32)


def mix(a: npt.NDArray[Any], v: npt.NDArray[Any]) -> FloatArray:
    """(..., N, heads, N) weights and (..., N, heads, dh) values -> (..., N, heads, dh)."""
    return np.einsum(MIX, a.astype(np.float64), v.astype(np.float64)).astype(np.float32)


def to_int(x: npt.NDArray[Any], scale: float) -> npt.NDArray[np.int64]:
    """The integers of a tensor quantized with ``scale`` (float32, as ONNX stores it)."""
    return np.rint(x.astype(np.float64) / np.float64(np.float32(scale))).astype(np.int64)


def scaled(ints: npt.NDArray[np.int64], scale: float) -> FloatArray:
    """``ints * scale`` rounded once to float32 (``scale`` as float32, as ONNX stores it)."""
    return (ints.astype(np.float64) * np.float64(np.float32(scale))).astype(np.float32)


def softmax_values(s: npt.NDArray[Any], in_scale: float, out_scale: float, lut: npt.ArrayLike,
                   out_bits: int, recip: int) -> FloatArray:
    """IntSoftmax's output: the integer softmax of ``round(s / in_scale)``, scaled."""
    return scaled(attention.int_softmax(to_int(s, in_scale), lut, out_bits, recip), out_scale)


def linear_values(q: npt.NDArray[Any], k: npt.NDArray[Any], v: npt.NDArray[Any],
                  scales: tuple[float, float, float], out_scale: float, heads: int, mult: int,
                  shift: int, frac: int) -> FloatArray:
    """LinearAttention's output: ``Z`` of the operands' integers, scaled."""
    z = attention.linear_attention(
        to_int(q, scales[0]), to_int(k, scales[1]), to_int(v, scales[2]), heads, mult, shift,
        frac,
    )
    return scaled(z, out_scale)


def _range(model: ModelWrapper, tensor: str) -> tuple[int, int] | None:
    """The integer range of a tensor's data type, None for a float one."""
    dt = model.get_tensor_datatype(tensor)
    return (int(dt.min()), int(dt.max())) if dt.is_integer() else None


def int_type(lo: int, hi: int) -> DataType:
    """The smallest qonnx integer type holding ``[lo, hi]``.

    >>> int_type(0, 255).name, int_type(-300, 12).name
    ('UINT8', 'INT10')
    """
    bits, signed = bounds.bits_for_range(lo, hi)
    return DataType[f"{'INT' if signed else 'UINT'}{bits}"]


def _dot_type(a: tuple[int, int], b: tuple[int, int], terms: int) -> DataType:
    """The type of a sum of ``terms`` products of values in ranges ``a`` and ``b``."""
    ends = [x * y for x in a for y in b]
    return int_type(terms * min(ends), terms * max(ends))


class _AttentionOp(CustomOp):
    """What the four ops share: one output, float unless the op computes on integers
    (its inputs integer, its scales 1), no checks beyond qonnx's.

    Their shape stand-ins are standard ops on the inputs (not constant shapes), so that
    shape inference follows a change of the batch size."""

    def infer_node_datatype(self, model: ModelWrapper) -> None:
        ranges = [_range(model, name) for name in self.onnx_node.input]
        scales = [a.name for a in self.onnx_node.attribute if a.name.endswith("scale")]
        exact = all(r is not None for r in ranges) and all(
            self.get_nodeattr(a) == 1.0 for a in scales
        )
        out = self._int_out(model, ranges) if exact else DataType["FLOAT32"]
        model.set_tensor_datatype(self.onnx_node.output[0], out)

    def _int_out(self, model: ModelWrapper, ranges: list[Any]) -> DataType:
        """The output type when every input is an integer tensor in ``ranges``."""
        raise NotImplementedError

    def verify_node(self) -> list[str]:
        return []

    def _like(self, i: int, equation: str = "") -> NodeProto:
        """A stand-in whose output has input ``i``'s shape, or the einsum's."""
        node = self.onnx_node
        if equation:
            return helper.make_node("Einsum", list(node.input), [node.output[0]],
                                    equation=equation)
        return helper.make_node("Identity", [node.input[i]], [node.output[0]])


class AttentionScores(_AttentionOp):
    def get_nodeattr_types(self) -> dict[str, Any]:
        return {}

    def make_shape_compatible_op(self, model: ModelWrapper) -> NodeProto:
        return self._like(0, SCORES)

    def _int_out(self, model: ModelWrapper, ranges: list[Any]) -> DataType:
        return _dot_type(ranges[0], ranges[1], model.get_tensor_shape(self.onnx_node.input[0])[-1])

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        q, k = (context[name] for name in node.input)
        context[node.output[0]] = scores(q, k)


class IntSoftmax(_AttentionOp):
    def get_nodeattr_types(self) -> dict[str, Any]:
        return {
            "in_scale": ("f", True, 1.0),
            "out_scale": ("f", True, 1.0),
            "lut": ("ints", True, []),
            "out_bits": ("i", True, attention.OUT_BITS),
            "recip_bits": ("i", True, 0),
        }

    def make_shape_compatible_op(self, model: ModelWrapper) -> NodeProto:
        return self._like(0)

    def _int_out(self, model: ModelWrapper, ranges: list[Any]) -> DataType:
        return DataType[f"UINT{self.get_nodeattr('out_bits')}"]

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        context[node.output[0]] = softmax_values(
            context[node.input[0]], self.get_nodeattr("in_scale"),
            self.get_nodeattr("out_scale"), self.get_nodeattr("lut"),
            self.get_nodeattr("out_bits"), self.get_nodeattr("recip_bits"),
        )


class AttentionMix(_AttentionOp):
    def get_nodeattr_types(self) -> dict[str, Any]:
        return {}

    def make_shape_compatible_op(self, model: ModelWrapper) -> NodeProto:
        return self._like(1, MIX)

    def _int_out(self, model: ModelWrapper, ranges: list[Any]) -> DataType:
        return _dot_type(ranges[0], ranges[1], model.get_tensor_shape(self.onnx_node.input[0])[-1])

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        a, v = (context[name] for name in node.input)
        context[node.output[0]] = mix(a, v)


class LinearAttention(_AttentionOp):
    def get_nodeattr_types(self) -> dict[str, Any]:
        return {
            "heads": ("i", True, 1),
            "q_scale": ("f", True, 1.0),
            "k_scale": ("f", True, 1.0),
            "v_scale": ("f", True, 1.0),
            "out_scale": ("f", True, 1.0),
            "mult": ("i", True, 0),
            "shift": ("i", True, 0),
            "frac": ("i", True, attention.FRAC_BITS),
        }

    def make_shape_compatible_op(self, model: ModelWrapper) -> NodeProto:
        return self._like(2)

    def _int_out(self, model: ModelWrapper, ranges: list[Any]) -> DataType:
        n, d = model.get_tensor_shape(self.onnx_node.input[0])[-2:]
        widths = attention.linear_widths(
            n, d // self.get_nodeattr("heads"), ranges[0], ranges[1], ranges[2],
            self.get_nodeattr("mult"), self.get_nodeattr("shift"), self.get_nodeattr("frac"),
        )
        return DataType[f"INT{widths.out}"]

    def execute_node(self, context: dict[str, Any], graph: Any) -> None:
        node = self.onnx_node
        q, k, v = (context[name] for name in node.input)
        scales = (self.get_nodeattr("q_scale"), self.get_nodeattr("k_scale"),
                  self.get_nodeattr("v_scale"))
        context[node.output[0]] = linear_values(
            q, k, v, scales, self.get_nodeattr("out_scale"), self.get_nodeattr("heads"),
            self.get_nodeattr("mult"), self.get_nodeattr("shift"), self.get_nodeattr("frac"),
        )


custom_op: dict[str, type[CustomOp]] = {
    op.__name__: op for op in (AttentionScores, IntSoftmax, AttentionMix, LinearAttention)
}
"""qonnx's custom-op table of :data:`DOMAIN`."""
