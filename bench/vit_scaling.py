"""The ViT N-scaling study: softmax against Taylor linear attention at N = 16, 64, 256.

Runs ``configs/sweep_vit.yaml`` (every flow step: train, lower, RTL simulation under
stalls, overflow proof, Yosys), builds the report (its ViT table and ``vit_scaling``
figure) and writes the figures of every point as JSON::

    python bench/vit_scaling.py --out out/vit_scaling --json bench/results/vit_scaling.json

A finished point is not run again (the sweep store resumes), so an interrupted study
continues where it stopped.
"""

from __future__ import annotations

import argparse
import datetime
import time
from pathlib import Path
from typing import Any

from provenance import commit, machine

from codesign.dse.points import expand_points
from codesign.dse.spec import load_sweep_spec
from codesign.dse.store import SweepStore
from codesign.dse.sweep import run_sweep
from codesign.flow.build import write_json_atomic
from codesign.paths import data_dir
from codesign.report.build import build_report
from codesign.report.data import Run, load_runs
from codesign.report.vit import attention_cycles, attention_resources, tokens, vit_runs


def point(r: Run) -> dict[str, Any]:
    """One study point: the token count, the attention form, cycles and resources of the
    attention core and of the accelerator, verification and accuracy."""
    return {
        "attention": r.get("config.model.attention"),
        "tokens": tokens(r),
        "dim": r.get("config.model.dim"),
        "heads": r.get("config.model.heads"),
        "ii": r.get("ii"),
        "latency_measured": r.get("cycles.latency_measured"),
        "attention_cycles_estimated": attention_cycles(r),
        "attention_resources": attention_resources(r),
        "accelerator_resources": r.resources(),
        "percent_of_board": r.get("resources.accelerator.percent"),
        "verification_passed": r.get("verification.passed"),
        "frames": r.get("verification.frames"),
        "overflow_total": r.get("overflow.total"),
        "accuracy": r.get("accuracy"),
        "layers": [
            {k: ly.get(k) for k in ("name", "kernel", "role", "pe", "simd", "cycles")}
            for ly in r.get("layers") or []
        ],
    }


def refused_core(build: Path, board: str) -> dict[str, Any] | None:
    """The attention core of a point whose lower step refused its graph after lowering
    it (e.g. at the QONNX-against-FINN tie check): its kernels read from the last saved
    dataflow graph, synthesized out of context, cycles estimated (not simulated)."""
    from codesign.board.registry import get_board
    from codesign.dataflow.graph import read_graph, single_kernel
    from codesign.dataflow.lower import load_lowered
    from codesign.synth.cells import sum_counts
    from codesign.synth.kernels import synthesize_accelerators

    saved = sorted((build / "lower").glob("[0-9][0-9]_*_dataflow.onnx"))
    if not saved:
        return None
    graph = read_graph(load_lowered(saved[-1]), name="accel")
    core = [k for k in graph.nodes if k.kernel.role == "attention"]
    designs = {k.instance_name: single_kernel(k, k.instance_name) for k in core}
    res = synthesize_accelerators(designs, get_board(board), build / "core_synth",
                                  must_fit=None)
    total = sum_counts(acc.total for acc in res.values())
    return {"graph": saved[-1].name, "attention_cycles_estimated": max(k.est_cycles for k in core),
            "accelerator_ii_estimated": graph.est_ii, "attention_resources": total}


def ratios(points: list[dict[str, Any]]) -> dict[str, Any]:
    """Softmax over linear at each N: attention-core cycles, accelerator II, core LUTs."""
    by = {(p["attention"], p["tokens"]): p for p in points}
    out: dict[str, Any] = {}
    for n in sorted({p["tokens"] for p in points}):
        s, lin = by.get(("softmax", n)), by.get(("linear", n))
        if s is None or lin is None:
            continue
        soft_lut, lin_lut = ((p["attention_resources"] or {}).get("LUT") for p in (s, lin))
        out[str(n)] = {
            "attention_cycles": s["attention_cycles_estimated"] / lin["attention_cycles_estimated"],
            "accelerator_ii": s["ii"]["cycles"] / lin["ii"]["cycles"],
            "attention_lut": soft_lut / lin_lut if soft_lut and lin_lut else None,
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", type=Path, default=data_dir("configs") / "sweep_vit.yaml")
    ap.add_argument("--out", type=Path, default=Path("out/vit_scaling"))
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--json", type=Path, default=Path("bench/results/vit_scaling.json"))
    ap.add_argument("--retry-failed", action="store_true", help="run failed points again")
    args = ap.parse_args()

    t0 = time.perf_counter()
    store = args.out / "sweep.sqlite"
    spec = load_sweep_spec(args.spec)
    summary = run_sweep(spec, store, args.out / "builds", workers=args.workers,
                        retry_failed=args.retry_failed)
    seconds = time.perf_counter() - t0
    # this spec's points only (a store may hold points of an earlier version of the
    # spec), copied into a store of their own that the report reads
    points_store = args.out / "points.sqlite"
    points_store.unlink(missing_ok=True)
    with SweepStore(store) as src, SweepStore(points_store) as dst:
        for p in expand_points(spec):
            if (row := src.get(p.digest)) is not None:
                dst.put(row.digest, config=row.config, status=row.status,
                        overrides=row.overrides, results=row.results, error=row.error,
                        seconds=row.seconds, until=row.until)
    runs = load_runs([points_store])
    failed: dict[str, Any] = {}
    for r in runs:
        if r.status != "done":
            cfg = r.results.get("config") or {}
            failed[r.digest] = {
                "tokens": tokens(r), "attention": r.get("config.model.attention"),
                "error": r.error,
                "refused_core": refused_core(args.out / "builds" / r.digest,
                                             str(cfg.get("board", "zcu104"))),
            }
    report = build_report([points_store], args.out / "report", title="ViT attention: N scaling")
    points = [point(r) for r in vit_runs(report.runs) if r.status == "done"]
    write_json_atomic(args.json, {
        "command": f"python bench/vit_scaling.py --out {args.out}",
        "date": datetime.date.today().isoformat(),
        "commit": commit(),
        "machine": machine(),
        "sweep_seconds": round(seconds, 1),
        "sweep": {"done": summary.done, "failed": summary.failed,
                  "skipped (already in the store)": summary.skipped},
        "failed_points": failed,
        "report": str(report.html),
        "softmax_over_linear": ratios(points),
        "points": points,
    })
    print(f"{len(points)} points in {seconds:.0f} s; report {report.html}; {args.json}")


if __name__ == "__main__":
    main()
