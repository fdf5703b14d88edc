"""MobileNet-style net on the 1x8x8 digits (see
:class:`codesign.frontend.models.mobilenet.MobileNetConfig`).

The global average pool is a plain ``nn.AdaptiveAvgPool2d(1)`` on the last block's
de-quantized activations, followed by an unsigned activation quantizer: it exports as
ONNX GlobalAveragePool then Quant, which FINN lowers (the scale before the pool moves
past it into the quantizer's thresholds; the pool becomes a GlobalAccPool of integer
sums whose 1/(H*W) Mul the second streamlining pass absorbs into those thresholds).
Brevitas's ``TruncAdaptiveAvgPool2d`` would export GlobalAveragePool + Trunc, a pair
FINN's AvgPoolAndTruncToQuantAvgPool does not match (it expects AveragePool), so it
would not lower. The quantizer also gives the A2Q classifier the bit width and
signedness of its input, as every other layer's activation does.
"""

from __future__ import annotations

import brevitas.nn as qnn
import torch
from brevitas.quant_tensor import QuantTensor
from torch import nn

from codesign.config import QuantConfig
from codesign.frontend.models.mobilenet import MobileNetConfig
from codesign.frontend.quant import presets


def _conv_bn_act(
    in_channels: int, out_channels: int, kernel: int, quant_cfg: QuantConfig, groups: int = 1
) -> list[nn.Module]:
    return [
        presets.make_conv2d(in_channels, out_channels, kernel, quant_cfg, groups=groups),
        nn.BatchNorm2d(out_channels),
        presets.make_relu(quant_cfg),
    ]


def _pool_quant(quant_cfg: QuantConfig) -> nn.Module:
    """The unsigned quantizer of the pooled features (identity for the float preset)."""
    if presets.get_preset(quant_cfg.method).weight_quant is None:
        return nn.Identity()
    # the classifier reads it
    return qnn.QuantIdentity(
        act_quant=presets.ActQuant.let(bit_width=quant_cfg.last_input_bits),
        return_quant_tensor=True,
    )


class MobileNet(nn.Module):
    def __init__(self, cfg: MobileNetConfig, n_classes: int, quant_cfg: QuantConfig) -> None:
        super().__init__()
        self.input_quant = presets.make_input(quant_cfg)
        layers = _conv_bn_act(1, cfg.stem, cfg.kernel, quant_cfg)
        if cfg.pool:
            layers.append(nn.MaxPool2d(2))
        channels = cfg.stem
        for out in cfg.blocks:
            layers += _conv_bn_act(channels, channels, cfg.kernel, quant_cfg, groups=channels)
            layers += _conv_bn_act(channels, out, 1, quant_cfg)
            channels = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.pool_quant = _pool_quant(quant_cfg)
        self.classifier = presets.make_linear(channels, n_classes, bias=True, quant_cfg=quant_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(self.input_quant(x))
        if isinstance(h, QuantTensor):
            h = h.value  # a plain average (see the module doc), requantized below
        pooled = self.pool_quant(torch.flatten(self.pool(h), 1))
        out = self.classifier(pooled)
        assert isinstance(out, torch.Tensor)  # the classifier returns plain logits
        return out
