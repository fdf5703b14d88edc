"""Reports: source loading, Pareto front, paper comparison, figures and the HTML file.

All inputs are synthetic results mappings that follow the results.json schema; nothing
here runs the flow or depends on a build on disk.
"""

from __future__ import annotations

import copy
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from codesign.dse.store import SweepStore
from codesign.report import (
    ReportError,
    build_report,
    compare_run,
    load_runs,
    pareto_front,
    weight_stats,
)
from codesign.report.data import Run, resolve_cycles
from codesign.report.figures import FIGURES, draw_accuracy_vs_p, draw_pareto_cycles
from codesign.report.tables import paper_table, summary_table

FIGURE_NAMES = {"accuracy_vs_p", "resources_vs_p", "pareto_lut", "pareto_cycles", "sparsity_vs_p"}


def make_results(
    method: str,
    acc_bits: int | None,
    *,
    quant_acc: float,
    accel_acc: float | None = None,
    sparsity: tuple[float, float],
    lut: float,
    ff: float,
    lut32: float | None = 5000.0,
    ff32: float = 4000.0,
    ii: int | None = 64,
    overflow: list[int] | None = None,
    digest: str | None = None,
) -> dict[str, Any]:
    """A schema-valid results.json mapping for a 64-32-10 MLP."""
    p = acc_bits
    layers = [
        {
            "name": "MVAU_0", "op_type": "MVAU", "mw": 64, "mh": 32, "weight_count": 2048,
            "pe": 8, "simd": 4,
            "input_bits": 8, "weight_bits": 5, "acc_bits": p or 19, "cycles": 64,
            "lut": 3520.0, "dsp": 0.0, "bram18": 5.0, "acc_bits_dtype_bound": 19,
            "acc_bits_a2q_bound": 16, "acc_bits_weight_bound": 15, "acc_bits_finn": 15,
            "acc_bits_target": p, "max_l1_norm": 103.0, "weight_sparsity": sparsity[0],
        },
        {
            "name": "MVAU_1", "op_type": "MVAU", "mw": 32, "mh": 10, "weight_count": 320,
            "pe": 1, "simd": 8,
            "input_bits": 4, "weight_bits": 8, "acc_bits": p or 17, "cycles": 40,
            "lut": 0.0, "dsp": 8.0, "bram18": 2.0, "acc_bits_dtype_bound": 17,
            "acc_bits_a2q_bound": 16, "acc_bits_weight_bound": 16, "acc_bits_finn": 16,
            "acc_bits_target": p, "max_l1_norm": 2034.0, "weight_sparsity": sparsity[1],
        },
    ]
    config = {
        "name": f"mlp_{method}_{p}",
        "model": {"kind": "mlp", "hidden": [32]},
        "quant": {"method": method, "weight_bits": 8, "act_bits": 8, "input_bits": 8,
                  "acc_bits": p},
        "train": {"epochs": 3, "seed": 0, "batch_size": 64, "lr": 0.02},
        "fold": {"target_cycles": 64, "layers": None},
        "board": "zcu104",
        "sim": {"simulator": "verilator", "frames": 16, "backpressure": 0.3, "waves": False},
        "synth": {"enabled": True, "compare_acc_bits": 32},
    }

    def res(lut_: float, ff_: float) -> dict[str, Any]:
        return {"total": {"LUT": lut_, "FF": ff_, "CARRY": 10, "DSP": 8, "BRAM36": 3.5,
                          "URAM": 0},
                "percent": {"LUT": 100 * lut_ / 230400}, "per_instance": {}, "seconds": 1.0}

    out: dict[str, Any] = {
        "name": config["name"],
        "digest": digest or f"{method}{p}".ljust(16, "0"),
        "design_digest": "d" * 16,
        "config": config,
        "steps_run": ["train", "export", "lower", "rtl", "sim", "synth"],
        "accuracy": {"float": 0.96, "quantized": quant_acc, "hw_graph": quant_acc,
                     "accelerator": quant_acc if accel_acc is None else accel_acc,
                     "quantized_vs_float": quant_acc / 0.96},
        "export": {"n": 360, "predictions_equal": True},
        "layers": layers,
        "verification": {
            "simulator": "verilator", "frames": 16, "words_compared": 160, "mismatches": 0,
            "overflow_flags": {"MVAU_0": bool(overflow and overflow[0]),
                               "MVAU_1": bool(overflow and overflow[1])},
            "passed": True, "backpressure": 0.3,
        },
        "cycles": None if ii is None else {"ii_measured": ii, "ii_estimated": 64,
                                          "ii_error": 0.0, "latency_measured": 150},
        "resources": {"board": "zcu104", "accelerator": res(lut, ff),
                      **({"acc32": res(lut32, ff32)} if lut32 is not None else {})},
    }
    if overflow is not None:
        out["overflow"] = {
            "layers": [
                {"name": "MVAU_0", "channels": 32, "acc_bits": p, "overflowing_channels":
                 overflow[0], "rtl_overflow_flag": overflow[0] > 0},
                {"name": "MVAU_1", "channels": 10, "acc_bits": p, "overflowing_channels":
                 overflow[1], "rtl_overflow_flag": overflow[1] > 0},
            ],
            "total": sum(overflow),
        }
    return out


