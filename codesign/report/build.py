"""``build_report``: sources in, PNG figures and one self-contained HTML file out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from codesign.report import html
from codesign.report.data import JSON, ReportError, Run, load_runs, sort_runs
from codesign.report.figures import FIGURES, save
from codesign.report.ode import ode_table
from codesign.report.paper import COMPRESSION_DEFINITION, PAPER, PaperComparison, compare_run
from codesign.report.tables import (
    Table,
    backends_table,
    bitstream_table,
    fmt,
    layer_table,
    overflow_table,
    paper_table,
    summary_table,
    verification_table,
)
from codesign.report.vit import draw_vit_scaling, vit_table

REPORT_NAME = "report.html"
_NEEDS = {
    "accuracy_vs_p": "no finished run has an accuracy and an accumulator width P (a user's "
    "model has no P)",
    "resources_vs_p": "no run was synthesized (flow step 'synth')",
    "pareto_lut": "no run was synthesized (flow step 'synth')",
    "pareto_cycles": "no run has cycles (measured in flow step 'sim', or estimated once lowered)",
    "sparsity_vs_p": "no run has lowered weighted layers (flow step 'lower')",
}
#: Figures of one model family, drawn when the runs hold it (no note otherwise).
_FAMILY_FIGURES = {
    "vit_scaling": (
        "ViT attention core against the token count N: cycles per frame (estimated; "
        "dashed: the accelerator's II) and LUTs, softmax against linear attention",
        draw_vit_scaling,
    ),
}


@dataclass(frozen=True)
class ReportResult:
    """What :func:`build_report` wrote."""

    html: Path
    figures: dict[str, Path]
    """Figure name (``accuracy_vs_p``, ``resources_vs_p``, ``pareto_lut``,
    ``pareto_cycles``, ``sparsity_vs_p``) → PNG path, for the figures that had data."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Figures not drawn, and why."""
    tables: list[Table] = field(default_factory=list)
    comparisons: list[PaperComparison] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)

    @property
    def paths(self) -> list[Path]:
        return [self.html, *self.figures.values()]


def _findings(done: Sequence[Run], comparisons: Sequence[PaperComparison]) -> list[str]:
    """Plain sentences for the acceptance questions: A2Q at P=16 against its 32-bit
    reference and float; overflow flags of A2Q against the squeezed baseline."""
    out = []
    for run, c in zip(done, comparisons, strict=True):
        if run.method not in ("a2q", "a2q_plus") or run.acc_bits != PAPER.acc_bits:
            continue
        parts = [f"{run.label}:"]
        macs = "" if c.macs == "?" else f", {c.macs} MACs"  # '?': not recorded
        for r in (c.vs_baseline, c.vs_twin):
            if r is not None and r.lut is not None:
                verdict = "fewer" if r.lut > 1 else "not fewer"
                parts.append(
                    f"{verdict} LUTs than the {r.wide_acc_bits}-bit-accumulator reference "
                    f"{r.reference} ({r.lut:.2f}x reduction{macs}),"
                )
        if c.float_fraction is not None:
            ok = "≥" if c.float_fraction >= 0.99 else "<"
            parts.append(f"accuracy {fmt(c.float_fraction, 'pct')} of float ({ok} 99 %),")
        parts.append(
            f"sparsity {fmt(c.sparsity, 'pct')} (paper {fmt(PAPER.sparsity, 'pct')}), "
            f"est. compression {fmt(c.compression, 'x')} (paper {fmt(PAPER.compression, 'x')})."
        )
        out.append(" ".join(parts))
    for run in done:
        ov = run.results.get("overflow")
        if isinstance(ov, dict) and ov.get("total") is not None:
            out.append(
                f"{run.label}: {ov['total']} overflowing accumulator channel(s) on extreme "
                "inputs."
            )
    return out


def _paper_section(table: Table, findings: Sequence[str]) -> str:
    items = "".join(f"<li>{escape(f)}</li>" for f in findings)
    return (
        html.table_html(table)
        + f"<p><b>How the compression estimate is computed.</b> {escape(COMPRESSION_DEFINITION)}"
        + "</p>"
        + (f"<ul>{items}</ul>" if items else "")
    )


def _draw_figures(
    done: Sequence[Run], out: Path
) -> tuple[dict[str, Path], dict[str, str], list[tuple[Path, str]]]:
    """Draw every figure the finished runs allow; a figure they cannot fill is skipped
    (with what it needs) and its stale PNG from an earlier report removed."""
    figures: dict[str, Path] = {}
    skipped: dict[str, str] = {}
    captions: list[tuple[Path, str]] = []
    for name, (caption, draw) in {**FIGURES, **_FAMILY_FIGURES}.items():
        path = out / f"{name}.png"
        fig = draw(done)
        if fig is None:
            path.unlink(missing_ok=True)
            if name in _NEEDS:
                skipped[name] = _NEEDS[name]
        else:
            figures[name] = save(fig, path)
            captions.append((path, caption))
    return figures, skipped, captions


