"""A 4-bit three-layer convolutional network at a real image size (128x128 RGB by default),
written with plain Brevitas, and its test set: what ``codesign flow`` imports to exercise
the large-frame hardware path (issue 23: line buffers and weight ROMs in BRAM, vectors and
references for frames of 49 k pixels, an RTL simulation of millions of cycles).

    python examples/bigframe/make_model.py [--out DIR] [--size 128] [--channels 64]
                                           [--upscale 2]

The network: the 8-bit pixel codes scaled to [0, 1] (a Mul FINN moves into the first
thresholds), QuantConv2d 3 -> C, 4-bit QuantReLU, QuantConv2d C -> C, 4-bit QuantReLU,
QuantConv2d C -> 3 and an 8-bit signed output quantizer; every convolution 3x3 with zero
padding 1, 4-bit weights, no bias. With ``--upscale s`` a nearest-neighbour upsampling by
``s`` comes before the last convolution: ESPCN-style super-resolution with a resize
convolution, as the A2Q papers ran it (``configs/bigframe_sr.yaml``). The weights are
random (this model is about the hardware, not accuracy); the activation scales are
calibrated on the test patches, so that the quantized activations use their whole range
instead of saturating or vanishing.

Writes ``DIR/net.onnx`` (``brevitas.export.export_qonnx``, batch 1, input not annotated:
the config gives ``data.input_type: UINT8``) and ``DIR/test.npz`` (``x``: RGB patches of
scikit-learn's two sample photographs as codes, shape (N, 3, size, size); no labels).
Then ``codesign flow examples/bigframe/bigframe.yaml --out out/bigframe`` builds it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from brevitas.export import export_qonnx
from brevitas.graph.calibrate import calibration_mode
from brevitas.nn import QuantConv2d, QuantIdentity, QuantReLU
from brevitas.quant import Int8ActPerTensorFloat, Int8WeightPerTensorFloat
from sklearn.datasets import load_sample_images
from torch import nn

HERE = Path(__file__).resolve().parent


class Scale(nn.Module):
    """Pixel codes 0..255 to [0, 1]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1.0 / 255.0)


def _conv(in_ch: int, out_ch: int) -> QuantConv2d:
    return QuantConv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=False,
                       weight_quant=Int8WeightPerTensorFloat, weight_bit_width=4)


def make_net(channels: int = 64, act_bits: int = 4, upscale: int = 1) -> nn.Module:
    resize = [nn.Upsample(scale_factor=upscale, mode="nearest")] if upscale > 1 else []
    return nn.Sequential(
        Scale(),
        _conv(3, channels),
        QuantReLU(bit_width=act_bits),
        _conv(channels, channels),
        QuantReLU(bit_width=act_bits),
        *resize,
        _conv(channels, 3),
        QuantIdentity(act_quant=Int8ActPerTensorFloat),
    )


def patches(size: int, count: int) -> np.ndarray:
    """``count`` size x size RGB patches (NCHW uint8 codes) spread over scikit-learn's two
    sample photographs (427 x 640, shipped with the package)."""
    images = load_sample_images().images
    out = []
    for i in range(count):
        img = images[i % len(images)]
        k = i // len(images)
        top = (k * 97) % (img.shape[0] - size)
        left = (k * 151 + 64) % (img.shape[1] - size)
        out.append(img[top:top + size, left:left + size].transpose(2, 0, 1))
    return np.ascontiguousarray(np.stack(out), dtype=np.uint8)


def build(out: Path, size: int = 128, channels: int = 64, count: int = 4,
          seed: int = 0, upscale: int = 1) -> tuple[Path, Path]:
    """Write ``out/net.onnx`` and ``out/test.npz``; return both paths."""
    torch.manual_seed(seed)
    net = make_net(channels, upscale=upscale)
    x = patches(size, count)
    xs = torch.from_numpy(x.astype(np.float32))
    net.eval()
    with torch.no_grad(), calibration_mode(net):
        net(xs)
    out.mkdir(parents=True, exist_ok=True)
    onnx_path, npz_path = out / "net.onnx", out / "test.npz"
    export_qonnx(net, torch.zeros(1, 3, size, size), export_path=str(onnx_path), dynamo=False)
    np.savez_compressed(npz_path, x=x)
    return onnx_path, npz_path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--channels", type=int, default=64, help="hidden channels")
    parser.add_argument("--count", type=int, default=4, help="test patches")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--upscale", type=int, default=1,
                        help="nearest-neighbour upsampling before the last convolution")
    args = parser.parse_args()
    paths = build(args.out, args.size, args.channels, args.count, args.seed, args.upscale)
    print(f"wrote {paths[0]} and {paths[1]}")


if __name__ == "__main__":
    main()