def study() -> list[dict[str, Any]]:
    return [
        make_results("a2q", 12, quant_acc=0.90, sparsity=(0.95, 0.8), lut=2000, ff=1800,
                     overflow=[0, 0]),
        make_results("a2q", 14, quant_acc=0.94, sparsity=(0.85, 0.5), lut=2300, ff=2000,
                     overflow=[0, 0]),
        make_results("a2q", 16, quant_acc=0.955, sparsity=(0.5, 0.25), lut=2500, ff=2100,
                     overflow=[0, 0]),
        make_results("baseline", None, quant_acc=0.96, sparsity=(0.05, 0.03), lut=3600,
                     ff=2900, ii=None),
        make_results("baseline", 16, quant_acc=0.955, accel_acc=0.5, sparsity=(0.05, 0.03),
                     lut=2600, ff=2150, overflow=[12, 3]),
    ]


# ---------------------------------------------------------------- Pareto front


def test_pareto_front_hand_example() -> None:
    # cost (LUT), value (accuracy); expected front by hand:
    #   0 (100, .80)  on the front: cheapest
    #   1 (150, .80)  dominated by 0 (same accuracy, costlier)
    #   2 (200, .90)  on the front
    #   3 (200, .85)  dominated by 2
    #   4 (250, .90)  dominated by 2
    #   5 (300, .95)  on the front
    #   6 (300, .95)  identical to 5: neither dominates, both kept
    #   7 (400, .94)  dominated by 5
    #   8 (nan, .99)  ignored
    costs = [100, 150, 200, 200, 250, 300, 300, 400, math.nan]
    values = [0.80, 0.80, 0.90, 0.85, 0.90, 0.95, 0.95, 0.94, 0.99]
    assert pareto_front(costs, values) == [0, 2, 5, 6]
    assert pareto_front([], []) == []
    assert pareto_front([5], [0.1]) == [0]
    # order follows cost, not input order
    assert pareto_front([3, 1, 2], [0.9, 0.1, 0.5]) == [1, 2, 0]
    with pytest.raises(ValueError):
        pareto_front([1, 2], [0.5])


def test_pareto_front_matches_brute_force() -> None:
    import random

    rng = random.Random(0)
    for _ in range(50):
        pts = [(rng.randint(0, 6), rng.randint(0, 6)) for _ in range(rng.randint(1, 12))]
        front = set(pareto_front([c for c, _ in pts], [v for _, v in pts]))
        for i, (ci, vi) in enumerate(pts):
            dominated = any(
                c <= ci and v >= vi and (c, v) != (ci, vi) for c, v in pts
            )
            assert (i in front) == (not dominated)


# ---------------------------------------------------------------- paper comparison


def test_paper_comparison_hand_computed() -> None:
    # MVAU_0: 64*32 = 2048 weights at 75 % sparsity -> 512 nonzero
    # MVAU_1: 32*10 = 320 weights at 50 % sparsity -> 160 nonzero
    # sparsity = 1 - 672/2368; compression = 32*2368 / (672*8) = 75776/5376
    run = Run(source="t", results=make_results(
        "a2q", 16, quant_acc=0.9504, sparsity=(0.75, 0.5), lut=2000, ff=1600,
        lut32=4600, ff32=2000))
    c = compare_run(run)
    assert c.weights.total == 2368 and c.weights.nonzero == 672 and c.weights.weight_bits == 8
    assert c.sparsity == pytest.approx(1 - 672 / 2368)
    assert c.compression == pytest.approx(75776 / 5376)  # 14.095...
    assert c.float_fraction == pytest.approx(0.9504 / 0.96)  # 0.99
    assert c.vs_twin is not None and c.vs_baseline is None  # no sweep peers
    assert c.vs_twin.lut == pytest.approx(2.3)
    assert c.vs_twin.ff == pytest.approx(1.25)
    assert c.vs_twin.wide_acc_bits == 32 and "acc32 twin" in c.vs_twin.reference
    assert c.acc_bits == 16


