"""Train a small quantized MLP on scikit-learn's digits with plain Brevitas, as a user
of codesign would, and save what ``codesign flow`` imports: the QONNX file and its test
set.

    python examples/byom/make_model.py [--out DIR] [--epochs N] [--no-labels]

writes ``DIR/net.onnx`` (Brevitas's QONNX export, batch 1; its input is not annotated,
so the config gives ``data.input_type: UINT8``) and ``DIR/test.npz`` (``x``: the 360 test
images as 8-bit pixel codes, shape (360, 64); ``y``: their labels, unless --no-labels).
Then ``codesign flow examples/byom/byom_mlp.yaml --out out/byom`` builds and verifies it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from brevitas.export import export_qonnx
from brevitas.nn import QuantLinear, QuantReLU
from brevitas.quant import Int8WeightPerTensorFloat
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


class Scale(nn.Module):
    """Pixel codes 0..255 to [0, 1] (a scalar Mul that FINN absorbs into thresholds)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1.0 / 255.0)


def make_net(hidden: int = 32, act_bits: int = 4) -> nn.Module:
    return nn.Sequential(
        Scale(),
        QuantLinear(64, hidden, bias=False, weight_quant=Int8WeightPerTensorFloat),
        nn.BatchNorm1d(hidden),
        QuantReLU(bit_width=act_bits),
        QuantLinear(hidden, 10, bias=True, weight_quant=Int8WeightPerTensorFloat),
    )


def digits_codes() -> tuple[np.ndarray, ...]:
    """Digits as 8-bit codes round(v * 255 / 16), a stratified 20 % test split."""
    x, y = load_digits(return_X_y=True)
    codes = np.floor(x * 255.0 / 16.0 + 0.5).astype(np.uint8)
    return tuple(train_test_split(codes, y, test_size=360, stratify=y, random_state=0))


def train(net: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    xs, ys = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(xs)).split(64):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return float((net(xs).argmax(1) == ys).float().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-labels", action="store_true", help="write x only")
    args = parser.parse_args()

    x_tr, x_te, y_tr, y_te = digits_codes()
    torch.manual_seed(args.seed)
    net = make_net(args.hidden)
    train_acc = train(net, x_tr, y_tr, args.epochs, args.seed)
    with torch.no_grad():
        test_acc = float((net(torch.from_numpy(x_te.astype(np.float32))).argmax(1).numpy()
                          == y_te).mean())
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "net.onnx"
    export_qonnx(net, torch.zeros(1, 64), export_path=str(onnx_path), dynamo=False)
    arrays = {"x": x_te} if args.no_labels else {"x": x_te, "y": y_te}
    np.savez(args.out / "test.npz", **arrays)
    print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} (torch)")
    print(f"wrote {onnx_path} and {args.out / 'test.npz'}")


if __name__ == "__main__":
    main()
