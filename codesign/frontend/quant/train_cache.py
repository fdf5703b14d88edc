"""Trained checkpoints, cached by what training reads.

Sweep points that differ only in what training never sees (a baseline's accumulator
width P, folding, board, verification and synthesis settings) train the same model:
the first trains it, the others take its checkpoint. The key digests the model, the
quantization as the layers are built from it (P only for accumulator-aware methods),
the training settings (seed included, so the data split too), the training code and the
torch, brevitas, numpy and scikit-learn versions. Training is deterministic for a seed
(see :mod:`codesign.frontend.quant.train`), so a hit equals a re-run.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

from codesign.cache import files_digest, store_entry
from codesign.config import ModelSection, QuantConfig, TrainConfig
from codesign.frontend.quant.presets import get_preset

CHECKPOINT = "model.pt"
RECORD = "train.json"
_PACKAGE = Path(__file__).resolve().parents[1]
#: The code that decides what a training run produces.
_CODE = ("data.py", "quant", "models")


@functools.cache
def _code_digest() -> str:
    files = {}
    for name in _CODE:
        path = _PACKAGE / name
        for src in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            files[src.relative_to(_PACKAGE).as_posix()] = src
    return files_digest(files)


def training_key(model: ModelSection, quant: QuantConfig, train: TrainConfig) -> str:
    """Digest of everything a training run's checkpoint depends on."""
    q = quant.model_dump(mode="json")
    if not get_preset(quant.method).accumulator_aware:
        q.pop("acc_bits")  # the model never sees P: a squeezed baseline trains as the 32-bit
    data = {
        "model": model.model_dump(mode="json"),
        "quant": q,
        "train": train.model_dump(mode="json", exclude={"cache"}),
        "code": _code_digest(),
        "versions": {p: version(p) for p in ("torch", "brevitas", "numpy", "scikit-learn")},
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
