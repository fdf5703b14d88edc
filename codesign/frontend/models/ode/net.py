"""The ``ode`` family's network: stem, T Euler steps of a residual block, head.

See :mod:`codesign.frontend.models.ode` for the variants and why the step size vanishes
into the quantization scales. The block's update is ``q_h(h + q_h(dt * f(h)))`` with one
quantizer module q_h for the state everywhere (stem output, f's branch, the sum), so
every addend and every iteration has one scale. A shared block is one module called T
times: PyTorch's export traces it T times, and the lowering rolls the T identical bodies
back into one loop node.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from codesign.config import QuantConfig
from codesign.frontend.models.ode import ODEConfig
from codesign.frontend.models.registry import N_CLASSES
from codesign.frontend.quant import presets


def _conv_f(channels: int, kernel: int, quant_cfg: QuantConfig, separable: bool) -> nn.Module:
    """f: two convolutions (each depthwise k x k + pointwise 1x1 when ``separable``),
    BatchNorm after each, a quantized ReLU between them; the output stays float (the
    block scales it by dt and quantizes it onto h's grid)."""
    def conv(last: bool) -> list[nn.Module]:
        if separable:
            layers = [
                presets.make_conv2d(channels, channels, kernel, quant_cfg, groups=channels),
                nn.BatchNorm2d(channels),
                presets.make_relu(quant_cfg),
                presets.make_conv2d(channels, channels, 1, quant_cfg),
            ]
        else:
            layers = [presets.make_conv2d(channels, channels, kernel, quant_cfg)]
        layers.append(nn.BatchNorm2d(channels))
        return layers if last else [*layers, presets.make_relu(quant_cfg)]

    return nn.Sequential(*conv(last=False), *conv(last=True))


class EulerStep(nn.Module):
    """``h <- q_h(h + q_h(dt * f(h)))``; ``q_h`` is the state quantizer, owned by the net
    (a list keeps it out of this module's parameters, so it is saved once)."""

    def __init__(self, f: nn.Module, dt: float, q_h: nn.Module) -> None:
        super().__init__()
        self.f = f
        self.dt = dt
        self._q = [q_h]

    def forward(self, h: Any) -> Any:
        """``h``: a QuantTensor (a float tensor for the float preset); returns the same."""
        q_h = self._q[0]
        return q_h(h + q_h(self.f(h) * self.dt))


class ODENet(nn.Module):
    def __init__(self, cfg: ODEConfig, n_classes: int, quant_cfg: QuantConfig) -> None:
        super().__init__()
        c = cfg.channels
        self.input_quant = presets.make_input(quant_cfg)
        self.q_h = presets.make_signed_act(quant_cfg)
        stem: list[nn.Module] = [
            presets.make_conv2d(1, c, cfg.kernel, quant_cfg), nn.BatchNorm2d(c), self.q_h,
        ]
        if cfg.pool:
            stem.append(nn.MaxPool2d(2))
        self.stem = nn.Sequential(*stem)
        dt = 2.0 ** -cfg.shift
        separable = cfg.variant == "dsodenet"
        blocks = 1 if cfg.shared else cfg.steps
        self.blocks = nn.ModuleList(
            EulerStep(_conv_f(c, cfg.kernel, quant_cfg, separable), dt, self.q_h)
            for _ in range(blocks)
        )
        self.steps = cfg.steps
        _, h, w = cfg.feature_shape()
        self.classifier = presets.make_linear(c * h * w, n_classes, bias=True, quant_cfg=quant_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(self.input_quant(x))
        for t in range(self.steps):
            h = self.blocks[t % len(self.blocks)](h)
        out = self.classifier(torch.flatten(h, 1))
        assert isinstance(out, torch.Tensor)
        return out


def _weights(module: nn.Module) -> int:
    """Weights and biases of the convolutions and FC layers of ``module`` (BatchNorm
    folds into the thresholds in hardware; quantizer scales are not counted)."""
    return sum(
        p.numel() for m in module.modules() if isinstance(m, nn.Conv2d | nn.Linear)
        for p in (m.weight, m.bias) if p is not None
    )


def parameter_counts(cfg: ODEConfig) -> dict[str, dict[str, int]]:
    """Per variant (``resnet``, ``node``, ``dsodenet``) at ``cfg``'s channels, kernel and
    steps: the weights of the ODE part (the blocks, stored once when shared) and of the
    whole network with the stem and head (the paper's counts leave those out)."""
    float_cfg = QuantConfig(method="float")
    counts = {}
    for variant in ("resnet", "node", "dsodenet"):
        net = ODENet(cfg.model_copy(update={"variant": variant}), N_CLASSES, float_cfg)
        blocks = _weights(net.blocks)
        counts[variant] = {"blocks": blocks, "total": _weights(net)}
    return counts
