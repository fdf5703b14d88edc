"""The ``sr`` family: ESPCN-style single-image super-resolution with a nearest-neighbour
resize convolution, on luminance patches of scikit-learn's sample photographs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from codesign.frontend.metrics import PSNR
from codesign.frontend.models.registry import Family, register
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import FlowConfig, QuantConfig
    from codesign.frontend.data import TargetSplit


class SRConfig(BuiltinModelSection):
    """``model.kind: sr``: feature convs on the low-resolution patch (``kernel`` x
    ``kernel``, BatchNorm, ReLU; the first ``first_kernel`` x ``first_kernel``), then the
    resize convolution: a ``scale`` x nearest-neighbour upsampling and a ``kernel`` x
    ``kernel`` conv to the one output channel, the high-resolution luminance in pixel
    codes (no activation: a regression output). The input patch joins the last features
    as one more channel (a skip), so the resize conv refines the nearest upsampling.

    The resize convolution is the A2Q papers' super-resolution setting: an upsampling
    followed by a conv instead of ESPCN's sub-pixel conv and pixel shuffle, which avoids
    its checkerboard artefacts and needs no depth-to-space on the accelerator."""

    kind: Literal["sr"]
    patch: int = Field(default=8, ge=4, le=64)
    """Height and width of a low-resolution input patch."""
    scale: int = Field(default=2, ge=2, le=4)
    """Upsampling factor: the output patch is ``patch * scale`` wide."""
    channels: list[int] = Field(default=[16, 16], min_length=1)
    """Output channels of each feature conv."""
    first_kernel: int = Field(default=5, ge=1, le=9)
    """Kernel size of the first feature conv (ESPCN: 5)."""
    kernel: int = Field(default=3, ge=1, le=9)
    """Kernel size of the other feature convs and of the resize conv."""
    train_patches: int = Field(default=4096, ge=16)
    """Training patches drawn from the left of the photographs."""
    test_patches: int = Field(default=512, ge=1)
    """Test patches drawn from their right (``sim.frames`` of them are simulated)."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One luminance patch (NCHW without the batch)."""
        return (1, self.patch, self.patch)

    @model_validator(mode="after")
    def _consistent(self) -> SRConfig:
        if any(c < 1 for c in self.channels):
            raise ValueError(f"model.channels must be >= 1, got {self.channels}")
        for key in ("first_kernel", "kernel"):
            if getattr(self, key) % 2 == 0:
                raise ValueError(
                    f"model.{key}={getattr(self, key)} is even; an odd kernel keeps the "
                    "feature map size with symmetric padding"
                )
        return self


def _build(section: SRConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.sr.net import SuperResolution

    return SuperResolution(section, quant)


def _weighted_layers(section: SRConfig) -> list[str]:
    # features: conv, BatchNorm, ReLU per stage
    return [f"features.{3 * i}" for i in range(len(section.channels))] + ["resize_conv"]


def _dataset(section: SRConfig, input_bits: int, seed: int) -> TargetSplit:
    from codesign.frontend.data import load_sr_patches

    return load_sr_patches(section.patch, section.scale, input_bits, seed,
                           section.train_patches, section.test_patches)


def digits_only(kind: str) -> Any:
    """A family's ``check``: it trains on its own images, so ``data`` stays the default
    (no domain adaptation, no npz set)."""

    def check(cfg: FlowConfig) -> None:
        data = cfg.data
        if data.kind != "digits" or getattr(data, "domain", "source") != "source":
            raise ValueError(
                f"model.kind {kind} trains and tests on its own data set; leave the data "
                "section out (no npz set, no domain adaptation)"
            )

    return check


FAMILY = register(Family(
    "sr", SRConfig, streamline="cnn", build=_build, metric=PSNR, dataset=_dataset,
    test_set="patches of the right quarter of scikit-learn's two sample photographs",
    check=digits_only("sr"), weighted_layers=_weighted_layers,
))
