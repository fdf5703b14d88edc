"""The CI size of a shipped config: its own sections, a smaller model trained briefly,
verified on a sample of its test set on Icarus (which builds in about a second, where
Verilator's builds would dominate a flow; the kernel tests run every kernel on both)."""

from __future__ import annotations

from typing import Any

from codesign.config import FlowConfig, load_config, parse_config
from codesign.paths import data_dir

II_FRAMES = 4
"""Frames of the stall-free run that measures the II: three frame-end gaps after the
first frame. The checks are bit-exactness and the II within 5 % of the estimate, which
three gaps show as well as the shipped configs' 23."""


def ci_sized(shipped: str, *, model: dict[str, Any], epochs: int, frames: int,
             **sections: dict[str, Any]) -> FlowConfig:
    """``configs/<shipped>`` with ``model`` keys replaced, ``epochs`` of training,
    ``frames`` test frames under stalls, and each of ``sections`` (e.g. ``fold``) merged
    into the section of that name."""
    data = load_config(data_dir("configs") / shipped).model_dump(mode="json")
    data["model"].update(model)
    data["train"]["epochs"] = epochs
    data["sim"].update(frames=frames, ii_frames=II_FRAMES, simulator="icarus")
    for name, values in sections.items():
        data[name].update(values)
    return parse_config(data, source=f"{shipped} (CI size)")