def test_twin_and_baseline_are_both_references() -> None:
    """A run with its wide twin and a 32-bit baseline in its sweep gets both reductions:
    the papers' (other weights) and the accumulator width's alone (same weights)."""
    a2q = Run(source="a", results=make_results(
        "a2q", 16, quant_acc=0.95, sparsity=(0.75, 0.5), lut=2000, ff=1600,
        lut32=2200, ff32=2000))
    base32 = Run(source="b", results=make_results(
        "baseline", 32, quant_acc=0.96, sparsity=(0.1, 0.1), lut=5000, ff=3200, lut32=None))
    c = compare_run(a2q, [a2q, base32])
    assert c.vs_baseline is not None and c.vs_twin is not None
    assert c.vs_baseline.lut == pytest.approx(2.5) and c.vs_baseline.ff == pytest.approx(2.0)
    assert c.vs_twin.lut == pytest.approx(1.1) and c.vs_twin.ff == pytest.approx(1.25)
    row = dict(zip(paper_table([c]).columns, paper_table([c]).rows[-1], strict=True))
    assert row["LUT / FF reduction vs 32-bit baseline"] == "2.50x / 2.00x"
    assert row["LUT / FF reduction vs same-weights 32-bit twin"] == "1.10x / 1.25x"
    # the baseline is the reference, not a run compared with itself
    assert compare_run(base32, [a2q, base32]).vs_baseline is None


def test_without_a_twin_the_32_bit_baseline_of_the_same_design_is_the_reference() -> None:
    a2q = Run(source="a", results=make_results(
        "a2q", 16, quant_acc=0.95, sparsity=(0.75, 0.5), lut=2000, ff=1600, lut32=None))
    base32 = Run(source="b", results=make_results(
        "baseline", 32, quant_acc=0.96, sparsity=(0.1, 0.1), lut=5000, ff=3200, lut32=None))
    # the same cycles target, but SetFolding chose other PE/SIMD for the first layer
    other_fold = make_results(
        "baseline", 32, quant_acc=0.96, sparsity=(0.1, 0.1), lut=9000, ff=9000, lut32=None)
    other_fold["layers"][0].update(pe=16, simd=4)
    c = compare_run(a2q, [Run(source="c", results=other_fold), a2q, base32])
    assert c.vs_twin is None and c.vs_baseline is not None
    assert c.vs_baseline.lut == pytest.approx(2.5) and c.vs_baseline.ff == pytest.approx(2.0)
    assert c.vs_baseline.wide_acc_bits == 32 and "baseline" in c.vs_baseline.reference
    assert "same folding 8/4, 1/8" in c.vs_baseline.reference and c.folding == "8/4, 1/8"
    # with only that one, no reduction: the table says the folding differs
    alone = compare_run(a2q, [Run(source="c", results=other_fold)])
    assert alone.vs_baseline is None and alone.baseline_note is not None
    assert "is folded 16/4, 1/8 (PE/SIMD), this run 8/4, 1/8" in alone.baseline_note
    # another fold setting with the same PE/SIMD as built is the same folding
    same_fold = copy.deepcopy(base32.results)
    same_fold["config"]["fold"] = {"target_cycles": None, "layers": [{"pe": 8, "simd": 4},
                                                                     {"pe": 1, "simd": 8}]}
    again = compare_run(a2q, [Run(source="d", results=same_fold)]).vs_baseline
    assert again is not None and again.lut == 2.5


def test_the_32_bit_baseline_must_have_the_same_macs() -> None:
    """A reduction is within one MAC resource: a baseline whose multipliers sit in DSPs
    is no reference for an A2Q run with LUT multipliers; the tables say which is which."""
    def with_macs(results: dict[str, Any], *modes: str) -> Run:
        for layer, mode in zip(results["layers"], modes, strict=True):
            layer["mac_resource"] = mode
        return Run(source=str(modes), results=results)

    a2q = with_macs(make_results("a2q", 16, quant_acc=0.95, sparsity=(0.75, 0.5), lut=2000,
                                 ff=1600, lut32=None), "lut", "lut")
    dsp32 = with_macs(make_results("baseline", 32, quant_acc=0.96, sparsity=(0.1, 0.1),
                                   lut=3000, ff=3200, lut32=None), "dsp", "dsp")
    lut32 = with_macs(make_results("baseline", 32, quant_acc=0.96, sparsity=(0.1, 0.1),
                                   lut=5000, ff=3200, lut32=None), "lut", "lut")
    alone = compare_run(a2q, [dsp32])
    assert alone.vs_baseline is None and alone.macs == "LUT"
    assert alone.baseline_note is not None
    assert "has DSP MACs, this run LUT" in alone.baseline_note
    c = compare_run(a2q, [dsp32, lut32]).vs_baseline
    assert c is not None and c.lut == pytest.approx(2.5) and "LUT MACs" in c.reference
    summary = summary_table([a2q, dsp32])
    assert [r[summary.columns.index("MACs")] for r in summary.rows] == ["LUT", "DSP"]
    mixed = with_macs(make_results("a2q", 16, quant_acc=0.95, sparsity=(0.75, 0.5),
                                   lut=2000, ff=1600), "lut", "dsp")
    assert paper_table([compare_run(mixed)]).rows[-1][4] == "LUT/DSP"


