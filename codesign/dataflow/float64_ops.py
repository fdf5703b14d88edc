"""Float64 kernels for the QONNX graph's float64 execution, the lowering's reference
(:func:`codesign.dataflow.lower.execute_float64`).

- qonnx's ``Quant`` rounds its output to float32: a quantized weight ``q * s`` then
  differs from the integer times the scale that the lowered graph (and the hardware)
  computes with, by enough to move a sum that lies within ~1e-5 of a rounding boundary
  across it. Here ``q * s`` stays exact in float64.
- onnxruntime's CPU provider has no float64 Conv or GlobalAveragePool, exactly the ops
  that sum; they run here in numpy. Other ops without a float64 kernel (Resize, Erf, ...)
  do not sum and run in float32.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from onnx import NodeProto, helper

from codesign.errors import LoweringError

Context = dict[str, Any]


def _attrs(node: NodeProto) -> dict[str, Any]:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def conv(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, *, strides: list[int],
         pads: list[int], dilations: list[int], group: int) -> np.ndarray:
    """ONNX Conv (N, C, *spatial) in float64: each output a sum over its window.

    >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
    >>> conv(x, np.ones((1, 1, 2, 2)), None, strides=[2, 2], pads=[0, 0, 0, 0],
    ...      dilations=[1, 1], group=1)[0, 0].tolist()
    [[10.0, 18.0], [42.0, 50.0]]
    """
    d = w.ndim - 2
    n = x.shape[0]
    m, cg, *k = w.shape
    x = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + d]) for i in range(d)])
    span = [(k[i] - 1) * dilations[i] + 1 for i in range(d)]
    win = sliding_window_view(x, span, axis=tuple(range(2, 2 + d)))
    win = win[(slice(None), slice(None), *(slice(None, None, s) for s in strides),
               *(slice(None, None, dl) for dl in dilations))]
    out_shape = win.shape[2 : 2 + d]
    win = win.reshape(n, group, cg, *out_shape, *k)
    wg = w.reshape(group, m // group, cg, *k)
    o, kk = "opq"[:d], "rst"[:d]
    y = np.einsum(f"ngc{o}{kk},gmc{kk}->ngm{o}", win, wg).reshape(n, m, *out_shape)
    return y if b is None else y + b.reshape(1, m, *([1] * d))


def _conv(node: NodeProto) -> Callable[[Context], None]:
    a = _attrs(node)
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        raise LoweringError(f"node {node.name} (Conv): auto_pad={a['auto_pad']!r} is not "
                            "executed in float64; give explicit pads")

    def run(ctx: Context) -> None:
        x, w = (np.asarray(ctx[t], dtype=np.float64) for t in node.input[:2])
        b = np.asarray(ctx[node.input[2]], dtype=np.float64) if len(node.input) > 2 else None
        d = w.ndim - 2
        ctx[node.output[0]] = conv(
            x, w, b, strides=list(a.get("strides", [1] * d)), pads=list(a.get("pads", [0] * 2 * d)),
            dilations=list(a.get("dilations", [1] * d)), group=int(a.get("group", 1)),
        )

    return run


def _global_average_pool(node: NodeProto) -> Callable[[Context], None]:
    def run(ctx: Context) -> None:
        x = np.asarray(ctx[node.input[0]], dtype=np.float64)
        ctx[node.output[0]] = x.mean(axis=tuple(range(2, x.ndim)), keepdims=True)

    return run


def _quant(node: NodeProto) -> Callable[[Context], None]:
    """qonnx's Quant/IntQuant without its cast of the result to float32."""
    from qonnx.custom_op.general.intquant import int_quant

    a = _attrs(node)

    def run(ctx: Context) -> None:
        x, scale, zeropt, bits = (np.asarray(ctx[t], dtype=np.float64) for t in node.input)
        rounding = a.get("rounding_mode", b"ROUND")
        ctx[node.output[0]] = np.asarray(int_quant(
            x, scale, zeropt, bits, int(a.get("signed", 1)), int(a.get("narrow", 0)),
            rounding.decode() if isinstance(rounding, bytes) else rounding,
        ), dtype=np.float64)

    return run


FLOAT64_OPS: dict[str, Callable[[NodeProto], Callable[[Context], None]]] = {
    "Conv": _conv,
    "GlobalAveragePool": _global_average_pool,
    "Quant": _quant,
    "IntQuant": _quant,
}
"""Per op type, a maker of the node's float64 execution."""
