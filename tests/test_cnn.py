"""CNNs on the 1x8x8 digits: config, model, export and lowering to a FINN dataflow graph."""

from __future__ import annotations

from pathlib import Path

import brevitas.nn as qnn
import numpy as np
import pytest
import torch
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.bounds import a2q_l1_limit
from codesign.config import FlowConfig, QuantConfig, TrainConfig, parse_config
from codesign.dataflow.lower import (
    execute_dataflow,
    execute_float64,
    execute_parent,
    load_lowered,
    run_lower,
)
from codesign.errors import ConfigError, ExportMismatchError
from codesign.flow.steps.checks import check_hw_graph
from codesign.frontend.data import DigitsSplit, load_digits_split
from codesign.frontend.export import check_equivalence, export_qonnx
from codesign.frontend.models import build_model
from codesign.frontend.models.cnn import CNNConfig
from codesign.frontend.models.registry import kinds
from codesign.frontend.quant.presets import collect_quant_weights
from codesign.frontend.quant.train import train_model

VARIANTS = {
    "standard": {"kind": "cnn", "conv": [4, 8]},
    "separable": {"kind": "cnn", "conv": [4, 8], "depthwise_separable": True},
    "residual": {"kind": "cnn", "conv": [4, 4], "residual": True, "pool": [False, True]},
}


def _cnn(**model: object) -> CNNConfig:
    cfg = parse_config({"model": {"kind": "cnn", **model}}).model
    assert isinstance(cfg, CNNConfig)
    return cfg


# --------------------------------------------------------------------------- config


def test_mlp_config_is_unchanged_by_the_cnn_kind() -> None:
    """An untagged model is the MLP, and its dump (hence every digest) keeps its keys."""
    cfg = parse_config({"model": {"hidden": [32]}})
    assert cfg.model.model_dump() == {"kind": "mlp", "hidden": [32]}
    assert FlowConfig().model.input_shape == (64,)
    assert cfg.model.hidden == [32]


def test_cnn_defaults_and_per_stage_flags() -> None:
    cfg = _cnn(conv=[8, 8, 8], residual=True, depthwise_separable=[False, False, True])
    assert cfg.input_shape == (1, 8, 8)
    assert cfg.pools == [True, True, True] and cfg.feature_shape() == (8, 1, 1)
    # True means every stage after the stem (which lifts the 1-channel image)
    assert cfg.residuals == [False, True, True]
    assert cfg.separable == [False, False, True]
    assert _cnn(depthwise_separable=True).separable == [False, True]
    assert _cnn(pool=[False, True]).feature_shape() == (16, 4, 4)


@pytest.mark.parametrize(
    ("model", "hint"),
    [
        ({"conv": [8, 16], "residual": True}, "stage 1 maps 8 to 16 channels"),
        ({"conv": [8], "residual": [True]}, "stage 0 maps 1 to 8 channels"),
        ({"kernel": 4}, "model.kernel=4 is even"),
        ({"pool": [True]}, "model.pool has 1 entries but model.conv has 2 stages"),
        ({"conv": [4, 4, 4, 4]}, "stage 3 would pool a 1x1 feature map"),
        ({"depthwise_separable": [True, False]}, "stage 0 gets a 1-channel input"),
        ({"conv": [8, 0]}, "model.conv channels must be >= 1"),
        ({"hidden": [0]}, "model.hidden widths must be >= 1"),
        ({"bogus": 1}, "model.bogus: unknown key"),
    ],
)
def test_bad_cnn_configs_are_named_errors(model: dict, hint: str) -> None:
    with pytest.raises(ConfigError, match="invalid config") as info:
        parse_config({"model": {"kind": "cnn", **model}})
    assert hint in str(info.value)


def test_unknown_kind_and_cnn_keys_on_an_mlp() -> None:
    known = ", ".join(sorted(kinds()))
    assert {"cnn", "mlp", "mobilenet", "ode", "vit"} <= set(kinds())
    with pytest.raises(ConfigError, match=rf"model\.kind: unknown model kind; known: {known}"):
        parse_config({"model": {"kind": "rnn"}})
    with pytest.raises(ConfigError, match=r"model\.conv: unknown key"):
        parse_config({"model": {"conv": [8]}})


# --------------------------------------------------------------------------- model