def _tables(runs: Sequence[Run], done: Sequence[Run]) -> list[Table]:
    """The run summary, per-layer, overflow, verification, backend and bitstream tables
    (overflow, backends and bitstreams only where some run has their data)."""
    tables = [summary_table(runs), layer_table(done)]
    ov = overflow_table(done)
    if ov is not None:
        tables.append(ov)
    tables.append(verification_table(done))
    for optional in (backends_table(done), bitstream_table(done), ode_table(done),
                     vit_table(runs)):
        if optional is not None:
            tables.append(optional)
    return tables


def _names(runs: Sequence[Run]) -> str:
    return ", ".join(sorted({r.name for r in runs}))


def describe_test_sets(done: Sequence[Run]) -> str:
    """What the scores (accuracies, PSNRs) were measured on, and a warning when runs
    differ in it."""
    by_set: dict[str, list[Run]] = {}
    for r in done:
        by_set.setdefault(r.test_set, []).append(r)
    if len(by_set) <= 1:
        # an image family's PSNR is no accuracy
        scores = "Accuracies" if all(r.metric.classifies for r in done) else "Scores"
        return f"{scores} are on {next(iter(by_set), 'no test set')}."
    parts = "; ".join(f"{desc}: {_names(rs)}" for desc, rs in sorted(by_set.items()))
    return (f"Warning: the runs were tested on {len(by_set)} different test sets, so their "
            f"accuracies are not comparable across sets ({parts}).")


def _notes(done: Sequence[Run], skipped: dict[str, str]) -> list[str]:
    notes = [f"figure '{k}' not drawn: {v}" for k, v in skipped.items()]
    unsynthesized = [r for r in done if not r.synthesized]
    if unsynthesized and "pareto_lut" not in skipped:
        notes.append(f"not synthesized, so absent from resources_vs_p and pareto_lut: "
                     f"{_names(unsynthesized)}.")
    off_axis = [r for r in done if r.acc_bits is None and r.user_model]
    if off_axis:
        notes.append(f"not on the P axis (a user's model: its own quantization, no A2Q P; "
                     f"its per-layer accumulators are in 'Runs'): {_names(off_axis)}.")
    notes += [
        f"{r.label}: a squeezed baseline without the flow's 'rtl' step; its accuracy is the "
        "quantized model's and does not include accumulator wrap-around."
        for r in done
        if r.squeezed and r.accuracy_source != "accelerator"
    ]
    notes.append(
        "Accuracy in figures and in '% of float' is the design as deployed: the "
        "bit-accurate accelerator model where the flow ran its 'rtl' step, else the "
        "quantized torch model."
    )
    return notes


def build_report(
    sources: Sequence[Path | str | JSON],
    out_dir: Path | str,
    title: str = "codesign: accuracy vs accumulator width vs resources",
) -> ReportResult:
    """Read ``sources`` (flow ``results.json`` files, build directories holding one, or
    sweep ``.sqlite`` stores; results mappings are accepted too) and write PNG figures
    and ``report.html`` into ``out_dir``.

    Raises :class:`ReportError` for a source that is none of these, or when the sources
    hold no run at all. Failed sweep points appear in the run table only.
    """
    if not sources:
        raise ReportError("no report sources given; pass results.json files or sweep stores")
    runs = sort_runs(load_runs(sources))
    if not runs:
        raise ReportError(
            "the report sources hold no runs: "
            + ", ".join(str(s) for s in sources if not isinstance(s, dict))
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    done = [r for r in runs if r.status == "done"]

    figures, skipped, captions = _draw_figures(done, out)
    comparisons = [compare_run(r, done) for r in done]
    ptable = paper_table(comparisons)
    tables = _tables(runs, done)
    failed = len(runs) - len(done)
    intro = [
        f"{len(runs)} design point(s) from {len(sources)} source(s): {len(done)} finished"
        + (f", {failed} failed" if failed else "")
        + ".",
        describe_test_sets(done),
    ]
    src_names = [str(s) if not isinstance(s, dict) else "<results mapping>" for s in sources]
    notes = _notes(done, skipped)
    document = html.render(
        title=title,
        intro=intro,
        sources=src_names,
        paper_section=_paper_section(ptable, _findings(done, comparisons)),
        figures=captions,
        tables=tables,
        notes=notes,
    )
    report = out / REPORT_NAME
    report.write_text(document, encoding="utf-8")
    return ReportResult(
        html=report,
        figures=figures,
        skipped=skipped,
        tables=[ptable, *tables],
        comparisons=comparisons,
        runs=runs,
    )
