"""Sweep scale-out: the same small sweep on a Dask LocalCluster with 1 and with 2 workers.

Writes JSON with the wall-clock seconds of each run and their ratio::

    python bench/sweep_scaling.py --spec configs/sweep_ci.yaml   # the real flow, every step
    python bench/sweep_scaling.py --points 6 --flow burn         # a CPU-bound stand-in flow

Each run gets a fresh store, build directory and synthesis cache, so no point and no
kernel is reused from the other run. Each worker gets its share of the CPUs for torch
threads and Yosys processes (run_sweep's default: all of them with 1 worker, half each
with 2). The cluster is started before the clock starts (startup is reported
separately); the first point on a worker still pays its imports, as in a real sweep.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from provenance import machine

from codesign.config import FlowConfig
from codesign.dse.points import expand_points
from codesign.dse.spec import SweepSpec, load_sweep_spec, parse_sweep_spec
from codesign.dse.sweep import run_sweep
from codesign.flow.build import write_json_atomic


def burn_flow(cfg: FlowConfig, out: Path, until: str | None = None) -> dict[str, Any]:
    """A CPU-bound stand-in for run_flow: spins for ``train.lr`` seconds."""
    out.mkdir(parents=True, exist_ok=True)
    end = time.process_time() + cfg.train.lr
    x = 0
    while time.process_time() < end:
        x = (x * 1103515245 + 12345) % 2**31
    return {"digest": cfg.digest(), "config": cfg.model_dump(mode="json"), "x": x}


def _run(spec: SweepSpec, workers: int, flow_fn: Any, until: str | None) -> dict:
    from distributed import LocalCluster

    cache = tempfile.TemporaryDirectory(prefix=f"sweep-bench-cache-{workers}w-")
    os.environ["CODESIGN_CACHE_DIR"] = cache.name  # inherited by the worker processes
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
                spec,
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
        cache.cleanup()
    return {
        "seconds": round(summary.seconds, 3),
        "cluster_startup_seconds": round(startup, 3),
        "done": summary.done,
        "failed": summary.failed,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("bench/results/sweep_scaling.json"))
    ap.add_argument("--spec", type=Path, help="a sweep spec to run (with --flow real)")
    ap.add_argument("--points", type=int, default=6, help="seed points without --spec")
    ap.add_argument(
        "--flow",
        choices=("real", "burn"),
        default="real",
        help="real: codesign's run_flow up to --until; burn: CPU-bound stand-in",
    )
    ap.add_argument("--until", default=None, help="last flow step for --flow real")
    ap.add_argument("--epochs", type=int, default=2, help="training epochs for --flow real")
    ap.add_argument("--point-seconds", type=float, default=2.0, help="CPU seconds per burn")
    args = ap.parse_args(argv)

    flow_fn: Any
    if args.flow == "real":
        from codesign.flow.runner import run_flow

        flow_fn, until = run_flow, args.until
        base = {"model": {"hidden": [16]}, "train": {"epochs": args.epochs}}
    else:
        flow_fn, until = burn_flow, None
        base = {"train": {"lr": args.point_seconds}}
    if args.spec is not None:
        if args.flow != "real":
            ap.error("--spec runs the real flow")
        spec = load_sweep_spec(args.spec)
    else:
        spec = parse_sweep_spec({"base": base, "grid": {"train.seed": list(range(args.points))}})
    points = len(expand_points(spec))

    runs = {str(w): _run(spec, w, flow_fn, until) for w in (1, 2)}
    t1, t2 = runs["1"]["seconds"], runs["2"]["seconds"]
    result = {
        "benchmark": "sweep_scaling",
        "executor": "dask LocalCluster (processes; CPUs shared out among the workers)",
        "flow": args.flow,
        "spec": str(args.spec) if args.spec else None,
        "until": until,
        "points": points,
        "point_seconds": args.point_seconds if args.flow == "burn" else None,
        "machine": machine(),
        "runs": runs,
        "ratio_seconds_2_over_1": round(t2 / t1, 3),
        "speedup_2_vs_1": round(t1 / t2, 3),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(args.out, result)
    print(
        f"sweep_scaling ({args.flow}, {points} points): 1 worker {t1:.1f} s, "
        f"2 workers {t2:.1f} s, speedup {t1 / t2:.2f}x -> {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
