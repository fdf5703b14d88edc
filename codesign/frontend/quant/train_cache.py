"""Trained checkpoints, cached by what training reads.

Sweep points that differ only in what training never sees (a baseline's accumulator
width P, folding, board, verification and synthesis settings) train the same model:
the first trains it, the others take its checkpoint. The key digests the model, the
quantization as the layers are built from it (P only for accumulator-aware methods),
the training settings (seed included, so the data split too; ``train.init``, whose float
twin those same settings determine), the training code (the import closure of the
training, initialisation, model and data modules) and the versions of what it
imports. Training is deterministic for a seed (see :mod:`codesign.frontend.quant.train`),
so a hit equals a re-run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from codesign.cache import store_entry
from codesign.closure import code_digest
from codesign.config import ModelSection, QuantConfig, TrainConfig
from codesign.frontend.quant.presets import get_preset

CHECKPOINT = "model.pt"
RECORD = "train.json"
_TRAINING = ("codesign.frontend.data", "codesign.frontend.models", "codesign.frontend.quant.train",
             "codesign.frontend.quant.init")
"""The modules whose import closure decides what a training run produces (the data
module makes the split the flow hands to training)."""


def training_key(model: ModelSection, quant: QuantConfig, train: TrainConfig) -> str:
    """Digest of everything a training run's checkpoint depends on."""
    q = quant.model_dump(mode="json")
    if not get_preset(quant.method).accumulator_aware:
        q.pop("acc_bits")  # the model never sees P: a squeezed baseline trains as the 32-bit
    # the float twin trains from scratch whatever the quantized model starts from
    unread = {"cache", "init"} if quant.method == "float" else {"cache"}
    data = {
        "model": model.model_dump(mode="json"),
        "quant": q,
        "train": train.model_dump(mode="json", exclude=unread),
        "code": code_digest(_TRAINING),  # the code digest and the versions it imports
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:24]


def fetch(cache: Path, key: str, checkpoint: Path) -> dict[str, Any] | None:
    """Copy the cached checkpoint of ``key`` to ``checkpoint`` and return its training
    record, or None on a miss."""
    entry = cache / key
    try:
        record = json.loads((entry / RECORD).read_text())
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(entry / CHECKPOINT, checkpoint)
    except (OSError, json.JSONDecodeError):
        return None
    return record if isinstance(record, dict) else None


def store(cache: Path, key: str, checkpoint: Path, record: dict[str, Any]) -> None:
    """Keep ``checkpoint`` and its training ``record`` under ``key``."""
    record_path = checkpoint.with_name(f".{checkpoint.stem}.{RECORD}")
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    try:
        store_entry(cache, key, {CHECKPOINT: checkpoint, RECORD: record_path})
    finally:
        record_path.unlink(missing_ok=True)
