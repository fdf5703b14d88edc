"""Small Brevitas MLPs exported to QONNX, for the lowering tests only.

The real model zoo and export live in ``codesign.frontend.models`` /
``codesign.frontend.export``; these fixtures only reproduce their contract: the graph
input holds integer pixel codes
annotated as ``UINT8``, the output holds float logits (per-channel ``Mul``/``Add`` after
the last ``MatMul``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from brevitas.export import export_qonnx
from brevitas.graph.calibrate import calibration_mode
from brevitas.nn import QuantIdentity, QuantLinear, QuantReLU
from brevitas.quant.scaled_int import (
    Int8AccumulatorAwareWeightQuant,
    Int8WeightPerChannelFloat,
    Uint8ActPerTensorFloat,
)
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


def digits_codes() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """sklearn digits as integer pixel codes 0..255 (float32); stratified 20 % test split."""
    x, y = load_digits(return_X_y=True)
    codes = np.round(x * 255.0 / 16.0).astype(np.float32)
    x_tr, x_te, y_tr, y_te = train_test_split(codes, y, test_size=0.2, stratify=y, random_state=0)
    return x_tr, x_te, y_tr, y_te


class _Scale(nn.Module):
    def __init__(self, factor: float) -> None:
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def build_mlp(
    hidden: tuple[int, ...] = (64, 32),
    n_in: int = 64,
    n_out: int = 10,
    a2q_acc_bits: int | None = None,
    input_scale: float | None = 1.0 / 255.0,
    input_quant: bool = False,
    seed: int = 0,
) -> nn.Module:
    """QuantLinear + BatchNorm1d + QuantReLU stacks and a final QuantLinear.

    8-bit per-channel weights (or Brevitas's A2Q weight quantizer at ``a2q_acc_bits``),
    unsigned 8-bit activations, float bias. ``input_quant`` adds an unsigned 8-bit
    QuantIdentity on the (scaled) input, which FINN lowers to a Thresholding layer
    (always present with A2Q, whose weight quantizer needs a quantized input).
    """
    torch.manual_seed(seed)
    layers: list[nn.Module] = []
    if input_scale is not None:
        layers.append(_Scale(input_scale))
    quant_tensors = a2q_acc_bits is not None  # A2Q weights need the input's QuantTensor
    if input_quant or quant_tensors:
        layers.append(
            QuantIdentity(
                act_quant=Uint8ActPerTensorFloat, bit_width=8, return_quant_tensor=quant_tensors
            )
        )

    def linear(i: int, o: int) -> QuantLinear:
        if a2q_acc_bits is None:
            return QuantLinear(
                i, o, bias=True, weight_quant=Int8WeightPerChannelFloat, weight_bit_width=8
            )
        return QuantLinear(
            i,
            o,
            bias=True,
            weight_quant=Int8AccumulatorAwareWeightQuant,
            weight_bit_width=8,
            weight_accumulator_bit_width=a2q_acc_bits,
            input_bit_width=8,
            input_signed=False,
        )

    prev = n_in
    for width in hidden:
        layers += [
            linear(prev, width),
            nn.BatchNorm1d(width),
            QuantReLU(bit_width=8, return_quant_tensor=quant_tensors),
        ]
        prev = width
    layers.append(linear(prev, n_out))
    return nn.Sequential(*layers)


def calibrate(model: nn.Module, x: np.ndarray, seed: int = 0) -> nn.Module:
    """Give BatchNorm random-but-plausible statistics and calibrate activation scales."""
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm1d):
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.num_features, generator=gen))
                m.bias.copy_(0.2 * torch.randn(m.num_features, generator=gen))
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(x))  # BatchNorm running statistics
    model.eval()
    with torch.no_grad(), calibration_mode(model):
        model(torch.from_numpy(x))
    model.eval()
    return model


def export(model: nn.Module, path: Path, n_in: int = 64, dynamo: bool = True) -> Path:
    """Export to QONNX, clean up, annotate the input as UINT8 codes.

    ``dynamo=True`` is the exporter torch 2.13 / brevitas use by default (~10 s);
    ``False`` uses the TorchScript exporter (< 1 s) for the secondary tests.
    """
    model.eval()
    export_qonnx(model, torch.zeros(1, n_in), export_path=str(path), dynamo=dynamo)
    wrapped = cleanup_model(ModelWrapper(str(path)))
    wrapped.set_tensor_datatype(wrapped.graph.input[0].name, DataType["UINT8"])
    wrapped.save(str(path))
    return path


def make_qonnx(
    path: Path,
    hidden: tuple[int, ...] = (64, 32),
    a2q_acc_bits: int | None = None,
    input_scale: float | None = 1.0 / 255.0,
    input_quant: bool = False,
    seed: int = 0,
    dynamo: bool = True,
) -> Path:
    x_tr, _, _, _ = digits_codes()
    model = build_mlp(
        hidden,
        a2q_acc_bits=a2q_acc_bits,
        input_scale=input_scale,
        input_quant=input_quant,
        seed=seed,
    )
    calibrate(model, x_tr, seed=seed)
    return export(model, path, dynamo=dynamo)
