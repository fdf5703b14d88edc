"""The installed set imports and is consistent (finn-plus is installed without its pins)."""

import subprocess
import sys

import pytest

KNOWN_CONFLICT = "finn-plus 1.6.1 has requirement brevitas==0.13.0"


@pytest.mark.parametrize(
    "module",
    ["torch", "brevitas", "qonnx", "finn", "onnx", "onnxruntime", "cocotb", "cocotb_tools",
     "cocotbext.axi", "sklearn", "psutil", "mip", "bitstring"],
)
def test_imports(module: str) -> None:
    __import__(module)


def test_pip_check_reports_only_the_known_brevitas_pin() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, check=False
    )
    problems = [
        line for line in proc.stdout.splitlines()
        if line.strip() and not line.startswith(KNOWN_CONFLICT)
    ]
    assert problems == [], proc.stdout


def test_finn_transformation_runs_without_vendor_tools() -> None:
    """A FINN transformation on a QONNX graph, and the generic HW op executes in Python."""
    import numpy as np
    from finn.transformation.fpgadataflow.convert_to_hw.thresholding import InferThresholdingLayer
    from onnx import TensorProto, helper
    from qonnx.core.datatype import DataType
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.custom_op.registry import getCustomOp

    node = helper.make_node(
        "MultiThreshold", ["x", "t"], ["y"], name="mt", domain="qonnx.custom_op.general",
        out_dtype="UINT2",
    )
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
    )
    model = ModelWrapper(helper.make_model(graph))
    model.set_initializer("t", np.array([[0, 2, 4]] * 4, dtype=np.float32))
    model.set_tensor_datatype("x", DataType["UINT4"])
    model.set_tensor_datatype("t", DataType["UINT4"])
    model.set_tensor_datatype("y", DataType["UINT2"])
    model = model.transform(InferThresholdingLayer())
    assert model.graph.node[0].op_type == "Thresholding"
    getCustomOp(model.graph.node[0]).set_nodeattr("PE", 2)
    x = np.array([[0, 1, 3, 9]], dtype=np.float32)
    y = execute_onnx(model, {"x": x})["y"]
    assert y.tolist() == [[1, 1, 2, 3]]
