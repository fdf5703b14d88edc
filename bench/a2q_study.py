"""The A2Q study's figures as the README quotes them: every point of the study sweeps,
read from their stores through ``codesign report`` (which also writes the HTML report and
its figures), one JSON record per point, and on stdout the README's table per study.

    codesign sweep configs/sweep_a2q.yaml --out out/sweep_a2q --workers 2   # and _cnn, _sr
    PYTHONPATH=. python bench/a2q_study.py out/sweep_a2q/sweep.sqlite \
        out/sweep_cnn/sweep.sqlite out/sweep_sr/sweep.sqlite --report out/report \
        --json bench/results/a2q_study.json

Each point's resource reductions are the report's (codesign.report.paper): LUT and FF of
the 32-bit baseline with the same PE/SIMD and MACs over the point's (the papers'
comparison), and of the point's own weights built with 32-bit accumulators (the twin, on
the P = 16 points). A baseline's reduction is None: it is the reference.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from provenance import commit, machine

from codesign.flow.build import write_json_atomic
from codesign.report import build_report
from codesign.report.data import Run
from codesign.report.paper import PaperComparison, Reduction


def _pair(r: Reduction | None) -> dict[str, float | None] | None:
    if r is None:
        return None
    return {"lut": None if r.lut is None else round(r.lut, 3),
            "ff": None if r.ff is None else round(r.ff, 3)}


def point(run: Run, c: PaperComparison) -> dict[str, Any]:
    """One design point: what it is, how well it does, what it costs."""
    res = run.resources("accelerator") or {}
    ov = run.results.get("overflow")
    return {
        "study": run.name, "digest": run.digest[:8], "status": run.status,
        "method": run.method, "P": run.acc_text, "fine_tuned": run.fine_tuned,
        "macs": run.mac_text, "folding": run.folding_text,
        "metric": run.metric.name, "float": run.score("float"), "deployed": run.accuracy,
        "float_fraction": c.float_fraction,
        # Yosys lists only the cells a design uses: a synthesized design has 0 of the rest
        "resources": {k: res.get(k, 0 if res else None)
                      for k in ("LUT", "FF", "CARRY", "DSP", "BRAM36")},
        "vs_baseline": _pair(c.vs_baseline), "vs_twin": _pair(c.vs_twin),
        "sparsity": c.sparsity, "compression": c.compression,
        "overflowing_channels": ov.get("total") if isinstance(ov, dict) else None,
        "error": (run.error or "").strip().splitlines()[0][:200] if run.error else None,
    }


def _score(p: dict[str, Any]) -> str:
    if p["deployed"] is None:
        return "—"
    if p["metric"] == "accuracy":
        return f"{100 * p['deployed']:.1f} %"
    return f"{p['deployed']:.2f} dB"


def _ratios(p: dict[str, Any]) -> str:
    """``LUT / FF`` against the baseline, and against the twin where there is one."""
    def pair(r: dict[str, float | None] | None) -> str | None:
        return f"{r['lut']:.2f}x / {r['ff']:.2f}x" if r and r["lut"] and r["ff"] else None

    twin = pair(p["vs_twin"])
    return (pair(p["vs_baseline"]) or "—") + (f" (twin {twin})" if twin else "")


def _point_order(key: tuple[str, str, bool]) -> tuple[bool, str, int, bool]:
    """Baselines first, then by method and falling P."""
    method, acc, fine_tuned = key
    width = acc.split()[0]
    return method != "baseline", method, -int(width) if width.isdigit() else 0, fine_tuned


def markdown(points: Sequence[dict[str, Any]]) -> str:
    """One table per study, a row per point with its LUT-MAC and DSP-MAC builds side by
    side (the README's study tables)."""
    out = []
    for study in dict.fromkeys(p["study"] for p in points):
        pts = [p for p in points if p["study"] == study]
        mixed = any(p["fine_tuned"] for p in pts) and not all(p["fine_tuned"] for p in pts)
        out += [f"\n{study} (float {_score({**pts[0], 'deployed': pts[0]['float']})})\n",
                "| point | deployed | LUT MACs: LUT / FF | reduction | DSP MACs: LUT / FF | "
                "reduction | sparsity |", "|---|---|---|---|---|---|---|"]
        for key in sorted({(p["method"], p["P"], p["fine_tuned"]) for p in pts},
                          key=_point_order):
            builds = {p["macs"]: p for p in pts if (p["method"], p["P"], p["fine_tuned"]) == key}
            cells = []
            for macs in ("LUT", "DSP"):
                b = builds.get(macs)
                r = b["resources"] if b else None
                cells += [f"{r['LUT']:,} / {r['FF']:,}" if r else "—", _ratios(b) if b else "—"]
            first = next(iter(builds.values()))
            scratch = ", from scratch" if mixed and not key[2] else ""
            out.append(f"| {key[0]}, P = {key[1].split()[0]}{scratch} | {_score(first)} | "
                       f"{' | '.join(cells)} | {100 * first['sparsity']:.1f} % |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("stores", nargs="+", type=Path, help="sweep stores (sweep.sqlite)")
    ap.add_argument("--report", type=Path, default=Path("out/report"))
    ap.add_argument("--json", type=Path, default=Path("bench/results/a2q_study.json"))
    args = ap.parse_args(argv)
    report = build_report(list(args.stores), args.report)
    done = [r for r in report.runs if r.status == "done"]
    points = [point(r, c) for r, c in zip(done, report.comparisons, strict=True)]
    failed = [{"study": r.name, "overrides": r.get("config.quant"), "error": r.error}
              for r in report.runs if r.status != "done"]
    write_json_atomic(args.json, {
        "benchmark": "a2q_study",
        "command": "PYTHONPATH=. python bench/a2q_study.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "machine": machine(),
        "report": str(report.html),
        "points": points,
        "failed": failed,
    })
    print(markdown(points))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