@pytest.mark.parametrize("method", ["float", "baseline", "a2q", "a2q_plus"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_model_shapes(method: str, variant: str) -> None:
    model_cfg = parse_config({"model": VARIANTS[variant]}).model
    quant = QuantConfig(method=method)
    model = build_model(model_cfg, quant)
    model.train()
    x = torch.randint(0, 256, (4, 1, 8, 8)).float()
    assert model(x).shape == (4, 10)
    convs = [m for m in model.modules() if isinstance(m, (torch.nn.Conv2d, qnn.QuantConv2d))]
    assert len(convs) == {"standard": 2, "separable": 3, "residual": 2}[variant]
    quantized = [m for m in convs if isinstance(m, qnn.QuantConv2d)]
    assert len(quantized) == (0 if method == "float" else len(convs))
    assert all(c.padding == (c.kernel_size[0] // 2,) * 2 for c in convs)
    if variant == "separable":
        assert [c.groups for c in convs] == [1, 4, 1] and convs[2].kernel_size == (1, 1)


def test_residual_stage_shares_the_quantizer_of_its_input() -> None:
    model = build_model(parse_config({"model": VARIANTS["residual"]}).model, QuantConfig())
    first, second = model.stages  # type: ignore[attr-defined]
    assert second.residual and second._shared[0] is first.act
    assert not first.residual
    # the shared module is registered once (on the stage that produced h)
    assert sum(1 for m in model.modules() if m is first.act) == 1


@pytest.fixture(scope="module")
def split() -> DigitsSplit:
    return load_digits_split(8, shape=(1, 8, 8))


def test_conv_weights_respect_the_a2q_l1_bound(split: DigitsSplit) -> None:
    quant = QuantConfig(method="a2q", acc_bits=12)
    model = build_model(parse_config({"model": VARIANTS["separable"]}).model, quant)
    train_model(model, split, TrainConfig(epochs=1, lr=0.05))
    layers = collect_quant_weights(model, torch.tensor(split.x_test[:8]))
    assert [lw.int_weight.ndim for lw in layers] == [4, 4, 4, 2]
    for lw in layers:
        l1 = np.abs(lw.int_weight).reshape(lw.int_weight.shape[0], -1).sum(axis=1)
        assert l1.max() <= a2q_l1_limit(12, lw.input_bits, input_signed=False), lw.name


# --------------------------------------------------------------------------- export


@pytest.fixture(scope="module")
def trained(split: DigitsSplit) -> dict[str, tuple[torch.nn.Module, FlowConfig]]:
    out = {}
    for variant, model in VARIANTS.items():
        cfg = parse_config(
            {
                "model": model,
                "quant": {"method": "a2q", "acc_bits": 16},
                "train": {"epochs": 3},
                "fold": {"target_cycles": 1024},
            }
        )
        net = build_model(cfg.model, cfg.quant)
        train_model(net, split, cfg.train)
        out[variant] = (net, cfg)
    return out


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_export_matches_torch(
    variant: str, trained: dict, split: DigitsSplit, tmp_path: Path
) -> None:
    model, cfg = trained[variant]
    res = export_qonnx(model, cfg.quant, split.x_test, tmp_path / "m.onnx")
    assert res.input_shape == (1, 1, 8, 8) and res.input_datatype == "UINT8"
    assert "Conv" in res.op_types
    n_layers = len(collect_quant_weights(model, torch.tensor(split.x_test[:4])))
    assert len(res.fixed_weight_quants) == n_layers
    report = check_equivalence(model, res.path, split.x_test, split.y_test)
    assert report.n == 360 and report.onnx_accuracy == report.torch_accuracy
    # a rounding tie may put a few images one activation step apart, never many
    assert report.images_at_ties <= 3


def test_raw_a2q_export_of_convs_mismatches(
    trained: dict, split: DigitsSplit, tmp_path: Path
) -> None:
    """Without the weight fix, Brevitas's export of A2Q conv weights differs from torch."""
    model, cfg = trained["standard"]
    raw = export_qonnx(
        model, cfg.quant, split.x_test, tmp_path / "raw.onnx", fix_weight_quant=False
    )
    with pytest.raises(ExportMismatchError, match=r"weight of torch module 'stages\.0\.body\.0'"):
        check_equivalence(model, raw.path, split.x_test, split.y_test)


# --------------------------------------------------------------------------- lowering

EXPECTED_OPS = {
    "standard": {"FMPadding", "ConvolutionInputGenerator", "MVAU", "Pool"},
    "separable": {"FMPadding", "ConvolutionInputGenerator", "MVAU", "VVAU", "Pool"},
    "residual": {
        "FMPadding",
        "ConvolutionInputGenerator",
        "MVAU",
        "Pool",
        "DuplicateStreams",
        "ElementwiseAdd",
        "Thresholding",
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_lowered_hw_graph_equals_qonnx(
    variant: str, trained: dict, split: DigitsSplit, tmp_path: Path
) -> None:
    model, cfg = trained[variant]
    onnx_path = tmp_path / "m.onnx"
    export_qonnx(model, cfg.quant, split.x_test, onnx_path)
    res = run_lower(onnx_path, cfg, tmp_path / "build")
    assert res.dataflow is not None
    parent = load_lowered(res.parent)
    # FINN's NCHW->NHWC input transpose stays on the host, the de-quantizing tail too
    assert [n.op_type for n in parent.graph.node] == [
        "Transpose",
        "StreamingDataflowPartition",
        "Mul",
        "Add",
    ]
    folded = load_lowered(res.steps["fold"].with_name("06_fold_dataflow.onnx"))
    assert {n.op_type for n in folded.graph.node} == EXPECTED_OPS[variant]
    child = ModelWrapper(str(res.dataflow))
    assert child.get_tensor_shape(child.graph.input[0].name) == [1, 8, 8, 1]

    want = execute_float64(ModelWrapper(str(onnx_path)), split.x_test)
    got = execute_parent(parent, split.x_test)
    check_hw_graph(want, got)
    # the accelerator's input stream is the raster pixel order of the flat image
    acc = execute_dataflow(child, split.x_test[:4].reshape(4, 8, 8, 1))
    assert acc.shape == (4, 10) and np.array_equal(acc, np.round(acc))

    # SetFolding's SIMD of a depthwise sliding window follows its consumer's PE
    for node in folded.graph.node:
        if node.op_type in ("Pool", "VVAU"):
            swg = folded.find_producer(node.input[0])
            assert swg.op_type == "ConvolutionInputGenerator"
            assert getCustomOp(swg).get_nodeattr("depthwise") == 1
            assert getCustomOp(swg).get_nodeattr("SIMD") == getCustomOp(node).get_nodeattr("PE")
