"""Training loop for the digits models: deterministic for a seed, silent (progress by callback)."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from codesign.config import TrainConfig
from codesign.frontend.metrics import ACCURACY, Metric


class Split(Protocol):
    """What training reads: the digits split (:class:`codesign.frontend.data.DigitsSplit`) or a
    user's npz sets (:class:`codesign.frontend.data.UserSplit`, whose test set may lack labels)."""

    @property
    def x_train(self) -> npt.NDArray[np.float32]: ...

    @property
    def y_train(self) -> npt.NDArray[np.int64]: ...

    @property
    def x_test(self) -> npt.NDArray[np.float32]: ...

    @property
    def y_test(self) -> npt.NDArray[np.int64] | None: ...


ProgressFn = Callable[[int, float], None]
"""Called after each epoch with the 1-based epoch number and its mean training loss."""


@dataclass
class TrainResult:
    train_accuracy: float
    """The model's metric (accuracy for a classifier, PSNR in dB for an image family)."""
    test_accuracy: float | None
    """None where the test set has no labels."""
    epochs: int
    seconds: float
    losses: list[float] = field(default_factory=list)
    """Mean training loss per epoch."""


@contextmanager
def _deterministic_torch(seed: int) -> Iterator[None]:
    """Seeded, deterministic, single-threaded torch; global state is restored afterwards."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        torch.set_num_threads(1)  # a fixed reduction order; the digits MLP is tiny anyway
        torch.use_deterministic_algorithms(True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic)
            torch.set_num_threads(threads)


def as_tensors(
    x: npt.ArrayLike, y: npt.ArrayLike | None = None
) -> tuple[torch.Tensor, torch.Tensor | None]:
    xt = torch.from_numpy(np.array(x, dtype=np.float32))
    yt = None if y is None else torch.from_numpy(np.array(y, dtype=np.int64))
    return xt, yt


def predict_logits(model: nn.Module, x: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """Eval-mode logits for a batch of pixel codes."""
    xt, _ = as_tensors(x)
    model.eval()
    with torch.no_grad():
        out = model(xt)
    return np.asarray(out.detach().cpu().numpy(), dtype=np.float32)


def evaluate(model: nn.Module, x: npt.ArrayLike, y: npt.ArrayLike) -> float:
    """Top-1 accuracy of the model in eval mode (the model is left in eval mode)."""
    labels = np.asarray(y, dtype=np.int64)
    if len(labels) == 0:
        raise ValueError("cannot evaluate on an empty set")
    pred = predict_logits(model, x).argmax(axis=1)
    return float((pred == labels).mean())


def score(model: nn.Module, x: npt.ArrayLike, y: npt.ArrayLike, metric: Metric,
          input_bits: int) -> float:
    """``metric`` of the model's eval-mode outputs on ``x`` against ``y`` (the model is
    left in eval mode)."""
    targets = np.asarray(y)
    if len(targets) == 0:
        raise ValueError("cannot evaluate on an empty set")
    return metric.score(predict_logits(model, x), targets, input_bits)


def _loss(metric: Metric, input_bits: int) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Cross-entropy on a classifier's logits; on output images, the mean squared error
    in units of the code range (the PSNR's noise power, so the loss is near 1e-3 whatever
    the input bits)."""
    if metric.classifies:
        return nn.CrossEntropyLoss()
    peak = float(2**input_bits - 1)

    def mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return torch.mean(((out - target.to(out.dtype)) / peak) ** 2)

    return mse


def train_model(
    model: nn.Module,
    split: Split,
    train_cfg: TrainConfig,
    progress: ProgressFn | None = None,
    metric: Metric = ACCURACY,
    input_bits: int = 8,
) -> TrainResult:
    """Train with Adam and a cosine learning-rate decay; the loss is ``metric``'s:
    cross-entropy on a classifier's logits, the mean squared error of output images (in
    pixel codes of ``input_bits``).

    Shuffling, initialisation of Brevitas statistics and every other random choice come
    from ``train_cfg.seed``, so the same model, split and config give the same weights.
    """
    x_train, y_train = as_tensors(split.x_train, split.y_train)
    assert y_train is not None
    n = x_train.shape[0]
    steps_per_epoch = max(1, -(-n // train_cfg.batch_size))
    losses: list[float] = []
    start = time.perf_counter()
    with _deterministic_torch(train_cfg.seed):
        shuffle = torch.Generator().manual_seed(train_cfg.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=train_cfg.lr)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer,
            max_lr=train_cfg.lr,
            total_steps=train_cfg.epochs * steps_per_epoch,
            pct_start=0.1,
            anneal_strategy="cos",
        )
        loss_fn = _loss(metric, input_bits)
        for epoch in range(1, train_cfg.epochs + 1):
            model.train()
            order = torch.randperm(n, generator=shuffle)
            total = 0.0
            for i in range(steps_per_epoch):
                idx = order[i * train_cfg.batch_size : (i + 1) * train_cfg.batch_size]
                if idx.numel() < 2:  # BatchNorm needs two samples in training mode
                    continue
                loss = loss_fn(model(x_train[idx]), y_train[idx])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += float(loss.detach()) * idx.numel()
            losses.append(total / n)
            if progress is not None:
                progress(epoch, losses[-1])
        train_acc = score(model, split.x_train, split.y_train, metric, input_bits)
        test_acc = (None if split.y_test is None
                    else score(model, split.x_test, split.y_test, metric, input_bits))
    return TrainResult(
        train_accuracy=train_acc,
        test_accuracy=test_acc,
        epochs=train_cfg.epochs,
        seconds=time.perf_counter() - start,
        losses=losses,
    )


def save_checkpoint(model: nn.Module, path: Path) -> None:
    """Write the model's state dict atomically (temp file in the same dir, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(model.state_dict(), tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(model: nn.Module, path: Path) -> nn.Module:
    """Load a state dict saved by :func:`save_checkpoint` (tensors only, no pickled code)."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    return model
