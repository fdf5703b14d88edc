"""Streamlining's thresholds equal QONNX's rounding (codesign.dataflow.lower.exact):
ties go half to even, and integers beyond float32's exact range stay exact."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.basic import qonnx_make_model

from codesign.config import parse_config
from codesign.dataflow.lower import exact, execute_float64, execute_parent
from codesign.dataflow.lower.steps import step_qonnx_to_finn, step_streamline, step_tidy_up

CFG = parse_config({"model": {"kind": "mlp"}, "quant": {"method": "baseline"}})
QONNX = "qonnx.custom_op.general"


def _quant_graph(in_dtype: str, scale: float, bits: int, signed: bool) -> ModelWrapper:
    """Integer codes (one row of 16) through one activation Quant that rounds."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 16])
    inits = [numpy_helper.from_array(np.array(v, dtype=np.float32), n)
             for n, v in (("s", scale), ("z", 0.0), ("b", float(bits)))]
    quant = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], domain=QONNX,
                             signed=int(signed), narrow=0, rounding_mode="ROUND")
    graph = helper.make_graph([quant], "q", [x], [y], initializer=inits)
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    model.set_tensor_datatype("x", DataType[in_dtype])
    return model


def _streamlined(model: ModelWrapper) -> ModelWrapper:
    for step in (step_qonnx_to_finn, step_tidy_up, step_streamline):
        model = step(model, CFG)
    return model


def test_ties_round_half_to_even() -> None:
    """Codes 0..15 halved: every odd code is a tie; QONNX rounds 1/2 -> 0, 3/2 -> 2,
    5/2 -> 2, where FINN's thresholds (x >= t) give 1, 2, 3."""
    model = _quant_graph("UINT4", 2.0, 3, False)
    x = np.arange(16, dtype=np.float32)[None]
    want = execute_float64(model, x)
    assert want[0, :6].tolist() == [0, 0, 2, 4, 4, 4]  # round(x / 2) * 2, half to even
    got = execute_parent(_streamlined(model), x)
    assert np.array_equal(got, want)


def test_ties_go_half_up_without_the_nudge(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test above can fail: without the nudge the ties come out as FINN rounds them."""
    monkeypatch.setattr(exact, "nudge_ties", lambda model, scales: model)
    model = _quant_graph("UINT4", 2.0, 3, False)
    x = np.arange(16, dtype=np.float32)[None]
    got = execute_parent(_streamlined(model), x)
    assert got[0, :6].tolist() == [0, 2, 2, 4, 4, 6]


def test_signed_ties_and_thresholds_beyond_float32() -> None:
    """A signed 5-bit quantizer on 28-bit codes with an even scale: its thresholds
    (q - 0.5) * scale are odd integers, ties for integer inputs, beyond 2^24 where float32
    holds only even ones; they stay float64 and exact."""
    scale = 2.0**21 + 2.0
    model = _quant_graph("INT28", scale, 5, True)
    ties = [(q - 0.5) * scale for q in (-15, -8, 9, 12, 15)]
    x = np.array([[t + d for t in ties for d in (-1, 0, 1)] + [0.0]])
    lowered = _streamlined(model)
    (node,) = lowered.get_nodes_by_op_type("MultiThreshold")
    thresholds = lowered.get_initializer(node.input[1])
    assert thresholds.dtype == np.float64 and np.abs(thresholds).max() > 2**24
    assert np.array_equal(execute_parent(lowered, x), execute_float64(model, x))
