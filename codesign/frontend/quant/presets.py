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

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
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

from codesign.config import LayerQuant, QuantConfig
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


UNCONSTRAINED = Int8WeightPerChannelFloat
"""The weight quantizer of a layer an accumulator-aware model leaves unconstrained."""


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


class LayerCursor:
    """Hands each weighted layer its :class:`LayerQuant` in the order the model builds
    them (:func:`layer_plan`), and remembers the layers it made."""

    def __init__(self, plan: Sequence[LayerQuant]) -> None:
        self.plan = tuple(plan)
        self.made: list[nn.Module] = []

    def take(self) -> LayerQuant:
        i = len(self.made)
        if i >= len(self.plan):
            raise RuntimeError(
                f"the model builds more than the {len(self.plan)} weighted layers its "
                "family lists (Family.weighted_layers)"
            )
        return self.plan[i]


_CURSOR: ContextVar[LayerCursor | None] = ContextVar("layer_cursor", default=None)


@contextmanager
def layer_plan(plan: Sequence[LayerQuant]) -> Iterator[LayerCursor]:
    """While a model is built, its weighted layers take ``plan``'s entries in the order
    they are made."""
    cursor = LayerCursor(plan)
    token = _CURSOR.set(cursor)
    try:
        yield cursor
    finally:
        _CURSOR.reset(token)


def _next_layer(quant_cfg: QuantConfig) -> tuple[LayerQuant, LayerCursor | None]:
    cursor = _CURSOR.get()
    if cursor is not None:
        return cursor.take(), cursor
    if isinstance(quant_cfg.acc_bits, list) or quant_cfg.layer_policy != "uniform":
        raise ConfigError(
            "per-layer quantization (a quant.acc_bits list, quant.layer_policy papers) needs "
            "the model built by codesign.frontend.models.build_model"
        )
    return LayerQuant(quant_cfg.weight_bits, quant_cfg.acc_bits), None


def _made(layer: nn.Module, cursor: LayerCursor | None) -> nn.Module:
    if cursor is not None:
        cursor.made.append(layer)
    return layer


def make_linear(
    in_features: int, out_features: int, bias: bool, quant_cfg: QuantConfig
) -> nn.Module:
    """A fully connected layer under the preset's weight quantizer (bias stays float)."""
    preset = get_preset(quant_cfg.method)
    layer_q, cursor = _next_layer(quant_cfg)
    if preset.weight_quant is None:
        return _made(nn.Linear(in_features, out_features, bias=bias), cursor)
    return _made(qnn.QuantLinear(
        in_features,
        out_features,
        bias=bias,
        weight_quant=_weight_quant(preset, layer_q),
        return_quant_tensor=False,
    ), cursor)


def _weight_quant(preset: Preset, layer_q: LayerQuant) -> Any:
    """The layer's weight quantizer: the preset's at its bits and P; a layer an
    accumulator-aware model leaves unconstrained (P None, e.g. the papers' first and last)
    takes per-channel integer weights, as Brevitas's A2Q examples do."""
    assert preset.weight_quant is not None  # the float preset builds torch layers
    if not preset.accumulator_aware:
        return preset.weight_quant.let(bit_width=layer_q.weight_bits)
    if layer_q.acc_bits is None:
        return UNCONSTRAINED.let(bit_width=layer_q.weight_bits)
    return preset.weight_quant.let(
        bit_width=layer_q.weight_bits, accumulator_bit_width=layer_q.acc_bits
    )


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
    layer_q, cursor = _next_layer(quant_cfg)
    padding = kernel // 2
    if preset.weight_quant is None:
        return _made(nn.Conv2d(
            in_channels, out_channels, kernel, padding=padding, groups=groups, bias=bias
        ), cursor)
    return _made(qnn.QuantConv2d(
        in_channels,
        out_channels,
        kernel,
        padding=padding,
        groups=groups,
        bias=bias,
        weight_quant=_weight_quant(preset, layer_q),
        return_quant_tensor=False,
    ), cursor)


def make_relu(quant_cfg: QuantConfig, *, last_input: bool = False) -> nn.Module:
    """A quantized ReLU of ``act_bits``; ``last_input``: the one the last weighted layer
    reads (8 bits under the papers' layer policy)."""
    if get_preset(quant_cfg.method).weight_quant is None:
        return nn.ReLU()
    bits = quant_cfg.last_input_bits if last_input else quant_cfg.act_bits
    # the QuantTensor output tells the next A2Q layer its input width and signedness
    return qnn.QuantReLU(act_quant=ActQuant.let(bit_width=bits), return_quant_tensor=True)


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
