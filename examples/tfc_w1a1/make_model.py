"""Train a TFC-style W1A1 network (FINN's bnn_pynq TFC: binarized fully connected layers)
on scikit-learn's digits with Brevitas, and save what ``codesign flow`` imports: the ONNX
file and its test set.

    python examples/tfc_w1a1/make_model.py [--out DIR] [--epochs N] [--no-labels]

The network is ``brevitas_examples.bnn_pynq``'s ``FC`` (the TFC definition: a 1-bit input
quantizer after the ``2x - 1`` pre-processing, three 64-neuron QuantLinear layers with
1-bit bipolar weights, BatchNorm and 1-bit bipolar activations, a last QuantLinear and a
TensorNorm) on 8x8 digits, behind a Div that scales the pixel codes 0..16 to [0, 1]. The
QONNX export gets a TopK (qonnx's InsertTopK) so that the graph outputs the label, as
FINN's bnn_pynq end-to-end flow does, and its input is annotated UINT5 (the codes 0..16).

The script checks the saved graph's labels equal torch's on every test image. Writes
``DIR/tfc_w1a1.onnx`` and ``DIR/test.npz`` (``x``: the 360 test images as codes,
shape (360, 64); ``y``: their labels, unless --no-labels). Then
``codesign flow examples/tfc_w1a1/tfc_w1a1.yaml --out out/tfc`` builds and verifies it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch
from brevitas.export import export_qonnx
from brevitas_examples.bnn_pynq.models.FC import FC
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.transformation.insert_topk import InsertTopK
from qonnx.util.cleanup import cleanup_model
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

MAX_CODE = 16  # sklearn's digits are integers 0..16


class Tfc(nn.Module):
    """Pixel codes 0..16 scaled to [0, 1] (a Div FINN absorbs into the first thresholds),
    then bnn_pynq's TFC."""

    def __init__(self, hidden: int, layers: int) -> None:
        super().__init__()
        self.fc = FC(
            num_classes=10, weight_bit_width=1, act_bit_width=1, in_bit_width=1,
            in_channels=1, out_features=[hidden] * layers, in_features=(8, 8),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x / float(MAX_CODE))


def digits_codes() -> tuple[np.ndarray, ...]:
    """Digits as their codes 0..16, a stratified test split of 360 images."""
    x, y = load_digits(return_X_y=True)
    return tuple(train_test_split(x.astype(np.uint8), y, test_size=360, stratify=y,
                                  random_state=0))


def train(net: Tfc, x: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> float:
    """Adam on the cross-entropy; latent weights clipped to [-1, 1] after each step, as
    bnn_pynq's trainer does."""
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
            net.fc.clip_weights(-1.0, 1.0)
        sched.step()
    net.eval()
    with torch.no_grad():
        return float((net(xs).argmax(1) == ys).float().mean())


def export(net: Tfc, path: Path) -> None:
    """QONNX export, a top-1 TopK on the logits, the input annotated UINT5."""
    norm_scale = float(net.fc.features[-1].weight.detach())
    if norm_scale <= 0:
        # FINN absorbs the final scale into the TopK only where it keeps the order
        raise SystemExit(f"TensorNorm scale {norm_scale} is not positive; train another seed")
    export_qonnx(net, torch.zeros(1, 64), export_path=str(path), dynamo=False)
    model = cleanup_model(ModelWrapper(str(path)))
    model = model.transform(InsertTopK(k=1)).transform(InferShapes())
    model.set_tensor_datatype(model.graph.input[0].name, DataType["UINT5"])
    model.save(str(path))


def onnx_labels(path: Path, x: np.ndarray) -> np.ndarray:
    """The saved graph's top-1 labels (qonnx execution, one image at a time)."""
    model = ModelWrapper(str(path))
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    return np.array([
        int(execute_onnx(model, {iname: row[None].astype(np.float32)})[oname].reshape(-1)[0])
        for row in x
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-labels", action="store_true", help="write x only")
    args = parser.parse_args()

    x_tr, x_te, y_tr, y_te = digits_codes()
    torch.manual_seed(args.seed)
    net = Tfc(args.hidden, args.layers)
    train_acc = train(net, x_tr, y_tr, args.epochs, args.seed)
    with torch.no_grad():
        pred = net(torch.from_numpy(x_te.astype(np.float32))).argmax(1).numpy()
    test_acc = float((pred == y_te).mean())
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / "tfc_w1a1.onnx"
    export(net, onnx_path)
    mismatch = np.flatnonzero(onnx_labels(onnx_path, x_te) != pred)
    if mismatch.size:
        raise SystemExit(f"the ONNX graph's labels differ from torch on {mismatch.size} "
                         f"test images (first: {int(mismatch[0])})")
    arrays = {"x": x_te} if args.no_labels else {"x": x_te, "y": y_te}
    np.savez(args.out / "test.npz", **arrays)
    print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f} (torch)")
    print(f"wrote {onnx_path} and {args.out / 'test.npz'}")


if __name__ == "__main__":
    main()