def test_fine_tuned_runs_are_their_own_series() -> None:
    """A run fine-tuned from float (train.init: float) is told apart from the same method
    trained from scratch: in its label, its series and its marker."""
    from codesign.report.figures import _style

    scratch = make_results("a2q", 14, quant_acc=0.8, sparsity=(0.9, 0.5), lut=2000, ff=1600)
    tuned = copy.deepcopy(scratch)
    for r in (scratch, tuned):
        r["config"]["quant"]["layer_policy"] = "papers"
    tuned["config"]["train"]["init"] = "float"
    a, b = Run(source="a", results=scratch), Run(source="b", results=tuned)
    assert (a.series, b.series) == ("a2q (papers)", "a2q (papers, fine-tuned)")
    assert "fine-tuned" in b.label and "fine-tuned" not in a.label
    assert _style(a.series)["color"] == _style(b.series)["color"] == _style("a2q")["color"]
    assert _style(a.series)["marker"] == "o" != _style(b.series)["marker"]
    assert _style("a2q_plus (papers)")["color"] != _style("a2q (papers)")["color"]


def test_weight_stats_edge_cases() -> None:
    # every weight zero: infinite compression; no weighted layer: no figures
    s = weight_stats([{"weight_count": 8, "weight_sparsity": 1.0}], 8)
    assert s.sparsity == 1.0 and s.compression == math.inf
    s = weight_stats([{"op_type": "Thresholding", "channels": 4}], 8)
    assert s.sparsity is None and s.compression is None
    # without a configured width each layer's own (widest) is used
    assert weight_stats([{"weight_count": 1, "weight_bits": 5}]).weight_bits == 5


def test_paper_row_shows_the_published_figures() -> None:
    """The report's paper rows, column by column, hold the figures the A2Q papers publish
    (P = 16: 98.2 % sparsity, 46.5x compression, 99.2 % of float; up to 2.3x less, which
    A2Q+ quotes as up to 1.6x)."""
    table = paper_table([])
    a2q, quoted = (dict(zip(table.columns, r, strict=True)) for r in table.rows)
    assert a2q == {
        "run": "A2Q paper (ICCV 2023)", "method": "a2q", "P": "16", "PE/SIMD": "—",
        "MACs": "LUT", "weight sparsity": "98.2 %",
        "est. compression": "46.5x", "% of float accuracy": "99.2 %",
        "LUT / FF reduction vs 32-bit baseline": "up to 2.3x",
        "LUT / FF reduction vs same-weights 32-bit twin": "—",
        "32-bit baseline": "same accelerators, 32-bit accumulators",
    }
    assert quoted["LUT / FF reduction vs 32-bit baseline"] == "up to 1.6x"
    assert "2301.13376" in table.note and "ICCV 2023" in table.note
    assert "2401.10432" in table.note


# ---------------------------------------------------------------- sources


def test_bad_sources(tmp_path: Path) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello")
    with pytest.raises(ReportError, match=r"notes\.txt.*results\.json.*sweep store"):
        build_report([bad], tmp_path / "out")
    js = tmp_path / "other.json"
    js.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ReportError, match=r"other\.json: not a flow results"):
        load_runs([js])
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ReportError, match=r"broken\.json: cannot read as JSON"):
        load_runs([broken])
    with pytest.raises(ReportError, match=r"missing\.json: no such file"):
        load_runs([tmp_path / "missing.json"])
    assert not (tmp_path / "missing.json").exists()
    with pytest.raises(ReportError, match=r"a directory without results\.json"):
        load_runs([tmp_path])
    with pytest.raises(ReportError, match="no report sources"):
        build_report([], tmp_path / "out")


def _store(path: Path, results: list[dict[str, Any]]) -> Path:
    with SweepStore(path) as store:
        for res in results:
            store.put(res["digest"], config=res["config"], status="done", results=res,
                      seconds=1.0)
        store.put("f" * 16, config={"name": "broken", "quant": {"method": "a2q"}},
                  status="failed", error="RuntimeError: boom\ntraceback", seconds=0.5)
    return path


def test_sources_json_dir_and_store(tmp_path: Path) -> None:
    rs = study()
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "results.json").write_text(json.dumps(rs[0]))
    single = tmp_path / "r.json"
    single.write_text(json.dumps(rs[1]))
    store = _store(tmp_path / "sweep.sqlite", rs)
    runs = load_runs([tmp_path / "build", single, store])
    # rs[0] and rs[1] also in the store: kept once; the failed row is a run too
    assert len(runs) == len(rs) + 1
    assert [r.status for r in runs].count("failed") == 1
    failed = next(r for r in runs if r.status == "failed")
    assert failed.error is not None and failed.error.startswith("RuntimeError")
    # store rows equal the results mappings
    stored = {r.digest: r.results for r in runs if r.source.startswith(str(store))}
    for res in rs[2:]:
        assert stored[res["digest"]] == res


# ---------------------------------------------------------------- the report


