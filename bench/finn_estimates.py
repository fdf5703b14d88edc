"""FINN's own LUT estimate of the study's matrix units beside what Yosys synthesized, to
see where the A2Q papers' "up to 2.3x fewer resources" and our measured ratios part.

FINN's HLS MVAU estimate (FINN-R, with the accumulator and threshold terms of FINN PRs
#717/#767: ``MVAU_hls.lut_estimation`` of finn-plus) grows with the accumulator width:
the accumulator, and with thresholds in LUTRAM (``ram_style_thresholds: distributed``)
the 2^B - 1 thresholds and comparators of every PE at that width, which for 8-bit
outputs is most of the estimate. FINN's default (``auto``) leaves thresholds out. Our
RTL searches its thresholds in B stages instead of comparing all 2^B - 1 at once.

For every finished point of the given sweep output folders (their ``<digest>/lower``
graphs and ``results.json``): the estimate of each MVAU as built (FINN's accumulator
width) and with ``accDataType`` INT32 (FINN then takes the data-type bound of
arXiv 2301.13376 when it is narrower: the twin's width as FINN would estimate it), under
both threshold styles, and the LUTs Yosys synthesized for the same MVAUs; ratios against
the 32-bit baseline of the same MACs, for the whole and per MVAU.

    PYTHONPATH=. python bench/finn_estimates.py out/sweep_a2q out/sweep_cnn out/sweep_sr \
        --json bench/results/finn_estimates.json
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path
from typing import Any

from provenance import commit, machine

from codesign.board.registry import get_board
from codesign.flow.build import write_json_atomic
from codesign.report.data import Run, runs_from_results
from codesign.report.paper import baseline_peer

GRAPH = "lower/08_estimates_dataflow.onnx"
STYLES = ("auto", "distributed")


def _estimates(graph: Path, part: str) -> dict[str, dict[str, int]]:
    """Per MVAU: FINN's LUT estimate per threshold style, as built and with INT32."""
    from finn.custom_op.fpgadataflow.hls.matrixvectoractivation_hls import MVAU_hls
    from qonnx.core.modelwrapper import ModelWrapper

    out: dict[str, dict[str, int]] = {}
    for node in ModelWrapper(str(graph)).graph.node:
        if not node.op_type.startswith("MVAU"):
            continue
        op = MVAU_hls(node)
        built = op.get_nodeattr("accDataType")
        est = {}
        for style in STYLES:
            op.set_nodeattr("ram_style_thresholds", style)
            for acc, key in ((built, style), ("INT32", f"{style}_int32")):
                op.set_nodeattr("accDataType", acc)
                est[key] = int(op.lut_estimation(part))
        op.set_nodeattr("accDataType", built)
        out[node.name] = est
    return out


def point(build: Path) -> tuple[Run, dict[str, Any]] | None:
    """One finished sweep point: its run, and its estimates and synthesized MVAU LUTs
    (None: unfinished)."""
    results = build / "results.json"
    if not results.is_file() or not (build / GRAPH).is_file():
        return None
    run = runs_from_results(json.loads(results.read_text()), str(results))
    res = (run.results.get("resources") or {}).get("accelerator")
    if not res:
        return None
    synth = {k["instance"].removeprefix("u_"): k["total"].get("LUT", 0)
             for k in res["kernels"] if k["module"] == "cs_mvau"}
    est = _estimates(build / GRAPH, get_board(run.results["resources"]["board"]).finn_part)
    return run, {
        "study": run.name, "digest": run.digest[:8], "method": run.method,
        "acc_bits": run.target_acc_bits, "fine_tuned": run.fine_tuned,
        "macs": run.get("config.fold.mac_resource"),
        "synth_lut": sum(synth.values()),
        "estimate": {key: sum(e[key] for e in est.values()) for key in next(iter(est.values()))},
        "per_mvau": {n: {"synth_lut": synth.get(n), **e} for n, e in est.items()},
    }


def with_ratios(points: list[tuple[Run, dict[str, Any]]]) -> None:
    """Each point's ratios against its 32-bit baseline: the report's reference, the
    baseline of the same design, PE/SIMD and MACs (:func:`baseline_peer`)."""
    runs = [run for run, _ in points]
    by_run = {id(run): p for run, p in points}
    for run, p in points:
        peer = baseline_peer(run, runs)
        if peer is None or peer is run:
            continue
        base = by_run[id(peer)]
        p["vs_baseline"] = {"synth_lut": round(base["synth_lut"] / p["synth_lut"], 3), **{
            f"estimate_{k}": round(base["estimate"][k] / p["estimate"][k], 3)
            for k in STYLES}}
        p["vs_int32_estimate"] = {
            k: round(p["estimate"][f"{k}_int32"] / p["estimate"][k], 3) for k in STYLES}
        # the constrained layers against the unconstrained ones (the papers' policy)
        p["vs_baseline_per_mvau"] = {
            n: {"synth_lut": round(base["per_mvau"][n]["synth_lut"] / m["synth_lut"], 3),
                "estimate_distributed": round(base["per_mvau"][n]["distributed"]
                                              / m["distributed"], 3)}
            for n, m in p["per_mvau"].items() if m["synth_lut"]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sweeps", nargs="+", type=Path, help="sweep output folders (--out)")
    ap.add_argument("--json", type=Path, default=Path("bench/results/finn_estimates.json"))
    args = ap.parse_args(argv)
    found = [f for sweep in args.sweeps for d in sorted(sweep.iterdir()) if d.is_dir()
             if (f := point(d)) is not None]
    with_ratios(found)
    points = [p for _, p in found]
    write_json_atomic(args.json, {
        "benchmark": "finn_estimates",
        "command": "PYTHONPATH=. python bench/finn_estimates.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(), "machine": machine(), "points": points,
    })
    for p in points:
        print(p["study"], p["method"], p["acc_bits"], p["macs"], p["synth_lut"],
              p["estimate"], p.get("vs_baseline"), p.get("vs_int32_estimate"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
