"""Quantizer presets: which Brevitas quantizers a model's layers use for ``quant.method``.

* ``float``     plain torch layers (the reference the others are measured against);
* ``baseline``  per-channel integer weights with float scales (Int8WeightPerChannelFloat);
* ``a2q``       accumulator-aware weights (Int8AccumulatorAwareWeightQuant): each output
  channel's integer weights keep ||q||_1 within the A2Q limit for P = ``quant.acc_bits``;
* ``a2q_plus``  the zero-centred successor (Int8AccumulatorAwareZeroCenterWeightQuant).

Every quantized preset uses unsigned ``act_bits`` activations, and the model input is the
integer pixel code itself (:class:`IntegerInput`, scale 1): A2Q reads each layer's input
bit width and signedness from the QuantTensor it receives, and the exported graph input
feeds the first MatMul directly, with no quantizer (hence no FINN Thresholding) in front.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import brevitas.nn as qnn
import numpy as np
import numpy.typing as npt
import torch
from brevitas.inject.enum import ScalingImplType
from brevitas.quant import Int8ActPerTensorFloat, Uint8ActPerTensorFloat
from brevitas.quant.scaled_int import (
    Int8AccumulatorAwareWeightQuant,
    Int8AccumulatorAwareZeroCenterWeightQuant,
    Int8WeightPerChannelFloat,
)
from brevitas.quant_tensor import IntQuantTensor
from torch import nn

from codesign.config import QuantConfig
from codesign.errors import ConfigError


@dataclass(frozen=True)
class Preset:
    name: str
    weight_quant: Any | None
    """Brevitas weight quantizer injector; None for the float preset."""
    accumulator_aware: bool
    description: str


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset("float", None, False, "float32 torch layers"),
        Preset("baseline", Int8WeightPerChannelFloat, False, "per-channel integer weights"),
        Preset("a2q", Int8AccumulatorAwareWeightQuant, True, "accumulator-aware (A2Q)"),
        Preset(
            "a2q_plus",
            Int8AccumulatorAwareZeroCenterWeightQuant,
            True,
            "zero-centred accumulator-aware (A2Q+)",
        ),
    )
}


def get_preset(method: str) -> Preset:
    try:
        return PRESETS[method]
    except KeyError:
        raise ConfigError(
            f"unknown quant.method {method!r}; known: {', '.join(sorted(PRESETS))}"
        ) from None


class ActQuant(Uint8ActPerTensorFloat):
    """Unsigned per-tensor activations; the scale is initialised from 50 batches of
    statistics (Brevitas's default 300 would be most of a short digits run)."""

    collect_stats_steps = 50


class IntegerInput(nn.Module):
    """Marks the integer pixel codes as an unsigned ``bits``-wide QuantTensor of scale 1.

    It is an identity on the values and exports to nothing: the ONNX graph input goes
    straight into the first Gemm and is annotated UINT{bits} by the export step.
    """

    def __init__(self, bits: int) -> None:
        super().__init__()
        self.bits = bits

    def forward(self, x: torch.Tensor) -> IntQuantTensor:
        one = torch.ones((), dtype=x.dtype, device=x.device)
        return IntQuantTensor(x, one, torch.zeros_like(one), one * self.bits, False, self.training)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, signed=False"


class SignedActQuant(Int8ActPerTensorFloat):
    """Signed per-tensor activations (a state that moves both ways, e.g. an ODE's h),
    initialised from 50 batches of statistics as :class:`ActQuant`."""

    collect_stats_steps = 50


def make_input(quant_cfg: QuantConfig) -> nn.Module:
    if get_preset(quant_cfg.method).weight_quant is None:
        return nn.Identity()
    return IntegerInput(quant_cfg.input_bits)


def make_linear(
    in_features: int, out_features: int, bias: bool, quant_cfg: QuantConfig
) -> nn.Module:
    """A fully connected layer under the preset's weight quantizer (bias stays float)."""
    preset = get_preset(quant_cfg.method)
    if preset.weight_quant is None:
        return nn.Linear(in_features, out_features, bias=bias)
    return qnn.QuantLinear(
        in_features,
        out_features,
        bias=bias,
        weight_quant=preset.weight_quant.let(**_weight_params(preset, quant_cfg)),
        return_quant_tensor=False,
    )


def _weight_params(preset: Preset, quant_cfg: QuantConfig) -> dict[str, Any]:
    params: dict[str, Any] = {"bit_width": quant_cfg.weight_bits}
    if preset.accumulator_aware:
        if quant_cfg.acc_bits is None:
            raise ConfigError(f"quant.acc_bits (P) is required for method {preset.name!r}")
        params["accumulator_bit_width"] = quant_cfg.acc_bits
    return params


def make_conv2d(
    in_channels: int,
    out_channels: int,
    kernel: int,
    quant_cfg: QuantConfig,
    *,
    groups: int = 1,
    bias: bool = False,
) -> nn.Module:
    """A stride-1 convolution under the preset's weight quantizer, zero-padded so the
    feature map keeps its height and width (odd ``kernel``); ``groups=in_channels``
    makes it depthwise. A2Q bounds each output channel's fan-in (in/groups x k x k)."""
    preset = get_preset(quant_cfg.method)
    padding = kernel // 2
    if preset.weight_quant is None:
        return nn.Conv2d(
            in_channels, out_channels, kernel, padding=padding, groups=groups, bias=bias
        )
    return qnn.QuantConv2d(
        in_channels,
        out_channels,
        kernel,
        padding=padding,
        groups=groups,
        bias=bias,
        weight_quant=preset.weight_quant.let(**_weight_params(preset, quant_cfg)),
        return_quant_tensor=False,
    )


def make_relu(quant_cfg: QuantConfig) -> nn.Module:
    if get_preset(quant_cfg.method).weight_quant is None:
        return nn.ReLU()
    # the QuantTensor output tells the next A2Q layer its input width and signedness
    return qnn.QuantReLU(
        act_quant=ActQuant.let(bit_width=quant_cfg.act_bits), return_quant_tensor=True
    )


def make_relu_in_input_codes(quant_cfg: QuantConfig) -> nn.Module:
    """A ReLU quantized like the integer input (:class:`IntegerInput`): unsigned
    ``input_bits`` codes of scale 1, so that its output and the input can be concatenated
    (a concat of QuantTensors shares one scale). Identity ReLU for the float preset."""
    if get_preset(quant_cfg.method).weight_quant is None:
        return nn.ReLU()
    top = float(2**quant_cfg.input_bits - 1)
    return qnn.QuantReLU(
        act_quant=Uint8ActPerTensorFloat.let(
            bit_width=quant_cfg.input_bits, scaling_impl_type=ScalingImplType.CONST,
            scaling_init=top, max_val=top),
        return_quant_tensor=True,
    )


def make_signed_act(quant_cfg: QuantConfig) -> nn.Module:
    """A signed ``act_bits`` quantizer (identity for the float preset)."""
    if get_preset(quant_cfg.method).weight_quant is None:
        return nn.Identity()
    return qnn.QuantIdentity(
        act_quant=SignedActQuant.let(bit_width=quant_cfg.act_bits), return_quant_tensor=True
    )


QUANT_WEIGHT_LAYERS = (qnn.QuantLinear, qnn.QuantConv2d)
"""The Brevitas layers whose integer weights :func:`collect_quant_weights` reads."""


@dataclass(frozen=True)
class LayerWeights:
    """The integer weights a quantized linear or conv layer computes with, as torch
    sees them."""

    name: str
    raw_weight: npt.NDArray[np.float32]
    """The float parameter (what Brevitas's QONNX export writes as the Quant input)."""
    int_weight: npt.NDArray[np.int64]
    """Shape (out, in) for a linear layer, (out, in / groups, k, k) for a conv."""
    scale: npt.NDArray[np.float32]
    """Per-output-channel scale, shape (out, 1) (conv: (out, 1, 1, 1))."""
    value: npt.NDArray[np.float32]
    """int_weight * scale exactly as torch computes it."""
    weight_bits: int
    input_bits: int
    input_signed: bool
    acc_bits: int | None
    """Target P of an accumulator-aware quantizer, else None."""


def _acc_bits_of(layer: qnn.QuantLinear | qnn.QuantConv2d) -> int | None:
    # only the accumulator-aware quantizers (those that read their input) define P
    if not layer.weight_quant.requires_quant_input:
        return None
    return int(layer.weight_quant.quant_injector.accumulator_bit_width)


def collect_quant_weights(model: nn.Module, x: torch.Tensor) -> list[LayerWeights]:
    """Integer weights of every QuantLinear and QuantConv2d, in call order, from one eval
    forward of ``x``.

    A2Q quantizers need the layer's quantized input to know its bit width, so the inputs
    are captured with forward hooks. The model's train/eval mode is restored.
    """
    inputs: dict[str, Any] = {}
    order: list[str] = []
    hooks = []
    names = {m: n for n, m in model.named_modules()}
    for module in model.modules():
        if isinstance(module, QUANT_WEIGHT_LAYERS):

            def hook(mod: nn.Module, args: tuple[Any, ...], _out: Any) -> None:
                name = names[mod]
                if name not in inputs:
                    order.append(name)
                inputs[name] = args[0]

            hooks.append(module.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(x)
            modules = dict(model.named_modules())
            result = []
            for name in order:
                layer = modules[name]
                inp = inputs[name]
                qw = (
                    layer.quant_weight(inp)
                    if layer.weight_quant.requires_quant_input
                    else layer.quant_weight()
                )
                in_bits = int(inp.bit_width.item()) if isinstance(inp, IntQuantTensor) else 32
                in_signed = bool(inp.signed) if isinstance(inp, IntQuantTensor) else True
                result.append(
                    LayerWeights(
                        name=name,
                        raw_weight=layer.weight.detach().cpu().numpy().copy(),
                        int_weight=qw.int().detach().cpu().numpy().astype(np.int64),
                        scale=qw.scale.detach().cpu().numpy().astype(np.float32),
                        value=qw.value.detach().cpu().numpy().astype(np.float32),
                        weight_bits=int(qw.bit_width.item()),
                        input_bits=in_bits,
                        input_signed=in_signed,
                        acc_bits=_acc_bits_of(layer),
                    )
                )
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
    return result