def test_build_report(tmp_path: Path) -> None:
    rs = study()
    sources: list[Path] = []
    for k, res in enumerate(rs[:3]):
        p = tmp_path / f"r{k}.json"
        p.write_text(json.dumps(res))
        sources.append(p)
    sources.append(_store(tmp_path / "sweep.sqlite", rs[3:]))
    out = tmp_path / "report"
    result = build_report(sources, out)

    assert set(result.figures) == FIGURE_NAMES and not result.skipped
    for path in result.paths:
        assert path.is_file() and path.stat().st_size > 1000
        assert path.parent == out
    for path in result.figures.values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert result.html == out / "report.html"

    doc = result.html.read_text()
    # self-contained: no external references, no scripts, every image a data URI
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", doc, re.I)
    assert "<script" not in doc.lower() and "<link" not in doc.lower()
    imgs = re.findall(r'<img[^>]*src="([^"]+)"', doc)
    assert len(imgs) == len(FIGURE_NAMES)
    assert all(s.startswith("data:image/png;base64,") for s in imgs)
    # the paper side by side, and how compression is computed
    assert "98.2 %" in doc and "46.5x" in doc and "99.2 %" in doc and "up to 2.3x" in doc
    assert "How the compression estimate is computed" in doc
    assert "32 · Σ N / Σ (nnz · weight_bits)" in doc
    # tables: per-run, per-layer bounds, overflow, verification
    keys = [t.key for t in result.tables]
    assert keys == ["paper", "summary", "layers", "overflow", "verification"]
    for title in ("data-type bound", "A2Q bound", "weight-aware", "FINN"):
        assert title in doc
    summary = next(t for t in result.tables if t.key == "summary")
    folding = [row[summary.columns.index("PE/SIMD")] for row in summary.rows]
    assert folding.count("8/4, 1/8") == 5 and "PE/SIMD: each MVAU" in doc
    ov = next(t for t in result.tables if t.key == "overflow")
    count = ov.columns.index("overflowing channels")
    totals = {r[0]: r[count] for r in ov.rows if r[2] == "total"}
    assert sorted(totals.values()) == ["0", "0", "0", "15"]
    assert "RuntimeError: boom" in doc  # the failed point is listed with its error
    # the squeezed baseline's accuracy is the accelerator's (wrap-around included)
    squeezed = next(c for c in result.comparisons if c.method == "baseline" and c.acc_bits == 16)
    assert squeezed.float_fraction == pytest.approx(0.5 / 0.96)
    layers = next(t for t in result.tables if t.key == "layers")
    built = {(r[0].split(" ")[0], r[1]): r[10] for r in layers.rows}
    assert built[("mlp_baseline_16", "MVAU_1")] == "16"  # squeezed: P
    assert built[("mlp_a2q_16", "MVAU_0")] == "15"  # A2Q: FINN's width (<= P)
    assert len(result.comparisons) == len(rs)
    # A2Q at P=16: 5000/2500 LUTs
    a2q16 = next(c for c in result.comparisons if c.method == "a2q" and c.acc_bits == 16)
    assert a2q16.vs_twin is not None and a2q16.vs_twin.lut == pytest.approx(2.0)
    assert "fewer LUTs than the 32-bit-accumulator reference acc32 twin" in doc
    assert "(2.00x reduction)" in doc  # these results do not record their MACs

    # deterministic: a second build gives the same bytes
    again = build_report(sources, tmp_path / "again")
    assert again.html.read_text() == doc.replace(str(out), str(tmp_path / "again"))
    for name, path in result.figures.items():
        assert again.figures[name].read_bytes() == path.read_bytes()


def test_report_without_synthesis(tmp_path: Path) -> None:
    """A sweep that stopped at 'lower': no resources, cycles or verification."""
    runs = []
    for res in [*study()[:3], study()[4]]:
        r = copy.deepcopy(res)
        r.update(verification=None, cycles=None, resources=None)
        r["accuracy"]["accelerator"] = None
        r["steps_run"] = ["train", "export", "lower"]
        r.pop("overflow")
        runs.append(r)
    result = build_report(runs, tmp_path)  # results mappings are accepted as sources
    assert set(result.figures) == {"accuracy_vs_p", "pareto_cycles", "sparsity_vs_p"}
    assert set(result.skipped) == {"resources_vs_p", "pareto_lut"}
    assert "overflow" not in [t.key for t in result.tables]
    doc = result.html.read_text()
    assert "not drawn" in doc
    assert "does not include accumulator wrap-around" in doc
    squeezed = next(c for c in result.comparisons if c.method == "baseline")
    assert squeezed.float_fraction == pytest.approx(0.955 / 0.96)
    assert all(c.vs_baseline is None and c.vs_twin is None for c in result.comparisons)


