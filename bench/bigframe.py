"""Real image sizes (issue 23): the 128x128x3 CNN of ``configs/bigframe.yaml`` through the
whole flow, then its accelerator fit-checked against the ZCU104 and the ULX3S.

    PYTHONPATH=. .venv/bin/python bench/bigframe.py [--out out/bigframe] \
        [--json bench/results/bigframe.json]

Runs ``codesign flow configs/bigframe.yaml`` (import, lower, fifos, rtl, sim of one frame
on Verilator, overflow, synth for the config's board, the ZCU104), then synthesizes the
same accelerator as built (its kernels out of context, Yosys ``synth_ecp5``) for the
ULX3S, as the synth step would for ``board: ulx3s``. Each board's fit check is
:func:`codesign.synth.fit.check_fit`: the record holds the LUT/FF/BRAM/DSP totals, the
percentages of the board and, where the design does not fit, the FitError naming the
resource. Also recorded: wall seconds per step (``flow_seconds``: this run's wall time;
``steps_reused``: steps taken from an earlier run in ``--out``, their seconds that run's),
the cycles per frame measured in RTL beside the kernels' estimate, the FIFO depths.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "configs" / "bigframe.yaml"
BOARDS = ("zcu104", "ulx3s")


def fit_record(graph: Any, board_name: str, out: Path) -> dict[str, Any]:
    """Out-of-context Yosys of every kernel of ``graph`` for ``board_name``, summed, and
    the fit check against the board's budget (its error text where it does not fit)."""
    from codesign.board.registry import get_board
    from codesign.cache import cache_dir
    from codesign.synth.fit import FitError, check_fit
    from codesign.synth.kernels import synthesize_accelerators

    board = get_board(board_name)
    t0 = time.monotonic()
    res = synthesize_accelerators({"accelerator": graph}, board, out / board_name,
                                  cache_dir=cache_dir("synth"), must_fit=None)["accelerator"]
    record: dict[str, Any] = {
        "part": board.part, "seconds": round(time.monotonic() - t0, 1),
        "total": res.total, "percent": res.percent, "budget": board.budget(),
        "per_kernel": {k.instance: k.total for k in res.kernels},
    }
    try:
        check_fit(res.total, board, "design 'accelerator' (kernels summed)")
        record["fits"] = True
    except FitError as err:
        record.update(fits=False, fit_error=str(err))
    return record


def run(out: Path, config: Path = CONFIG) -> dict[str, Any]:
    from codesign.config import load_config
    from codesign.dataflow.fifos import with_depths
    from codesign.dataflow.graph import read_graph
    from codesign.dataflow.lower import load_lowered
    from codesign.flow.runner import run_flow
    from codesign.synth.fit import FitError

    cfg = load_config(config)
    progress = _Progress()
    t0 = time.monotonic()
    flow_error = None
    try:
        results = run_flow(cfg, out, progress=progress).results
    except FitError as err:  # the config's board refused: the other steps are recorded
        flow_error, results = str(err), {}
    wall = time.monotonic() - t0
    manifest = json.loads((out / "manifest.json").read_text())
    steps = manifest["steps"]
    record: dict[str, Any] = {
        "benchmark": "bigframe",
        "command": f"PYTHONPATH=. .venv/bin/python bench/bigframe.py --config {rel(config)}",
        "config": rel(config),
        "flow_seconds": round(wall, 1),
        "step_seconds": {name: s.get("seconds") for name, s in steps.items()},
        "steps_reused": sorted(progress.cached),
        "flow_error": flow_error,
        "layers": [{k: ly.get(k) for k in ("name", "op_type", "mw", "mh", "pe", "simd",
                                           "cycles")}
                   for ly in steps["lower"]["result"]["layers"]],
        "fifos": {"simulated_cycles": steps["fifos"]["result"]["simulated_cycles"],
                  "words_total": steps["fifos"]["result"]["words_total"],
                  "depths": steps["fifos"]["result"]["depths"]},
    }
    if "sim" in steps and steps["sim"].get("status") == "done":
        sim = steps["sim"]["result"]
        record["cycles"] = sim["cycles"]
        record["verification"] = sim["verification"]
    if results:
        record["overflow_total"] = results.get("overflow", {}).get("total")
    # the accelerator as built: the folded dataflow graph with the measured FIFO depths
    graph = with_depths(read_graph(load_lowered(out / steps["lower"]["result"]["dataflow"]),
                                   name=cfg.name), steps["fifos"]["result"]["depths"])
    record["boards"] = {name: fit_record(graph, name, out / "fit") for name in BOARDS}
    return record


def rel(path: Path) -> str:
    """``path`` relative to the repository where it lies inside it."""
    path = path.resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


class _Progress:
    """Prints the flow's progress; remembers the steps reused from an earlier run (their
    seconds are that run's)."""

    def __init__(self) -> None:
        self.cached: set[str] = set()

    def step(self, name: str, status: str, seconds: float | None = None) -> None:
        if status == "cached":
            self.cached.add(name)
        print(f"{name}: {status}" + (f" in {seconds:.1f} s" if seconds else ""), flush=True)

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=CONFIG,
                        help="configs/bigframe.yaml, or configs/bigframe_sr.yaml (x2 upsampling)")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "bigframe")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "bigframe.json")
    args = parser.parse_args()
    record = run(args.out, args.config)
    args.json.write_text(json.dumps(record, indent=1) + "\n")
    print(json.dumps({k: record[k] for k in ("flow_seconds", "step_seconds")}, indent=1))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
