"""A UNet-style denoiser (see :class:`codesign.frontend.models.unet.UNetConfig`).

Level i's activation quantizer is shared by the encoder conv that makes its skip and the
decoder's upsampled output that joins it: both tensors of the concatenation then carry
one scale, so FINN moves that scale past the Concat and the accelerator joins the two
integer streams (StreamingConcat) without requantizing either. Brevitas averages the two
scales while the quantizer still collects statistics and checks them equal in eval mode.
"""

from __future__ import annotations

import torch
from torch import nn

from codesign.config import QuantConfig
from codesign.frontend.models.unet import UNetConfig
from codesign.frontend.quant import presets


def _conv_bn(in_channels: int, out_channels: int, kernel: int,
             quant_cfg: QuantConfig) -> nn.Sequential:
    return nn.Sequential(presets.make_conv2d(in_channels, out_channels, kernel, quant_cfg),
                         nn.BatchNorm2d(out_channels))


class UNet(nn.Module):
    def __init__(self, cfg: UNetConfig, quant_cfg: QuantConfig) -> None:
        super().__init__()
        widths, k = cfg.channels, cfg.kernel
        self.input_quant = presets.make_input(quant_cfg)
        self.down = nn.ModuleList(_conv_bn(w_in, w, k, quant_cfg)
                                  for w_in, w in zip([1, *widths[:-1]], widths, strict=True))
        # level i's quantizer: its skip, and the tensor that is upsampled to join it
        self.acts = nn.ModuleList(presets.make_relu(quant_cfg) for _ in widths[:-1])
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.up = nn.ModuleList(_conv_bn(widths[i] + widths[i + 1], widths[i], k, quant_cfg)
                                for i in range(len(widths) - 1))
        self.out_act = presets.make_relu(quant_cfg, last_input=True)
        self.head = presets.make_conv2d(widths[0], 1, 1, quant_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.input_quant(x)
        skips = []
        last = len(self.acts) - 1
        for i, conv in enumerate(self.down):
            # the bottleneck joins the level above it: that level's quantizer
            h = self.acts[min(i, last)](conv(self.pool(h) if i else h))
            skips.append(h)
        for i in reversed(range(len(self.up))):
            h = self.up[i](torch.cat([self.upsample(h), skips[i]], dim=1))
            h = self.acts[i - 1](h) if i else self.out_act(h)
        out = self.head(h)
        assert isinstance(out, torch.Tensor)  # the conv returns plain values
        return out
