"""Sweep scale-out: the same small sweep on a Dask LocalCluster with 1 and with 2 workers.

Writes JSON with the wall-clock seconds of each run and their ratio::

    python bench/sweep_scaling.py --points 6 --flow real      # the real flow (until train)
    python bench/sweep_scaling.py --points 6 --flow burn      # a CPU-bound stand-in flow

Each run gets a fresh store and build directory, so no point is skipped. The cluster is
started before the clock starts (startup is reported separately); the first point on a
worker still pays its imports, as it would in a real sweep.
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from codesign.build import write_json_atomic
from codesign.config import FlowConfig
from codesign.sweep import parse_sweep_spec, run_sweep


def burn_flow(cfg: FlowConfig, out: Path, until: str | None = None) -> dict[str, Any]:
    """A CPU-bound stand-in for run_flow: spins for ``train.lr`` seconds."""
    out.mkdir(parents=True, exist_ok=True)
    end = time.process_time() + cfg.train.lr
    x = 0
    while time.process_time() < end:
        x = (x * 1103515245 + 12345) % 2**31
    return {"digest": cfg.digest(), "config": cfg.model_dump(mode="json"), "x": x}


def _run(spec_data: dict[str, Any], workers: int, flow_fn: Any, until: str | None) -> dict:
    from distributed import LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    startup = time.perf_counter() - t0
    try:
        with tempfile.TemporaryDirectory(prefix=f"sweep-bench-{workers}w-") as tmp:
            summary = run_sweep(
                parse_sweep_spec(spec_data),
                Path(tmp) / "store.sqlite",
                Path(tmp) / "out",
                executor="dask",
                workers=workers,
                scheduler=cluster.scheduler_address,
                flow_fn=flow_fn,
                until=until,
            )
    finally:
        cluster.close()
    return {
        "seconds": round(summary.seconds, 3),
        "cluster_startup_seconds": round(startup, 3),
        "done": summary.done,
        "failed": summary.failed,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/sweep_scaling.json"))
    ap.add_argument("--points", type=int, default=6)
    ap.add_argument(
        "--flow",
        choices=("real", "burn"),
        default="real",
        help="real: codesign's run_flow up to --until; burn: CPU-bound stand-in",
    )
    ap.add_argument("--until", default="train", help="last flow step for --flow real")
    ap.add_argument("--epochs", type=int, default=2, help="training epochs for --flow real")
    ap.add_argument("--point-seconds", type=float, default=2.0, help="CPU seconds per burn")
    args = ap.parse_args(argv)

    flow_fn: Any
    if args.flow == "real":
        from codesign.flow import run_flow

        flow_fn, until = run_flow, args.until
        base = {"model": {"hidden": [16]}, "train": {"epochs": args.epochs}}
    else:
        flow_fn, until = burn_flow, None
        base = {"train": {"lr": args.point_seconds}}
    spec_data = {"base": base, "grid": {"train.seed": list(range(args.points))}}

    runs = {str(w): _run(spec_data, w, flow_fn, until) for w in (1, 2)}
    t1, t2 = runs["1"]["seconds"], runs["2"]["seconds"]
    result = {
        "benchmark": "sweep_scaling",
        "executor": "dask LocalCluster (processes, 1 thread per worker)",
        "flow": args.flow,
        "until": until,
        "points": args.points,
        "point_seconds": args.point_seconds if args.flow == "burn" else None,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "runs": runs,
        "ratio_seconds_2_over_1": round(t2 / t1, 3),
        "speedup_2_vs_1": round(t1 / t2, 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out, result)
    print(
        f"sweep_scaling ({args.flow}, {args.points} points): 1 worker {t1:.1f} s, "
        f"2 workers {t2:.1f} s, speedup {t1 / t2:.2f}x -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
