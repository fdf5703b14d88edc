"""Small CNN on the 1x8x8 digits: conv stages, then FC layers and a classifier.

Stage kinds (see :class:`codesign.frontend.models.cnn.CNNConfig`):

* standard: Conv kxk -> BatchNorm2d -> act;
* depthwise-separable: depthwise Conv kxk -> BatchNorm2d -> ReLU -> pointwise Conv 1x1
  -> BatchNorm2d -> act;
* residual: ``y = act_out(h + act_h(f(h)))`` where ``act_h`` is the quantizer that
  produced ``h`` (the previous stage's output activation), so both addends carry the
  same scale and the sum is an integer add in hardware; ``act_out`` requantizes the sum
  to ``act_bits`` for the next layer.

Each stage may end in a 2x2 max-pool. Convs are zero-padded, stride 1, without bias
(the BatchNorm after each has its own shift). The layers come from the quantizer preset
(:mod:`codesign.frontend.quant.presets`), so the same class is the float reference and the
baseline / A2Q / A2Q+ model; the forward takes integer pixel codes (n, 1, 8, 8).
"""

from __future__ import annotations

import torch
from torch import nn

from codesign.config import QuantConfig
from codesign.frontend.models.cnn import CNNConfig
from codesign.frontend.quant import presets


class ConvStage(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: int,
        *,
        separable: bool,
        pool: bool,
        quant_cfg: QuantConfig,
        shared_act: nn.Module | None = None,
        last: bool = False,
    ) -> None:
        """``shared_act`` makes the stage residual: the activation that produced its
        input, reused on the conv path so both addends share one quantizer. ``last``: the
        classifier reads the stage's activation."""
        super().__init__()
        layers: list[nn.Module] = []
        if separable:
            layers += [
                presets.make_conv2d(
                    in_channels, in_channels, kernel, quant_cfg, groups=in_channels
                ),
                nn.BatchNorm2d(in_channels),
                presets.make_relu(quant_cfg),
                presets.make_conv2d(in_channels, out_channels, 1, quant_cfg),
            ]
        else:
            layers.append(presets.make_conv2d(in_channels, out_channels, kernel, quant_cfg))
        layers.append(nn.BatchNorm2d(out_channels))
        self.body = nn.Sequential(*layers)
        self.residual = shared_act is not None
        # a residual stage's branch ends in the shared quantizer; it is registered on
        # the stage that owns it, so it is kept once in the state dict
        self._shared = [shared_act] if shared_act is not None else []
        self.act = presets.make_relu(quant_cfg, last_input=last)
        self.pool = nn.MaxPool2d(2) if pool else nn.Identity()

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        f = self.body(h)
        out = self.act(h + self._shared[0](f)) if self.residual else self.act(f)
        return self.pool(out)


class CNN(nn.Module):
    def __init__(self, model_cfg: CNNConfig, n_classes: int, quant_cfg: QuantConfig) -> None:
        super().__init__()
        self.input_quant = presets.make_input(quant_cfg)
        stages: list[ConvStage] = []
        channels = 1
        for i, (out, pool, separable, residual) in enumerate(zip(
            model_cfg.conv,
            model_cfg.pools,
            model_cfg.separable,
            model_cfg.residuals,
            strict=True,
        )):
            # config validation guarantees a residual stage has a predecessor
            shared = stages[-1].act if residual else None
            stages.append(
                ConvStage(
                    channels,
                    out,
                    model_cfg.kernel,
                    separable=separable,
                    pool=pool,
                    quant_cfg=quant_cfg,
                    shared_act=shared,
                    last=i == len(model_cfg.conv) - 1 and not model_cfg.hidden,
                )
            )
            channels = out
        self.stages = nn.Sequential(*stages)
        blocks = []
        c, h, w = model_cfg.feature_shape()
        width = c * h * w
        for j, hidden in enumerate(model_cfg.hidden):
            blocks.append(
                nn.Sequential(
                    presets.make_linear(width, hidden, bias=False, quant_cfg=quant_cfg),
                    nn.BatchNorm1d(hidden),
                    presets.make_relu(quant_cfg, last_input=j == len(model_cfg.hidden) - 1),
                )
            )
            width = hidden
        self.fc = nn.Sequential(*blocks)
        self.classifier = presets.make_linear(width, n_classes, bias=True, quant_cfg=quant_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = torch.flatten(self.stages(self.input_quant(x)), 1)
        out = self.classifier(self.fc(features))
        assert isinstance(out, torch.Tensor)  # the classifier returns plain logits
        return out