def with_both_backends(res: dict[str, Any], *, vitis: bool, hls_pass: bool = True
                       ) -> dict[str, Any]:
    """``res`` as a ``--backend both`` flow writes it: an RTL and an HLS verification
    record, and the Vitis HLS record (its csynth estimates where ``vitis``)."""
    out = copy.deepcopy(res)
    rtl = {**out["verification"], "driver": "hdl", "sim_seconds": 8.0,
           "frames_per_second": 2.0}
    hls = {"backend": "hls", "simulator": "g++ csim", "frames": 16, "words_compared": 160,
           "mismatches": 0 if hls_pass else 4, "first_mismatch": None, "stream_errors": [],
           "passed": hls_pass, "csim_seconds": 0.005, "frames_per_second": 3200.0,
           "compile_seconds": 5.1}
    out["verification"] = {**rtl, "backends": {"rtl": rtl, "hls": hls},
                           "passed": hls_pass}
    out["steps_run"] = [*out["steps_run"], "csim"]
    out["hls_synthesis"] = (
        {"ran": True, "script": "hls/vitis/vitis_hls.tcl", "board": "zcu104",
         "part": "xczu7ev-ffvc1156-2-e", "target_clock_ns": 5.0, "estimated_clock_ns": 3.9,
         "latency_cycles": [70, 70], "ii_cycles": [64, 65],
         "resources": {"BRAM_18K": 7, "DSP": 3, "FF": 2500, "LUT": 4100, "URAM": 0},
         "available": {"LUT": 230400}}
        if vitis else
        {"ran": False, "reason": "Vitis HLS (vitis_hls or vitis-run) is not on PATH",
         "script": "hls/vitis/vitis_hls.tcl"})
    return out


def test_report_shows_rtl_beside_hls(tmp_path: Path) -> None:
    rs = study()
    runs = [with_both_backends(rs[2], vitis=True),
            with_both_backends(rs[0], vitis=False, hls_pass=False), rs[1]]
    del runs[1]["resources"]["accelerator"]["total"]["BRAM36"]  # Yosys mapped none
    result = build_report(runs, tmp_path)
    keys = [t.key for t in result.tables]
    assert keys[-1] == "backends"
    table = result.tables[-1]
    rows = {(r[0].split(" ")[0], r[1]): dict(zip(table.columns, r, strict=True))
            for r in table.rows}
    # the RTL-only run has no rows; each HLS run one row per backend
    assert set(rows) == {(n, b) for n in ("mlp_a2q_16", "mlp_a2q_12") for b in ("RTL", "HLS")}
    rtl, hls = rows["mlp_a2q_16", "RTL"], rows["mlp_a2q_16", "HLS"]
    assert rtl["verification"] == hls["verification"] == "PASS (16 frames)"
    assert rtl["simulated with"] == "verilator (hdl driver)"
    assert (rtl["frames/s (simulation)"], hls["frames/s (simulation)"]) == ("2", "3200")
    assert rtl["resources from"] == "Yosys synth_xilinx"
    assert (rtl["LUT"], rtl["FF"], rtl["DSP"], rtl["BRAM36"]) == ("2500", "2100", "8", "3.5")
    assert hls["resources from"] == "Vitis HLS csynth (xczu7ev-ffvc1156-2-e)"
    assert (hls["LUT"], hls["FF"], hls["DSP"], hls["BRAM36"]) == ("4100", "2500", "3", "3.5")
    assert (rtl["II (cycles)"], hls["II (cycles)"]) == ("64", "64 to 65")
    assert hls["latency (cycles)"] == "70"
    # without Vitis HLS: the ready script instead of estimates; a failed C-sim is marked
    bad = rows["mlp_a2q_12", "HLS"]
    assert bad["verification"] == "FAIL (16 frames, 4 mismatches)"
    assert bad["resources from"] == "Vitis HLS not run: script hls/vitis/vitis_hls.tcl"
    assert bad["LUT"] == bad["II (cycles)"] == "—"
    assert rows["mlp_a2q_12", "RTL"]["BRAM36"] == "0"
    i = next(k for k, r in enumerate(table.rows) if r[0].startswith("mlp_a2q_12")
             and r[1] == "HLS")
    assert table.row_classes[i] == "bad" and table.row_classes[i - 1] == ""
    doc = result.html.read_text()
    assert '<h2 id="backends">RTL vs HLS</h2>' in doc and "g++ C-sim" in doc


def test_no_hls_run_no_backends_table(tmp_path: Path) -> None:
    """RTL-only results (also those written before the HLS backend: no ``backends``)."""
    result = build_report(study()[:2], tmp_path)
    assert "backends" not in [t.key for t in result.tables]
    run = Run("r", study()[0])
    assert run.backend_verification("rtl") == study()[0]["verification"]
    assert run.backend_verification("hls") is None and not run.hls_ran


# ---------------------------------------------------------------- any model, honest cycles


