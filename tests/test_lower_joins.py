"""User graphs with joins and resampling through the lowering: a UNet-style net (conv,
max-pool, conv, nearest upsampling, concat with the skip, conv) and a global-average-pool
classifier, exported from tiny Brevitas modules built here and imported as a user's
QONNX file; the Resize and Concat inputs the lowering cannot compute are named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import brevitas.nn as qnn
import numpy as np
import onnx
import pytest
import torch
from brevitas.export import export_qonnx
from brevitas.quant.scaled_int import Int8WeightPerChannelFloat, Uint8ActPerTensorFloat
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model
from torch import nn

from codesign.config import parse_config
from codesign.dataflow.lower import load_lowered
from codesign.errors import LoweringError
from codesign.flow.runner import run_flow
from codesign.frontend.onnx_import import allowed_ops

FRAMES = 8


def _conv(i: int, o: int, k: int) -> nn.Module:
    return qnn.QuantConv2d(i, o, k, padding=k // 2, bias=False,
                           weight_quant=Int8WeightPerChannelFloat)


def _act(quant_tensor: bool = False) -> nn.Module:
    return qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat, return_quant_tensor=quant_tensor)


class UNet(nn.Module):
    """conv -> (skip) max-pool -> conv -> upsample x2 -> concat with the skip -> conv.
    ``shared``: both joined tensors come out of one activation quantizer (one scale)."""

    def __init__(self, shared: bool, brevitas_upsample: bool, c: int = 4) -> None:
        super().__init__()
        self.conv1, self.act1 = _conv(1, c, 3), _act(brevitas_upsample)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = _conv(c, c, 3)
        self.act2 = self.act1 if shared else _act(brevitas_upsample)
        self.up = (qnn.QuantUpsamplingNearest2d(scale_factor=2) if brevitas_upsample
                   else nn.Upsample(scale_factor=2, mode="nearest"))
        self.conv3 = _conv(2 * c, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.act1(self.conv1(x))
        h = self.act2(self.conv2(self.pool(skip)))
        out = self.conv3(torch.cat([self.up(h), skip], dim=1))
        assert isinstance(out, torch.Tensor)
        return out


class PoolClassifier(nn.Module):
    """conv -> global average pool -> linear, no quantizer between pool and linear: the
    pool's 1/(H*W) moves past the classifier into the host's final scale."""

    def __init__(self, c: int = 4) -> None:
        super().__init__()
        self.conv, self.act = _conv(1, c, 3), _act(quant_tensor=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = qnn.QuantLinear(c, 10, bias=True, weight_quant=Int8WeightPerChannelFloat)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc(torch.flatten(self.pool(self.act(self.conv(x))), 1))
        assert isinstance(out, torch.Tensor)
        return out


def _export(module: nn.Module, out: Path) -> tuple[Path, Path]:
    """Calibrate ``module`` on random pixel codes, export it as a QONNX file with a UINT8
    input and write a test set beside it."""
    torch.manual_seed(0)
    x = torch.randint(0, 256, (64, 1, 8, 8)).float()
    module.train()
    with torch.no_grad():
        for _ in range(60):  # the activation scales' statistics
            module(x)
    module.eval()
    out.mkdir(parents=True, exist_ok=True)
    path = out / "net.onnx"
    export_qonnx(module, torch.zeros(1, 1, 8, 8), export_path=str(path), dynamo=False)
    graph = cleanup_model(ModelWrapper(str(path)))
    graph.set_tensor_datatype(graph.graph.input[0].name, DataType["UINT8"])
    graph.save(str(path))
    data = out / "test.npz"
    codes = np.random.default_rng(0).integers(0, 256, (16, 1, 8, 8)).astype(np.float32)
    np.savez(data, x=codes)
    return path, data


def _cfg(model: Path, data: Path) -> Any:
    return parse_config({
        "name": "joins",
        "model": {"kind": "onnx", "path": str(model)},
        "data": {"kind": "npz", "path": str(data), "input_type": "UINT8"},
        "fold": {"target_cycles": 256},
        "sim": {"simulator": "icarus", "frames": FRAMES},
        "synth": {"enabled": False},
    })


def _ops(path: Path) -> list[str]:
    return [n.op_type for n in load_lowered(path).graph.node]


@pytest.fixture(scope="module")
def unet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return _export(UNet(shared=True, brevitas_upsample=False), tmp_path_factory.mktemp("unet"))


def test_import_accepts_joins_and_resampling() -> None:
    ops = allowed_ops()[""]
    assert {"Resize", "Upsample", "GlobalAveragePool", "Split", "Concat"} <= ops


@pytest.mark.sim
@pytest.mark.slow
def test_unet_is_one_hw_partition_bit_exact(unet: tuple[Path, Path], tmp_path: Path) -> None:
    """MoveMulPastJoinConcat takes the shared scale past the Concat, MakeScaleResizeNHWC
    and MoveTransposePastJoinConcat leave no Transpose inside: one partition with the
    upsample, concat and duplicate_streams kernels, equal to the QONNX graph, and the
    accelerator bit-exact under stalls."""
    r = run_flow(_cfg(*unet), tmp_path).results
    lower = json.loads((tmp_path / "manifest.json").read_text())["steps"]["lower"]["result"]
    parent, child = (tmp_path / p for p in lower["artefacts"][:2])
    assert [op for op in _ops(parent) if op != "StreamingDataflowPartition"] == [
        "Transpose", "Transpose", "Mul"]  # NCHW in, NCHW logits out, the float scale
    assert {"UpsampleNearestNeighbour", "StreamingConcat", "DuplicateStreams", "Pool",
            "MVAU"} <= set(_ops(child))
    assert r["agreement"]["hw_graph"] == 1.0
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == FRAMES and ver["mismatches"] == 0
    assert r["cycles"]["ii_error"] <= 0.05, r["cycles"]


def test_brevitas_upsampling_lowers_alike(tmp_path: Path) -> None:
    """QuantUpsamplingNearest2d on QuantTensors exports the same Resize."""
    model, data = _export(UNet(shared=True, brevitas_upsample=True), tmp_path / "net")
    r = run_flow(_cfg(model, data), tmp_path / "build", until="lower").results
    assert r["agreement"]["hw_graph"] == 1.0


def test_global_pool_scale_moves_past_the_classifier(tmp_path: Path) -> None:
    """GlobalAveragePool -> MatMul: the second streamlining pass moves the GlobalAccPool's
    1/(H*W) past the MatMul into the final Mul; the classifier is an MVAU."""
    model, data = _export(PoolClassifier(), tmp_path / "net")
    r = run_flow(_cfg(model, data), tmp_path / "build", until="lower").results
    assert r["agreement"]["hw_graph"] == 1.0
    assert [ly["op_type"] for ly in r["layers"]][-2:] == ["GlobalAccPool", "MVAU"]


def test_concat_of_different_scales_is_named(tmp_path: Path) -> None:
    model, data = _export(UNet(shared=False, brevitas_upsample=False), tmp_path / "net")
    with pytest.raises(LoweringError, match=r"cannot lower node Concat_0 \(op type Concat\): "
                       r"its inputs carry different scales \(Mul_\d x [0-9.e-]+, Mul_\d x "
                       r"[0-9.e-]+\)"):
        run_flow(_cfg(model, data), tmp_path / "build", until="lower")


def _resize_graph(path: Path, scales: list[float], **attrs: Any) -> Path:
    """UINT8 (1, 1, 4, 4) -> Resize(scales) -> output."""
    out = [int(4 * s) for s in scales]
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], name="Resize_0", **attrs)
    graph = helper.make_graph(
        [node], "resize", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1, *out[2:]])],
        initializer=[helper.make_tensor("scales", TensorProto.FLOAT, [4], scales)],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


@pytest.mark.parametrize(("scales", "attrs", "hint"), [
    ([1, 1, 2, 2], {"mode": "linear"}, r"mode='linear'; FINN's UpsampleNearestNeighbour"),
    ([1, 1, 1.5, 1.5], {"mode": "nearest"}, r"scales \[1.0, 1.0, 1.5, 1.5\]"),
    ([1, 1, 2, 2], {"mode": "nearest", "coordinate_transformation_mode": "align_corners"},
     r"coordinate_transformation_mode='align_corners' with nearest_mode"),
])
def test_resize_the_accelerator_cannot_compute_is_named(
    tmp_path: Path, scales: list[float], attrs: dict[str, str], hint: str
) -> None:
    model = _resize_graph(tmp_path / "resize.onnx", scales, **attrs)
    data = tmp_path / "test.npz"
    np.savez(data, x=np.zeros((2, 1, 4, 4), dtype=np.float32))
    with pytest.raises(LoweringError, match=r"node Resize_0 \(Resize\): " + hint):
        run_flow(_cfg(model, data), tmp_path / "build", until="lower")


def test_region_error_names_the_kernel_of_an_intermediate_op() -> None:
    """An Im2Col (what streamlining makes of a Conv) left between HW layers is named as
    the sliding window's input, not as an op FINN has no HW layer for."""
    from codesign.dataflow.lower.region import check_region

    hw = "finn.custom_op.fpgadataflow"
    nodes = [
        helper.make_node("Layer", ["x"], ["a"], name="hw_0", domain=hw),
        helper.make_node("Im2Col", ["a"], ["b"], name="Im2Col_0", domain="qonnx.custom_op.general"),
        helper.make_node("Layer", ["b"], ["y"], name="hw_1", domain=hw),
    ]
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in "xaby"]
    graph = helper.make_graph(nodes, "g", [vi[0]], [vi[3]], value_info=vi[1:3])
    with pytest.raises(LoweringError, match=r"cannot lower node Im2Col_0 \(op type Im2Col\): "
                       r"FINN lowers Im2Col only on integer inputs, but a is FLOAT32"):
        check_region(ModelWrapper(helper.make_model(graph)))
