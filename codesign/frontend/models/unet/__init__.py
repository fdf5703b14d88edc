"""The ``unet`` family: a small encoder-decoder with a concatenated skip that denoises the
1x8x8 digits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from codesign.frontend.metrics import PSNR
from codesign.frontend.models.registry import IMAGE_SIZE, Family, register
from codesign.frontend.models.sr import digits_only
from codesign.schema import BuiltinModelSection

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import QuantConfig
    from codesign.frontend.data import TargetSplit


class UNetConfig(BuiltinModelSection):
    """``model.kind: unet``: denoising of the digits (noisy 1x8x8 codes in, the clean
    image out, PSNR). Encoder: a ``kernel`` x ``kernel`` conv to ``channels[0]`` (the skip),
    then per further level a 2x2 max-pool and a conv to ``channels[i]``; decoder: per
    level a 2x nearest upsampling, the concatenation with that level's skip and a conv back
    to its width; a 1x1 conv to the one output channel (no activation: the image in pixel
    codes). Convs carry BatchNorm and ReLU; the two tensors of each concatenation come out
    of one shared activation quantizer, so they carry one scale and the concatenation is
    a plain stream join in hardware.

    Denoising, not segmentation: a digit's foreground is nearly a threshold of its input
    (one 1x1 conv would do), while restoring noisy strokes needs the context the
    encoder's pooled level brings back through the skip; and its metric, PSNR, is the
    ``sr`` family's."""

    kind: Literal["unet"]
    channels: list[int] = Field(default=[8, 16], min_length=2, max_length=4)
    """Width of each level: the full-resolution one, then each pooled one."""
    kernel: int = Field(default=3, ge=1, le=IMAGE_SIZE)
    noise: float = Field(default=0.25, gt=0, le=1)
    """Standard deviation of the Gaussian noise, as a share of the pixel code range."""
    copies: int = Field(default=4, ge=1)
    """Noisy draws of each training image."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One noisy digit (NCHW without the batch)."""
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    @model_validator(mode="after")
    def _consistent(self) -> UNetConfig:
        if any(c < 1 for c in self.channels):
            raise ValueError(f"model.channels must be >= 1, got {self.channels}")
        if self.kernel % 2 == 0:
            raise ValueError(
                f"model.kernel={self.kernel} is even; an odd kernel keeps the feature map "
                "size with symmetric padding"
            )
        return self


def _build(section: UNetConfig, quant: QuantConfig, seed: int) -> nn.Module:
    from codesign.frontend.models.unet.net import UNet

    return UNet(section, quant)


def _weighted_layers(section: UNetConfig) -> list[str]:
    # the encoder top-down, then the decoder bottom-up
    levels = len(section.channels)
    ups = [f"up.{i}.0" for i in reversed(range(levels - 1))]
    return [f"down.{i}.0" for i in range(levels)] + ups + ["head"]


def _dataset(section: UNetConfig, input_bits: int, seed: int) -> TargetSplit:
    from codesign.frontend.data import load_noisy_digits

    return load_noisy_digits(input_bits, section.noise, seed, section.copies)


FAMILY = register(Family(
    "unet", UNetConfig, streamline="cnn", build=_build, metric=PSNR, dataset=_dataset,
    test_set="noisy copies of the held-out test split of the digits",
    check=digits_only("unet"), weighted_layers=_weighted_layers,
))
