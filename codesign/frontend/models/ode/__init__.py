"""The ``ode`` family: a Neural ODE on the digits (dsODENet, Kawakami et al., IEICE 2023).

A stem lifts the 1x8x8 image to ``channels`` feature maps (conv, BatchNorm, the state
quantizer, optionally a 2x2 max-pool); a block f updates the state ``steps`` times,
``h <- h + dt * f(h)`` with ``dt = 2^-dt_shift`` (forward Euler); a head (flatten, FC)
classifies. ``variant`` says what f is and whether it is shared:

- ``resnet``: T blocks of two 3x3 convs, each with its own weights (the unrolled baseline);
- ``node``: one such block shared over the T steps (a Neural ODE);
- ``dsodenet``: one shared block of two depthwise-separable convs (depthwise 3x3 +
  pointwise 1x1 each).

The step size vanishes into the quantization scales. The state h is quantized by one
signed per-tensor quantizer q_h (scale s_h) wherever it appears, and the update is
``h <- q_h(h + q_h(dt * f(h)))``. Quantizing ``dt * f`` at s_h is the same, integer for
integer, as quantizing f at the scale ``s_h * 2^k`` and shifting by k exactly (a power of
two scales without rounding): f's output lands on h's integer grid, both addends have
one scale, and the update is an integer add followed by a saturating requantization
(the sum is already on the grid, so q_h only clips it). No shift of an integer remains
in the graph, hence none of the .5 ties on which QONNX's round-half-even and FINN's
``x >= t`` thresholds (half up) disagree; the FINN graph is an elementwise add of two
streams and a Thresholding that saturates, as in the residual CNN.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from codesign.frontend.models.registry import IMAGE_SIZE, N_CLASSES, Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import FlowConfig, QuantConfig

Variant = Literal["resnet", "node", "dsodenet"]


class ODEConfig(BuiltinModelSection):
    """``model.kind: ode``: stem, T Euler steps of a residual block f, head."""

    kind: Literal["ode"]
    variant: Variant = "dsodenet"
    """``resnet`` (T blocks, own weights), ``node`` (one shared block of 3x3 convs) or
    ``dsodenet`` (one shared block of depthwise-separable convs)."""
    steps: int = 2
    """T, the Euler steps (blocks of ``resnet``); at least 1."""
    dt_shift: int = Field(default=1, ge=0, le=16)
    """k: the step size is dt = 2^-k."""
    dt: float | None = None
    """The step size as a number instead of ``dt_shift``: it must be 2^-k (the hardware
    realises dt as a scale, exactly)."""
    channels: int = Field(default=8, ge=1)
    """Width of the state h (feature maps)."""
    kernel: int = Field(default=3, ge=1, le=IMAGE_SIZE)
    """Kernel size of the stem's and f's spatial convolutions (odd)."""
    pool: bool = True
    """2x2 max-pool at the end of the stem (8x8 -> 4x4 feature maps)."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    @property
    def shared(self) -> bool:
        """True when one block is shared over the steps (the loop in hardware)."""
        return self.variant != "resnet"

    @property
    def shift(self) -> int:
        """k of dt = 2^-k (from ``dt`` when given)."""
        if self.dt is None:
            return self.dt_shift
        return round(-math.log2(self.dt))

    def feature_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) of the state h."""
        size = IMAGE_SIZE // 2 if self.pool else IMAGE_SIZE
        return self.channels, size, size

    @model_validator(mode="after")
    def _consistent(self) -> ODEConfig:
        if self.steps < 1:
            raise ValueError(f"model.steps (T) must be >= 1, got {self.steps}")
        if self.kernel % 2 == 0:
            raise ValueError(
                f"model.kernel={self.kernel} is even; an odd kernel keeps the feature map size"
            )
        if self.dt is not None:
            k = -math.log2(self.dt) if self.dt > 0 else math.nan
            if not (k >= 0 and k == round(k) and k <= 16):
                raise ValueError(
                    f"model.dt={self.dt} is not 2^-k for an integer 0 <= k <= 16; the hardware "
                    "realises the step size as a power-of-two scale (use model.dt_shift: k)"
                )
            if "dt_shift" in self.model_fields_set and round(k) != self.dt_shift:
                raise ValueError(
                    f"model.dt={self.dt} and model.dt_shift={self.dt_shift} disagree; give one"
                )
        return self


def _build(section: ODEConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.ode.net import ODENet

    return ODENet(section, N_CLASSES, quant)


def _loop_iterations(section: ODEConfig) -> int:
    return section.steps if section.shared else 1


def _parameters(section: ODEConfig) -> dict[str, Any]:
    from codesign.frontend.models.ode.net import parameter_counts

    return parameter_counts(section)


def _weighted_layers(section: ODEConfig) -> list[str]:
    # f: (conv, BatchNorm, ReLU) twice without the last ReLU; a separable conv is a
    # depthwise conv, BatchNorm, ReLU and a pointwise conv
    per_f = [0, 3, 6, 9] if section.variant == "dsodenet" else [0, 3]
    blocks = 1 if section.shared else section.steps
    names = [f"blocks.{b}.f.{i}" for b in range(blocks) for i in per_f]
    return ["stem.0", *names, "classifier"]


def _check(cfg: FlowConfig) -> None:
    quant = cfg.quant
    if quant.last_input_bits != quant.act_bits:
        raise ValueError(
            f"quant.layer_policy {quant.layer_policy} gives the classifier "
            f"{quant.last_input_bits}-bit inputs, but the classifier of model.kind ode reads "
            f"the state h, whose one quantizer every layer shares ({quant.act_bits} bits, "
            f"quant.act_bits); set quant.act_bits: {quant.last_input_bits} or "
            "quant.layer_policy: uniform"
        )


FAMILY = register(Family("ode", ODEConfig, streamline="ode", build=_build,
                         loop_iterations=_loop_iterations, parameters=_parameters,
                         weighted_layers=_weighted_layers, check=_check))
