"""The CI-sized ViTs (other head counts and widths than the shipped configs'), each built
once per test session up to its overflow proofs and shared by tests/test_vit_flow.py and
the ViT notebook's test (the notebook's short mode builds the same two designs)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from ci_size import ci_sized

from codesign.cache import file_lock
from codesign.config import FlowConfig
from codesign.flow.runner import run_flow

FRAMES = 12

VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "softmax-h4-d8": ("vit_softmax.yaml", {"dim": 8, "heads": 4, "mlp": 8}),
    # no position embedding, the digits resized to 16x16 in 4x4 patches (16 tokens)
    "linear-h1-d8": ("vit_linear.yaml", {"dim": 8, "heads": 1, "mlp": 8, "position": False,
                                         "image": 16, "patch": 4}),
}


def small_vit(variant: str) -> FlowConfig:
    """A shipped ViT config, trained briefly, verified on a sample of the test set."""
    shipped, model = VARIANTS[variant]
    return ci_sized(shipped, model=model, epochs=3, frames=FRAMES,
                    fold={"target_cycles": 512})


def vit_build(variant: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``variant``'s build directory, run up to 'overflow' once for all xdist workers (the
    first builds it under a lock, the others find its steps finished). Tests copy it
    before running more steps in it."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    out = root / f"vit_{variant}"
    with file_lock(root / f"vit_{variant}.lock"):
        run_flow(small_vit(variant), out, until="overflow")
    return out
