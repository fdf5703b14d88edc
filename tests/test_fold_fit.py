"""fold.fit: the config key, and the search walk (fully folded first, then each power of
two below the last estimated II, stopping at the first misfit) on scripted probes; the
real probes (lowering + per-kernel synthesis) run in `codesign bitstream` on
configs/mlp_icebreaker_fit.yaml (README, Boards and bitstreams)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codesign.board.registry import get_board
from codesign.config import ConfigError, load_config, parse_config
from codesign.dataflow import lower
from codesign.dse import fold_fit
from codesign.errors import LoweringError
from codesign.flow import runner as flow
from codesign.paths import data_dir
from codesign.synth.fit import FitError, over_budget


def test_fit_is_one_of_the_folding_choices_and_leaves_other_digests_alone() -> None:
    cfg = parse_config({"fold": {"fit": "icebreaker"}})
    assert cfg.fold.fit == "icebreaker" and cfg.fold.target_cycles is None
    assert "fit" in cfg.model_dump(mode="json")["fold"]
    plain = parse_config({"fold": {"target_cycles": 64}})
    assert "fit" not in plain.model_dump(mode="json")["fold"]  # digests as before fold.fit
    with pytest.raises(ConfigError, match=r"exactly one of .* got target_cycles, fit"):
        parse_config({"fold": {"fit": "icebreaker", "target_cycles": 8}})
    with pytest.raises(LoweringError, match=r"fold\.fit: icebreaker is resolved"):
        lower.step_fold(None, cfg)  # type: ignore[arg-type]


def _scripted(monkeypatch: pytest.MonkeyPatch, luts: dict[int, int]) -> list[int]:
    """Probes whose II is the target (capped at 2048) and whose LUTs come from ``luts``."""
    board = get_board("icebreaker")
    calls: list[int] = []
    monkeypatch.setattr(flow, "run_flow", lambda *a, **k: None)
    monkeypatch.setattr(lower, "run_lower", lambda *a, **k: None)

    def probe(cfg: Any, b: Any, target: int, base: Path, onnx_in: Path) -> fold_fit.Probe:
        calls.append(target)
        ii = min(target, 2048)
        totals = {"LUT": float(luts[ii]), "FF": 100.0}
        return fold_fit.Probe(target, ii, [], totals, over_budget(totals, board))

    monkeypatch.setattr(fold_fit, "_probe", probe)
    return calls


def test_the_walk_keeps_the_fastest_fitting_target(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    luts = {2048: 900, 1024: 1000, 512: 1500, 256: 2500, 128: 4000, 64: 6000}
    calls = _scripted(monkeypatch, luts)
    cfg = load_config(data_dir("configs") / "mlp_icebreaker_fit.yaml")
    out = fold_fit.resolve_fit(cfg, tmp_path)
    assert out.fold.target_cycles == 128 and out.fold.fit is None
    assert calls == [fold_fit.FULLY_FOLDED, 1024, 512, 256, 128, 64]  # stops at the misfit
    record = json.loads((tmp_path / "fold_fit" / "search.json").read_text())
    assert record["chosen"] == 128 and [p["fits"] for p in record["probes"]][-1] is False


def test_nothing_fits_names_the_resource(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _scripted(monkeypatch, {2048: 9000})
    cfg = load_config(data_dir("configs") / "mlp_icebreaker_fit.yaml")
    with pytest.raises(FitError, match=r"even fully folded does not fit icebreaker: LUT "
                       r"\(SB_LUT4\) needs 9000, budget 4224"):
        fold_fit.resolve_fit(cfg, tmp_path)


def test_a_config_without_fit_is_returned_as_is(tmp_path: Path) -> None:
    cfg = load_config(data_dir("configs") / "mlp_icebreaker.yaml")
    assert fold_fit.resolve_fit(cfg, tmp_path) is cfg
