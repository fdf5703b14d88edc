"""TFC-like MLP: (Linear -> BatchNorm1d -> ReLU) per hidden width, then a final Linear.

The layers come from the quantizer preset (:mod:`codesign.frontend.quant.presets`), so the same
class is the float reference and the baseline / A2Q / A2Q+ quantized model. The forward
takes the integer pixel codes (as a float tensor) and returns logits.
"""

from __future__ import annotations

import torch
from torch import nn

from codesign.config import QuantConfig
from codesign.frontend.quant import presets


class MLP(nn.Module):
    def __init__(
        self, in_features: int, hidden: list[int], n_classes: int, quant_cfg: QuantConfig
    ) -> None:
        super().__init__()
        self.input_quant = presets.make_input(quant_cfg)
        blocks = []
        width = in_features
        for i, h in enumerate(hidden):
            # no bias: the BatchNorm right after it has its own shift
            blocks.append(
                nn.Sequential(
                    presets.make_linear(width, h, bias=False, quant_cfg=quant_cfg),
                    nn.BatchNorm1d(h),
                    presets.make_relu(quant_cfg, last_input=i == len(hidden) - 1),
                )
            )
            width = h
        self.blocks = nn.Sequential(*blocks)
        self.classifier = presets.make_linear(width, n_classes, bias=True, quant_cfg=quant_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.classifier(self.blocks(self.input_quant(x)))
        assert isinstance(out, torch.Tensor)  # the classifier returns plain logits
        return out
