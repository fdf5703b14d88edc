"""Trained checkpoints cached by what training reads: keys, hits that equal a re-run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from codesign.config import parse_config
from codesign.flow.runner import run_flow
from codesign.frontend.quant.train_cache import training_key

BASE: dict[str, Any] = {
    "model": {"hidden": [8]},
    "quant": {"method": "baseline", "acc_bits": 32},
    "train": {"epochs": 2, "seed": 0},
}


def _cfg(quant: dict[str, Any] | None = None, train: dict[str, Any] | None = None) -> Any:
    data = json.loads(json.dumps(BASE))
    data["quant"].update(quant or {})
    data["train"].update(train or {})
    return parse_config(data)


def _key(cfg: Any) -> str:
    return training_key(cfg.model, cfg.quant, cfg.train)


def test_key_follows_what_training_reads() -> None:
    base = _cfg()
    # a baseline never sees P; the cache switch is no input either
    assert _key(_cfg({"acc_bits": 12})) == _key(base)
    assert _key(_cfg({"acc_bits": None})) == _key(base)
    assert _key(_cfg(train={"cache": False})) == _key(base)
    # A2Q's weight quantizer is built from P
    a2q = {"method": "a2q", "acc_bits": 16}
    assert _key(_cfg(a2q)) != _key(_cfg({**a2q, "acc_bits": 15}))
    assert _key(_cfg(a2q)) != _key(base)
    for quant, train in (({"weight_bits": 6}, None), (None, {"seed": 1}), (None, {"lr": 0.01})):
        assert _key(_cfg(quant, train)) != _key(base)


def _state(path: Path) -> dict[str, torch.Tensor]:
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert isinstance(state, dict)
    return state


def test_baselines_differing_in_p_train_once_and_a_hit_equals_a_rerun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path / "cache"))
    first = run_flow(_cfg(), tmp_path / "p32", until="train").build_dir
    second = run_flow(_cfg({"acc_bits": 12}), tmp_path / "p12", until="train").build_dir
    fresh = run_flow(_cfg(train={"cache": False}), tmp_path / "fresh", until="train").build_dir
    runs = {
        name: json.loads((bd / "manifest.json").read_text())["steps"]["train"]["result"]["runs"]
        for name, bd in (("first", first), ("second", second), ("fresh", fresh))
    }
    assert {r["source"] for r in runs["first"].values()} == {"trained"}
    assert {r["source"] for r in runs["second"].values()} == {"cache"}
    assert {r["source"] for r in runs["fresh"].values()} == {"trained"}
    for run in ("float", "quant"):
        assert runs["second"][run]["test_accuracy"] == runs["first"][run]["test_accuracy"]
        cached, retrained = _state(second / f"train/{run}.pt"), _state(fresh / f"train/{run}.pt")
        assert cached.keys() == retrained.keys()
        assert all(torch.equal(cached[k], retrained[k]) for k in cached)
    # the uncached run stored nothing new: two entries (float, baseline) from the first
    assert len(_entries(tmp_path / "cache" / "train")) == 2


def test_a_broken_entry_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODESIGN_CACHE_DIR", str(tmp_path / "cache"))
    cfg = _cfg()
    run_flow(cfg, tmp_path / "a", until="train")
    for entry in _entries(tmp_path / "cache" / "train"):
        (entry / "model.pt").unlink()
    bd = run_flow(cfg, tmp_path / "b", until="train").build_dir
    runs = json.loads((bd / "manifest.json").read_text())["steps"]["train"]["result"]["runs"]
    assert {r["source"] for r in runs.values()} == {"trained"}


def _entries(cache: Path) -> list[Path]:
    """The cache's entries (its .locks folder aside)."""
    return [p for p in cache.iterdir() if not p.name.startswith(".")]
