"""Domain adaptation of a model trained on the digits (the source) to a derived target
domain (:mod:`codesign.frontend.domains`): fine-tuning on a few labelled target images
per class, with the source and target test accuracy before and after."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

from torch import nn

from codesign.config import TrainConfig
from codesign.frontend.data import DigitsSplit, UserSplit
from codesign.frontend.domains import few_shot, target_sets

BATCH = 10
"""Adaptation's batch size: a few dozen images in batches of ten give five steps an
epoch (one batch of the training size would give one, too few to move the weights)."""


@dataclass(frozen=True)
class Adaptation:
    domain: str
    shots: int
    """Labelled target images per class."""
    epochs: int
    lr: float
    source_before: float
    target_before: float
    source_after: float
    target_after: float
    seconds: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def adapt(model: nn.Module, split: DigitsSplit, domain: str, shots: int, epochs: int,
          train_cfg: TrainConfig, lr: float | None = None) -> Adaptation:
    """Fine-tune ``model`` (trained on ``split``'s source images) on ``shots`` target
    training images per class at ``lr`` (the training rate if None); accuracies on the
    source and the target test images."""
    from codesign.frontend.quant.train import evaluate, train_model

    start = time.perf_counter()
    x_train, x_test = target_sets(split, domain, train_cfg.seed)
    before = (evaluate(model, split.x_test, split.y_test), evaluate(model, x_test, split.y_test))
    idx = few_shot(split.y_train, shots, train_cfg.seed)
    few = UserSplit(x_train[idx], split.y_train[idx], x_test, split.y_test)
    cfg = train_cfg.model_copy(update={"epochs": epochs, "batch_size": BATCH,
                                       "lr": lr if lr is not None else train_cfg.lr})
    train_model(model, few, cfg)
    after = (evaluate(model, split.x_test, split.y_test), evaluate(model, x_test, split.y_test))
    return Adaptation(
        domain=domain, shots=shots, epochs=epochs, lr=cfg.lr, source_before=before[0],
        target_before=before[1], source_after=after[0], target_after=after[1],
        seconds=round(time.perf_counter() - start, 2),
    )