def user_model_results(name: str = "tinycnn", data: str = "/data/mine.npz") -> dict[str, Any]:
    """A Brevitas-factory run's results: no quant section (the model quantizes itself), an
    npz test set of 200 images, FINN's per-layer accumulator widths, not synthesized."""
    res = make_results("a2q", None, quant_acc=0.93, sparsity=(0.1, 0.2), lut=0, ff=0,
                       ii=None, digest="u" * 16)
    res["config"].pop("quant")
    res["config"].update(name=name, data={"kind": "npz", "path": data},
                         model={"kind": "brevitas", "factory": "tinycnn:make_net"})
    res["name"] = name
    res["export"] = {"n": 200, "predictions_equal": True}
    res["resources"] = None
    for layer in res["layers"]:
        layer["acc_bits_target"] = None
    return res


def test_a_user_models_method_accumulators_and_test_set(tmp_path: Path) -> None:
    """A factory run: its method and per-layer widths, never a P on the A2Q axis; points
    labelled by run name; the other test set flagged; the unsynthesized run listed."""
    user = Run("u", user_model_results())
    assert user.user_model and user.method == "own quantization (brevitas)"
    assert user.acc_bits is None and user.acc_text == "per layer 15/16"
    assert user.test_set == "the user's test set /data/mine.npz (200 images)"
    result = build_report([*study()[:3], user.results], tmp_path)
    summary = next(t for t in result.tables if t.key == "summary")
    row = dict(zip(summary.columns, next(r for r in summary.rows if r[0] == "tinycnn"),
                   strict=True))
    assert (row["method"], row["P"]) == ("own quantization (brevitas)", "per layer 15/16")
    doc = html.unescape(result.html.read_text())
    assert "Warning: the runs were tested on 2 different test sets" in doc
    assert "the user's test set /data/mine.npz (200 images): tinycnn" in doc
    assert "not on the P axis (a user's model" in doc
    assert "not synthesized, so absent from resources_vs_p and pareto_lut: tinycnn." in doc
    # not on any P axis; on the cycles front, labelled by its name (the others by theirs)
    runs = [Run(f"r{k}", r) for k, r in enumerate([*study()[:3], user.results])]
    acc = draw_accuracy_vs_p(runs)
    assert acc is not None
    assert not any("own quantization" in str(line.get_label()) for line in acc.axes[0].lines)
    cyc = draw_pareto_cycles([Run("u", {**user.results, "cycles": {"ii_measured": 64}}),
                              *runs[:3]])
    assert cyc is not None
    assert {t.get_text() for t in cyc.axes[0].texts} == {
        "tinycnn", "mlp_a2q_12", "mlp_a2q_14", "mlp_a2q_16"}
    # a built-in study alone: one test set, named
    assert "Accuracies are on the held-out test split of the digits data set." in (
        build_report(study()[:2], tmp_path / "digits").html.read_text())


def test_cycles_are_measured_where_the_design_was_simulated(tmp_path: Path) -> None:
    """An unsimulated build takes the measurement of a simulated build of the same
    hardware; an estimate-only design is marked and kept off the Pareto front."""
    simulated = make_results("a2q", 16, quant_acc=0.95, sparsity=(0.5, 0.2), lut=2500,
                             ff=2000, ii=334, digest="s" * 16)
    simulated["ii"] = {"cycles": 334, "source": "measured", "estimated": 334,
                       "slowest_node": "MVAU_0"}
    board_build = copy.deepcopy(simulated)  # the same design, built for a board only
    board_build.update(name="board_build", digest="b" * 16, cycles=None, verification=None,
                       ii={"cycles": 334, "source": "estimated", "estimated": 334,
                           "slowest_node": "MVAU_0"})
    other = make_results("a2q", 14, quant_acc=0.97, sparsity=(0.5, 0.2), lut=2400, ff=2000,
                         ii=None, digest="o" * 16)  # another folding, never simulated
    other["layers"][0].update(pe=16, cycles=32)
    old = copy.deepcopy(other)  # results from before the ii record: the slowest layer
    old.update(name="old", digest="0" * 16)
    runs = [Run(str(k), r) for k, r in enumerate([simulated, board_build, other, old])]
    assert [(c.value, c.text) for c in resolve_cycles(runs)] == [
        (334, "334 (measured)"), (334, "334 (measured on mlp_a2q_16 ssssssss)"),
        (40, "40 (estimated)"), (40, "40 (estimated)")]
    fig = draw_pareto_cycles(runs)
    assert fig is not None
    ax = fig.axes[0]
    front = next(line for line in ax.lines if line.get_label() == "Pareto front")
    # the design, simulated and built for a board; the faster estimate dominates neither
    assert list(front.get_xdata()) == [334.0, 334.0]
    # points at one place are labelled once
    assert {t.get_text() for t in ax.texts} == {"mlp_a2q_16, board_build",
                                                "mlp_a2q_14 (est.), old (est.)"}
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "a2q, estimated (off the front)" in legend
    summary = next(t for t in build_report([r.results for r in runs], tmp_path).tables
                   if t.key == "summary")
    cells = {r[0]: r[summary.columns.index("cycles/frame")] for r in summary.rows}
    assert cells["board_build"] == "334 (measured on mlp_a2q_16 ssssssss)"


