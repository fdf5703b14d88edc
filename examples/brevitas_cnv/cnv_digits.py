"""A small CNV-style network for scikit-learn's 8x8 digits, written as a codesign user
writes a Brevitas model: a plain module and a factory function, nothing from codesign.

It follows the bnn_pynq CNV of ``brevitas_examples`` (stacks of 3x3 QuantConv2d +
BatchNorm + low-bit activation, a 2x2 max-pool closing each stack, FC layers at the end)
at the size of the digits: two conv-conv-pool stacks (8x8 -> 4x4 -> 2x2, "same" padding,
as the images are small), then FC 128 -> 64 -> 10. Weights are 2-bit (narrow range:
-1, 0, +1 times a per-tensor scale), activations 2-bit unsigned (QuantReLU); the input
is the 8-bit pixel code, scaled to [0, 1] by a Mul that FINN moves into the first
layer's thresholds.

``codesign flow examples/brevitas_cnv/cnv_w2a2.yaml`` imports ``make_net`` from here
(``model.factory: "cnv_digits:make_net"``, found beside the config file).
"""

from __future__ import annotations

import torch
from brevitas.nn import QuantConv2d, QuantLinear, QuantReLU
from brevitas.quant import Int8WeightPerTensorFloat
from torch import nn

STACKS = ((16, 16), (32, 32))
"""Output channels of the two convolutions of each conv-conv-pool stack."""
FC = 64
"""Width of the hidden FC layer."""


class ScaleInput(nn.Module):
    """Pixel codes 0..255 to [0, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1.0 / 255.0)


def _conv(in_ch: int, out_ch: int, weight_bits: int) -> QuantConv2d:
    return QuantConv2d(
        in_ch, out_ch, kernel_size=3, padding=1, bias=False,
        weight_quant=Int8WeightPerTensorFloat, weight_bit_width=weight_bits,
    )


class CNVDigits(nn.Module):
    def __init__(self, weight_bits: int = 2, act_bits: int = 2, n_classes: int = 10) -> None:
        super().__init__()
        layers: list[nn.Module] = [ScaleInput()]
        in_ch = 1
        for stack in STACKS:
            for out_ch in stack:
                layers += [
                    _conv(in_ch, out_ch, weight_bits),
                    nn.BatchNorm2d(out_ch),
                    QuantReLU(bit_width=act_bits),
                ]
                in_ch = out_ch
            layers.append(nn.MaxPool2d(2))
        self.features = nn.Sequential(*layers)
        side = 8 // 2 ** len(STACKS)
        self.classifier = nn.Sequential(
            QuantLinear(in_ch * side * side, FC, bias=False,
                        weight_quant=Int8WeightPerTensorFloat, weight_bit_width=weight_bits),
            nn.BatchNorm1d(FC),
            QuantReLU(bit_width=act_bits),
            QuantLinear(FC, n_classes, bias=True,
                        weight_quant=Int8WeightPerTensorFloat, weight_bit_width=weight_bits),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.features(x), 1))


def make_net() -> nn.Module:
    """The factory codesign calls (no arguments): the W2A2 network, untrained."""
    return CNVDigits(weight_bits=2, act_bits=2)
