"""ESPCN-style super-resolution with a nearest-neighbour resize convolution (see
:class:`codesign.frontend.models.sr.SRConfig`).

Every conv's input is a QuantTensor (the pixel codes, an activation, or the upsampled
activation: nearest-neighbour upsampling repeats codes, so it keeps the quantizer), from
which an A2Q conv reads its input width and signedness. The output conv has no
activation: its float outputs are the predicted pixel codes, which the host's final
scale produces from the accelerator's integer accumulators.
"""

from __future__ import annotations

import torch
from torch import nn

from codesign.config import QuantConfig
from codesign.frontend.models.sr import SRConfig
from codesign.frontend.quant import presets


class SuperResolution(nn.Module):
    def __init__(self, cfg: SRConfig, quant_cfg: QuantConfig) -> None:
        super().__init__()
        self.input_quant = presets.make_input(quant_cfg)
        layers: list[nn.Module] = []
        channels = 1
        for i, out in enumerate(cfg.channels):
            kernel = cfg.first_kernel if i == 0 else cfg.kernel
            last = i == len(cfg.channels) - 1  # upsampled, it is the resize conv's input
            layers += [presets.make_conv2d(channels, out, kernel, quant_cfg),
                       nn.BatchNorm2d(out), presets.make_relu(quant_cfg, last_input=last)]
            channels = out
        self.features = nn.Sequential(*layers)
        self.upsample = nn.Upsample(scale_factor=cfg.scale, mode="nearest")
        self.resize_conv = presets.make_conv2d(channels, 1, cfg.kernel, quant_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.resize_conv(self.upsample(self.features(self.input_quant(x))))
        assert isinstance(out, torch.Tensor)  # the conv returns plain values
        return out
