"""``fold.fit: BOARD``: the largest-throughput folding whose design fits the board.

FINN's SetFolding chooses PE/SIMD for a cycles-per-frame target; this search walks the
targets the way SetFolding walks parallelism, from slow to fast: the fully folded design
first, then each power of two below the previous design's estimated II, and keeps the
fastest design whose resources fit the board's budget. Each candidate is real hardware:
the lowering up to accumulator minimisation runs once, then per candidate the fold,
FIFO and estimate steps, and every kernel is synthesized out of context for the board
(cached per kernel, see :mod:`codesign.synth.kernels`), plus the UART shell on an open
board; the walk stops at the first candidate that does not fit (resources grow with
parallelism) or when SetFolding cannot go faster. The probes land in
``<out>/fold_fit/`` and ``<out>/fold_fit/search.json``; the config that comes out has
``fold.target_cycles`` (the place-and-route fit check stays the final word).
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codesign.board.registry import Board, get_board
from codesign.config import FlowConfig, parse_config
from codesign.synth.fit import FitError, check_fit, over_budget

FULLY_FOLDED = 1 << 20
"""A target no design reaches: SetFolding leaves every node at its slowest folding."""
SEARCH_DIR = "fold_fit"


@dataclass(frozen=True)
class Probe:
    target_cycles: int
    est_ii: int
    folding: list[dict[str, int | str]]
    totals: dict[str, float]
    over: dict[str, float]

    @property
    def fits(self) -> bool:
        return not self.over


def with_target(cfg: FlowConfig, target: int) -> FlowConfig:
    data = cfg.model_dump(mode="json")
    data["fold"] = {"target_cycles": target}
    return parse_config(data, source=f"{cfg.name} with fold.target_cycles {target}")


def _shell_totals(board: Board, in_bits: int, out_bits: int, words_out: int,
                  work: Path) -> dict[str, float]:
    """Resources of the UART shell for these stream widths (open boards only)."""
    from codesign.board.shell import shell_sources
    from codesign.synth.yosys import synthesize

    if board.io is None or board.io.uart is None:
        return {}
    res = synthesize(list(shell_sources()), "cs_uart_shell", board, work,
                     params={"IN_BITS": in_bits, "OUT_BITS": out_bits,
                             "OUT_DEPTH": max(2, words_out), "CLKS_PER_BIT": 104})
    return dict(res.totals)


def _probe(cfg: FlowConfig, board: Board, target: int, base: Path, onnx_in: Path) -> Probe:
    from codesign.cache import cache_dir
    from codesign.dataflow.graph import read_graph
    from codesign.dataflow.lower import load_lowered, run_lower
    from codesign.synth.cells import add_counts, tidy_counts
    from codesign.synth.kernels import synthesize_accelerators

    probe_cfg = with_target(cfg, target)
    res = run_lower(onnx_in, probe_cfg, base, start="fold")
    assert res.dataflow is not None
    graph = read_graph(load_lowered(res.dataflow), name=cfg.name)
    work = base / f"t{target}"
    shutil.rmtree(work, ignore_errors=True)
    synth = synthesize_accelerators(
        {"accelerator": graph}, board, work,
        cache_dir=cache_dir("synth") if cfg.synth.cache else None, must_fit=None,
    )["accelerator"]
    totals = dict(synth.total)
    add_counts(totals, _shell_totals(board, graph.inp.tdata_bits, graph.out.tdata_bits,
                                     graph.words_out, work / "shell"))
    totals = tidy_counts(totals)
    folding: list[dict[str, int | str]] = [
        {"node": k.node, "PE": int(k.params["PE"]), "SIMD": int(k.params["SIMD"])}
        for k in graph.nodes if "PE" in k.params and "SIMD" in k.params
    ]
    return Probe(target_cycles=target, est_ii=graph.est_ii, folding=folding,
                 totals=totals, over=over_budget(totals, board))


def resolve_fit(cfg: FlowConfig, out: Path) -> FlowConfig:
    """``cfg`` with ``fold.fit`` replaced by the fastest fitting ``fold.target_cycles``
    (``cfg`` itself without ``fold.fit``). Raises :class:`FitError` when even the fully
    folded design exceeds the board."""
    from codesign.dataflow.lower import run_lower
    from codesign.flow.build import captured_output
    from codesign.flow.runner import run_flow
    from codesign.flow.steps.data import IMPORT_DIR

    if cfg.fold.fit is None:
        return cfg
    board = get_board(cfg.fold.fit)
    base = Path(out) / SEARCH_DIR
    base.mkdir(parents=True, exist_ok=True)
    slowest = with_target(cfg, FULLY_FOLDED)
    front = "import" if cfg.imported else "export"
    run_flow(slowest, base, until=front)  # training is shared through the train cache
    onnx_in = base / (IMPORT_DIR if cfg.imported else "export") / "model.onnx"
    probes: list[Probe] = []
    # FINN prints its folding decisions: they go to the search's log, as the steps' do
    (base / "logs").mkdir(exist_ok=True)
    with captured_output(base / "logs" / "fold_fit.log"):
        run_lower(onnx_in, slowest, base, stop="minimize_accumulator_width")
        target = FULLY_FOLDED
        while True:
            probe = _probe(cfg, board, target, base, onnx_in)
            if probes and probe.est_ii >= probes[-1].est_ii:
                break  # SetFolding cannot go faster
            probes.append(probe)
            if not probe.fits or probe.est_ii <= 1:
                break
            target = 1 << max(0, math.ceil(math.log2(probe.est_ii)) - 1)
    fitting = [p for p in probes if p.fits]
    record: dict[str, Any] = {
        "board": board.name, "budget": board.budget(),
        "probes": [{**asdict(p), "fits": p.fits} for p in probes],
        "chosen": fitting[-1].target_cycles if fitting else None,
    }
    (base / "search.json").write_text(json.dumps(record, indent=2) + "\n")
    if not fitting:
        check_fit(probes[0].totals, board, f"{cfg.name} even fully folded")
        raise FitError(f"{cfg.name}: no folding fits {board.name}")  # pragma: no cover
    return with_target(cfg, fitting[-1].target_cycles)
