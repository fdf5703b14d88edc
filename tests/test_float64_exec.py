"""The float64 execution of a QONNX graph, the lowering's reference: numpy Conv and
GlobalAveragePool equal onnxruntime's float32 ones to float32 rounding, on every
attribute combination the exporters emit, and a whole graph runs in float64."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnxruntime as rt
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.basic import qonnx_make_model

from codesign.dataflow.float64_ops import conv
from codesign.dataflow.lower import execute_float64, execute_parent


def _conv_model(x_shape: list[int], w: np.ndarray, **attrs: Any) -> ModelWrapper:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], **attrs),
             helper.make_node("GlobalAveragePool", ["c"], ["y"])]
    graph = helper.make_graph(nodes, "g", [x], [y],
                              initializer=[numpy_helper.from_array(w.astype(np.float32), "w")])
    model = ModelWrapper(qonnx_make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    from qonnx.transformation.infer_shapes import InferShapes

    return model.transform(InferShapes())


CASES = [
    ([1, 4, 7, 7], (6, 4, 3, 3), {"pads": [1, 1, 1, 1]}),
    ([1, 4, 8, 8], (4, 1, 3, 3), {"group": 4, "strides": [2, 2], "pads": [0, 1, 1, 0]}),
    ([1, 6, 9, 9], (6, 3, 2, 3), {"group": 2, "dilations": [2, 1]}),
    ([1, 3, 10], (5, 3, 4), {"strides": [3], "pads": [2, 1]}),
]


@pytest.mark.parametrize(("x_shape", "w_shape", "attrs"), CASES)
def test_conv_equals_onnxruntime(x_shape: list[int], w_shape: tuple[int, ...],
                                 attrs: dict[str, Any]) -> None:
    rng = np.random.default_rng(len(x_shape) + w_shape[0])
    x = rng.integers(-8, 8, x_shape).astype(np.float32)
    w = rng.integers(-4, 4, w_shape).astype(np.float32)
    one = helper.make_graph(
        [helper.make_node("Conv", ["x", "w"], ["y"], **attrs)], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(w, "w")])
    want = rt.InferenceSession(helper.make_model(one).SerializeToString()).run(None, {"x": x})[0]
    d = len(x_shape) - 2
    got = conv(x.astype(np.float64), w.astype(np.float64), None,
               strides=list(attrs.get("strides", [1] * d)),
               pads=list(attrs.get("pads", [0] * 2 * d)),
               dilations=list(attrs.get("dilations", [1] * d)),
               group=int(attrs.get("group", 1)))
    assert np.array_equal(got, want)  # integer sums: exact in both


def test_graph_in_float64_keeps_what_float32_rounds() -> None:
    """A sum that float32 rounds (2^24 + 1) survives the float64 execution."""
    x = np.full((1, 2, 1, 1), 2.0**23, dtype=np.float32)
    x[0, 1] = 1.0
    model = _conv_model([1, 2, 1, 1], np.ones((1, 2, 1, 1)) * [[[[2.0]], [[1.0]]]])
    assert execute_float64(model, x)[0].item() == 2.0**24 + 1
    assert execute_parent(model, x)[0].item() == 2.0**24


def test_quant_keeps_the_integer_times_its_scale() -> None:
    """qonnx's Quant rounds q * s to float32; the float64 execution keeps q * s exact, as
    the lowered graph computes it (an integer weight, then its scale)."""
    scale = np.float32(0.1)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    inits = [numpy_helper.from_array(np.array(v, dtype=np.float32), n)
             for n, v in (("s", scale), ("z", 0.0), ("b", 8.0))]
    quant = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"],
                             domain="qonnx.custom_op.general", signed=1, narrow=0,
                             rounding_mode="ROUND")
    model = ModelWrapper(qonnx_make_model(helper.make_graph([quant], "q", [x], [y], inits)))
    codes = np.array([[3.0, 7.0, -5.0, 11.0]])
    exact_values = codes * np.float64(scale)
    assert np.array_equal(execute_float64(model, codes * 0.1), exact_values)
    assert not np.array_equal(execute_parent(model, codes * 0.1), exact_values)
