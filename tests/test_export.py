from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import onnx
import pytest
import torch
from brevitas.quant import Uint8ActPerTensorFloat
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper

import codesign.frontend.export as export_mod
from codesign.config import QuantConfig, TrainConfig
from codesign.errors import ExportMismatchError
from codesign.frontend.data import DigitsSplit, load_digits_split
from codesign.frontend.export import check_equivalence, export_qonnx
from codesign.frontend.models import build_model
from codesign.frontend.models.mlp import MLPConfig as ModelConfig
from codesign.frontend.quant.train import train_model

METHODS = ["float", "baseline", "a2q", "a2q_plus"]


@pytest.fixture(scope="module")
def split() -> DigitsSplit:
    return load_digits_split(8)


@pytest.fixture(scope="module")
def trained(split: DigitsSplit) -> dict[str, tuple[torch.nn.Module, QuantConfig]]:
    models = {}
    for method in METHODS:
        quant = QuantConfig(method=method)
        model = build_model(ModelConfig(hidden=[24, 16]), quant)
        train_model(model, split, TrainConfig(epochs=3))
        models[method] = (model, quant)
    return models


@pytest.mark.parametrize("method", METHODS)
def test_export_matches_torch(
    method: str, trained: dict, split: DigitsSplit, tmp_path: Path
) -> None:
    model, quant = trained[method]
    res = export_qonnx(model, quant, split.x_test, tmp_path / "model.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    report = check_equivalence(model, res.path, split.x_test, split.y_test)
    assert report.n == 360 and report.predictions_equal and report.batched
    assert report.max_abs_diff <= 1e-5
    assert report.onnx_accuracy == report.torch_accuracy

    graph = ModelWrapper(str(res.path))
    assert res.input_shape == (1, 64) and res.input_datatype == "UINT8"
    assert graph.get_tensor_datatype(res.input_name) == DataType["UINT8"]
    # the pixel codes feed the first MatMul directly: no input quantizer/threshold in front
    assert graph.find_consumer(res.input_name).op_type == "MatMul"
    quants = graph.get_nodes_by_op_type("Quant")
    weight_quants = [q for q in quants if graph.get_initializer(q.input[0]) is not None]
    assert len(weight_quants) == (0 if method == "float" else 3)
    assert len(res.fixed_weight_quants) == len(weight_quants)


@pytest.mark.parametrize("method", ["a2q", "a2q_plus"])
def test_raw_brevitas_export_of_a2q_mismatches_and_the_fix_matches(
    method: str, trained: dict, split: DigitsSplit, tmp_path: Path
) -> None:
    """Brevitas 0.13.4 exports A2Q/A2Q+ weight Quant nodes with the float parameter as
    input (no L1 pre-scale, no zero-centring) and ROUND instead of round-to-zero."""
    model, quant = trained[method]
    raw = export_qonnx(model, quant, split.x_test, tmp_path / "raw.onnx", fix_weight_quant=False)
    graph = ModelWrapper(str(raw.path))
    first_weight = graph.get_nodes_by_op_type("Quant")[0]
    param = graph.get_initializer(first_weight.input[0])
    torch_param = model.blocks[0][0].weight.detach().numpy()
    assert np.array_equal(param, torch_param) or np.array_equal(param, torch_param.T)
    with pytest.raises(
        ExportMismatchError, match=r"first differing tensor .*weight of torch module"
    ):
        check_equivalence(model, raw.path, split.x_test, split.y_test)

    fixed = export_qonnx(model, quant, split.x_test, tmp_path / "fixed.onnx")
    report = check_equivalence(model, fixed.path, split.x_test, split.y_test)
    assert report.max_abs_diff <= 1e-5 and report.predictions_equal


def test_mismatch_names_the_first_differing_tensor(
    trained: dict, split: DigitsSplit, tmp_path: Path
) -> None:
    model, quant = trained["baseline"]
    res = export_qonnx(model, quant, split.x_test, tmp_path / "m.onnx")
    graph = ModelWrapper(str(res.path))
    bn = graph.get_nodes_by_op_type("BatchNormalization")[1]
    bias = graph.get_initializer(bn.input[2])
    graph.set_initializer(bn.input[2], bias + 0.5)
    broken = tmp_path / "broken.onnx"
    graph.save(str(broken))
    with pytest.raises(ExportMismatchError, match=rf"'{bn.output[0]}' \(batchnorm of torch module"):
        check_equivalence(model, broken, split.x_test, split.y_test)


def test_equivalence_falls_back_to_image_by_image(
    trained: dict, split: DigitsSplit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, quant = trained["a2q"]
    res = export_qonnx(model, quant, split.x_test, tmp_path / "m.onnx")

    def no_batch(_bsize: int) -> None:
        raise RuntimeError("graph fixed to batch 1")

    monkeypatch.setattr(export_mod, "ChangeBatchSize", no_batch)
    report = check_equivalence(model, res.path, split.x_test[:20], split.y_test[:20])
    assert not report.batched and report.n == 20 and report.predictions_equal


def test_failed_export_leaves_nothing_half_written(
    trained: dict, split: DigitsSplit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, quant = trained["a2q"]
    out = tmp_path / "model.onnx"
    out.write_bytes(b"previous")

    def boom(_model: ModelWrapper) -> ModelWrapper:
        raise RuntimeError("cleanup failed")

    monkeypatch.setattr(export_mod, "cleanup_model", boom)
    with pytest.raises(RuntimeError, match="cleanup failed"):
        export_qonnx(model, quant, split.x_test, out)
    assert out.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_export_file_is_a_valid_onnx_model(
    trained: dict, split: DigitsSplit, tmp_path: Path
) -> None:
    model, quant = trained["a2q_plus"]
    res = export_qonnx(model, quant, split.x_test, tmp_path / "m.onnx")
    onnx.checker.check_model(onnx.load(str(res.path)))
    assert res.op_types.count("MatMul") + res.op_types.count("Gemm") == 3


class _PooledTokens(torch.nn.Module):
    """(B, N, 4) codes -> an unsigned quantizer -> the sum over the N tokens -> a linear
    classifier: a ViT's sum pooling, whose float32 sum torch and onnxruntime take in
    different orders."""

    def __init__(self) -> None:
        super().__init__()
        self.act = qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat)
        self.fc = qnn.QuantLinear(4, 3, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # 0.0029: no code sits within 1e-3 steps of a rounding tie (no excused image)
        return self.fc(self.act(x * 0.0029).sum(dim=1))


def test_outputs_of_a_long_sum_agree_to_float32_rounding(tmp_path: Path) -> None:
    """Logits near 200 made of a sum over 1024 tokens differ by float32 rounding alone
    (~1e-4, far above 1e-5 absolute, 6e-7 relative): no mismatch, and no image excused
    as a tie; an error of 1e-3 relative still is one."""
    torch.manual_seed(0)
    model = _PooledTokens().eval()
    x = np.random.default_rng(0).integers(0, 256, (32, 1024, 4)).astype(np.float32)
    path = export_mod.export_graph(model, "UINT8", x, tmp_path / "m.onnx",
                                   fix_weight_quant=False).path
    report = check_equivalence(model, path, x, None)
    assert report.images_at_ties == 0 and report.predictions_equal
    assert 1e-5 < report.max_abs_diff < 1e-5 * 100  # logits above 100: tolerance 1e-3

    graph = ModelWrapper(str(path))
    (gemm,) = graph.get_nodes_by_op_type("Gemm")
    graph.set_initializer(gemm.input[2], graph.get_initializer(gemm.input[2]) + 0.2)
    graph.save(str(tmp_path / "broken.onnx"))
    with pytest.raises(ExportMismatchError, match="differs from torch"):
        check_equivalence(model, tmp_path / "broken.onnx", x, None)


class _SharedQuantizer(torch.nn.Module):
    """One quantizer module called twice (as a ViT's ``embed_act`` is)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = qnn.QuantLinear(64, 8, bias=True)
        self.fc2 = qnn.QuantLinear(8, 8, bias=True)
        self.act = qnn.QuantReLU(act_quant=Uint8ActPerTensorFloat)
        self.out = qnn.QuantLinear(8, 10, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.fc2(self.act(self.fc1(x / 16)))))


def test_mismatch_compares_each_call_of_a_module_called_twice(
    split: DigitsSplit, tmp_path: Path
) -> None:
    """The first call's output is compared with the first call's graph tensor (not with
    the second call's output), so the culprit is the broken layer after it."""
    torch.manual_seed(0)
    model = _SharedQuantizer().eval()
    x = split.x_test[:64]
    path = export_mod.export_graph(model, "UINT8", x, tmp_path / "m.onnx",
                                   fix_weight_quant=False).path
    assert check_equivalence(model, path, x, None).max_abs_diff <= 1e-5
    graph = ModelWrapper(str(path))
    second = graph.get_nodes_by_op_type("Gemm")[1]
    graph.set_initializer(second.input[2], graph.get_initializer(second.input[2]) + 0.5)
    graph.save(str(tmp_path / "broken.onnx"))
    with pytest.raises(ExportMismatchError,
                       match=rf"'{second.output[0]}' \(linear of torch module 'fc2'"):
        check_equivalence(model, tmp_path / "broken.onnx", x, None)
