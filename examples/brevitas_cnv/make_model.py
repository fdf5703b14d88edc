"""Train the CNV-style network of ``cnv_digits.py`` on scikit-learn's digits with plain
Brevitas and PyTorch, as a user of codesign would, and save what ``codesign flow`` reads
for a Brevitas factory: the checkpoint (a state dict) and the test and training sets.

    python examples/brevitas_cnv/make_model.py [--out DIR] [--epochs N] [--seed S]

writes ``DIR/net.pt`` (``torch.save(net.state_dict())``), ``DIR/test.npz`` (``x``: the
360 test images as 8-bit pixel codes, shape (360, 1, 8, 8); ``y``: their labels) and
``DIR/train.npz`` (the other 1437 images, for ``codesign train`` without a checkpoint).
Then ``codesign flow examples/brevitas_cnv/cnv_w2a2.yaml --out out/cnv`` exports,
lowers, builds and verifies it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from cnv_digits import make_net  # noqa: E402


def digits_codes() -> tuple[np.ndarray, ...]:
    """Digits as 8-bit codes round(v * 255 / 16), shape (N, 1, 8, 8); a stratified 20 %
    test split."""
    x, y = load_digits(return_X_y=True)
    codes = np.floor(x * 255.0 / 16.0 + 0.5).astype(np.uint8).reshape(-1, 1, 8, 8)
    return tuple(train_test_split(codes, y, test_size=360, stratify=y, random_state=0))


def train(net: nn.Module, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    xs, ys = torch.from_numpy(x.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    opt = torch.optim.Adam(net.parameters(), lr=0.01)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    net.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(xs)).split(64):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(net(xs[idx]), ys[idx])
            loss.backward()
            opt.step()
        sched.step()
    return accuracy(net, x, y)


def accuracy(net: nn.Module, x: np.ndarray, y: np.ndarray) -> float:
    net.eval()
    with torch.no_grad():
        pred = net(torch.from_numpy(x.astype(np.float32))).argmax(1).numpy()
    return float((pred == y).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    x_tr, x_te, y_tr, y_te = digits_codes()
    torch.manual_seed(args.seed)
    net = make_net()
    train_acc = train(net, x_tr, y_tr, args.epochs, args.seed)
    test_acc = accuracy(net, x_te, y_te)
    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(net.state_dict(), args.out / "net.pt")
    np.savez_compressed(args.out / "test.npz", x=x_te, y=y_te)
    np.savez_compressed(args.out / "train.npz", x=x_tr, y=y_tr)
    print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} (torch)")
    print(f"wrote {args.out / 'net.pt'}, {args.out / 'test.npz'} and {args.out / 'train.npz'}")


if __name__ == "__main__":
    main()