def _inside(inner: Any, outer: Any) -> bool:
    return (inner.x0 >= outer.x0 - 1 and inner.y0 >= outer.y0 - 1
            and inner.x1 <= outer.x1 + 1 and inner.y1 <= outer.y1 + 1)


def test_figures_stay_readable() -> None:
    """Integer P ticks; every label inside the figure; legends beside the axes, over no
    point."""
    runs = [Run(str(k), r) for k, r in enumerate([*study(), user_model_results()])]
    for name, (_, draw) in FIGURES.items():
        fig = draw(runs)
        assert fig is not None, name
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
        box = fig.bbox
        for ax in fig.axes:
            if name.endswith("_vs_p"):
                ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
                assert ticks and all(float(t).is_integer() for t in ticks), (name, ticks)
            for text in ax.texts:
                assert _inside(text.get_window_extent(renderer), box), (name, text.get_text())
            for legend in fig.legends:
                assert not legend.get_window_extent(renderer).overlaps(
                    ax.get_window_extent(renderer)), name
        assert fig.legends, name


def test_bitstream_section_and_vivado_folders(tmp_path: Path) -> None:
    """An open-flow build's board, utilisation, fmax and clock; a Vivado build's project
    (the build directory, or its vivado/ folder, is a source)."""
    ice = make_results("a2q", 16, quant_acc=0.95, sparsity=(0.5, 0.2), lut=2500, ff=2000,
                       digest="i" * 16)
    ice["bitstream"] = {
        "board": "icebreaker", "family": "ice40", "part": "up5k-sg48", "flow": "open",
        "bitstream": "accel.bin", "clock_mhz": 12.0, "fmax_mhz": 23.41, "timing_met": True,
        "utilisation": {"ICESTORM_LC": {"used": 3960, "available": 5280},
                        "ICESTORM_RAM": {"used": 0, "available": 30}},
        "dir": "bitstream/icebreaker"}
    zcu = make_results("a2q", 14, quant_acc=0.94, sparsity=(0.5, 0.2), lut=2300, ff=2000,
                       digest="z" * 16)
    zcu["bitstream"] = {"flow": "vivado", "dir": "vivado", "board": "zcu104",
                        "part": "xczu7ev-ffvc1156-2-e", "clock_mhz": 100.0,
                        "script": "build.tcl", "status": "project_only"}
    build = tmp_path / "zcu"
    (build / "vivado").mkdir(parents=True)
    (build / "results.json").write_text(json.dumps(zcu))
    vivado_record = {k: v for k, v in zcu["bitstream"].items() if k not in ("flow", "dir")}
    (build / "vivado" / "results.json").write_text(json.dumps(vivado_record))
    assert load_runs([build / "vivado"])[0].results == zcu
    result = build_report([ice, build / "vivado"], tmp_path / "report")
    table = result.tables[-1]
    assert table.key == "bitstream"
    rows = {r[1]: dict(zip(table.columns, r, strict=True)) for r in table.rows}
    assert rows["icebreaker"]["flow"] == "open (Yosys + nextpnr)"
    assert (rows["icebreaker"]["clock (MHz)"], rows["icebreaker"]["fmax (MHz)"]) == (
        "12", "23.41")
    assert rows["icebreaker"]["utilisation"] == "ICESTORM_LC 3,960/5,280 (75.0 %)"
    assert rows["icebreaker"]["bitstream / project script"] == "bitstream/icebreaker/accel.bin"
    assert rows["zcu104"]["status"] == "project only: Vivado not installed"
    assert rows["zcu104"]["bitstream / project script"] == "vivado/build.tcl"
    assert '<h2 id="bitstream">Bitstreams</h2>' in result.html.read_text()
    # a Vivado build from before results.json was written: a hint, not "no results.json"
    (build / "results.json").unlink()
    with pytest.raises(ReportError, match=r"run `codesign bitstream CONFIG --board BOARD"):
        load_runs([build])


def test_a_bitstream_build_of_a_simulated_config_adds_its_section() -> None:
    """The same config simulated in one build and built for a board in another: one run,
    its measured cycles, and the board build's bitstream record."""
    simulated = make_results("a2q", 16, quant_acc=0.95, sparsity=(0.5, 0.2), lut=2500,
                             ff=2000, ii=334)
    board = copy.deepcopy(simulated)
    board.update(cycles=None, steps_run=["train", "export", "lower", "fifos", "rtl"],
                 bitstream={"flow": "vivado", "board": "zcu104", "status": "project_only"})
    for order in ([simulated, board], [board, simulated]):
        (run,) = load_runs(order)
        assert run.results["bitstream"]["board"] == "zcu104"
        assert run.cycles_per_frame() == (334.0, "measured")
    assert "bitstream" not in simulated  # the sources are not changed
