"""The ViT section of the report: per ``model.kind: vit`` run, the token count N, the
attention form, the cycles and Yosys resources of the attention core (the kernels whose
role is ``attention``: head split/merge, the two streamed matmuls and the integer softmax,
or the linear attention) and of the whole accelerator, as % of the board. Side by side
over N they are the scaling study ViTALiTy's claim rests on: softmax attention's work
grows ~N^2 and its buffers ~N*d, the Taylor linear attention's work ~N*d^2."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure
from pydantic import ValidationError

from codesign.frontend.models.vit import ViTConfig
from codesign.report.data import Run
from codesign.report.figures import WIDE, _legend, _new
from codesign.report.tables import Table, fmt
from codesign.synth.cells import sum_counts

COLUMNS = [
    "run", "status", "attention", "N", "d", "heads", "accelerator", "II (cycles)", "II source",
    "attention cycles (est.)", "attention LUT", "attention FF", "attention BRAM36",
    "LUT", "FF", "BRAM36", "DSP", "LUT %",
]
ROLE = "attention"
_COLOURS = {"softmax": "#d62728", "linear": "#1f77b4"}


def vit_runs(runs: Sequence[Run]) -> list[Run]:
    """The ViT runs, by attention form then token count."""
    vits = [r for r in runs if r.get("config.model.kind") == "vit"]
    return sorted(vits, key=lambda r: (str(r.get("config.model.attention")), tokens(r) or 0))


def tokens(r: Run) -> int | None:
    """The run's token count, as its model section defines it (None: not a valid one)."""
    try:
        return ViTConfig.model_validate(r.get("config.model") or {}).tokens
    except ValidationError:
        return None


def attention_cycles(r: Run) -> int | None:
    """The attention core's cycles per frame: its slowest kernel's estimate (the core's
    kernels run as a pipeline)."""
    cycles = [ly["cycles"] for ly in r.get("layers") or [] if ly.get("role") == ROLE]
    return max(cycles) if cycles else None


def attention_resources(r: Run) -> dict[str, float] | None:
    """The attention core's Yosys resources: the sum over its kernel instances."""
    kernels = r.get("resources.accelerator.kernels") or []
    mine = [k["total"] for k in kernels if k.get("role") == ROLE]
    return sum_counts(mine) if mine else None


def _row(r: Run) -> list[str]:
    model: dict[str, Any] = r.get("config.model") or {}
    core = attention_resources(r) or {}
    total = r.resources() or {}
    status = r.status if r.status == "done" else (r.error or r.status).split(":")[0]
    return [
        r.name, status, str(model.get("attention")), fmt(tokens(r), "int"), fmt(model.get("dim")),
        fmt(model.get("heads")), fmt(r.get("accuracy.accelerator"), "acc"),
        fmt(r.get("ii.cycles"), "int"), fmt(r.get("ii.source")),
        fmt(attention_cycles(r), "int"), fmt(core.get("LUT"), "int"),
        fmt(core.get("FF"), "int"), fmt(core.get("BRAM36")), fmt(total.get("LUT"), "int"),
        fmt(total.get("FF"), "int"), fmt(total.get("BRAM36")), fmt(total.get("DSP"), "int"),
        fmt(r.get("resources.accelerator.percent.LUT"), "f3"),
    ]


def vit_table(runs: Sequence[Run]) -> Table | None:
    vits = vit_runs(runs)
    if not vits:
        return None
    return Table(
        key="vit", title="ViT: softmax against linear attention over the token count N",
        columns=COLUMNS, rows=[_row(r) for r in vits],
        note="attention: the kernels between the Q/K/V projections and the output "
        "projection, which serve the heads in turn (per head: its cycles / heads); "
        "LUT % of the board. Softmax attention computes N^2*d products per frame and "
        "buffers K and V (2*N*d values); the linear attention computes 2*N*d^2/heads and "
        "holds the context G (d^2/heads) while the queries wait (N*d). "
        "A failed point shows its error's kind. bench/vit_scaling.py runs N = 16, 64, 256.",
    )


def _curve(rs: Sequence[Run], value: Any) -> tuple[list[int], list[float]]:
    """(N, value) of the runs that have both, by N."""
    pts = sorted((n, float(v)) for r in rs if (n := tokens(r)) and (v := value(r)))
    return [n for n, _ in pts], [v for _, v in pts]


def draw_vit_scaling(runs: Sequence[Run]) -> Figure | None:
    """Cycles and LUTs of the attention core against N, softmax against linear (log-log);
    None without ViT runs."""
    series: dict[str, list[Run]] = {}
    for r in vit_runs(runs):
        series.setdefault(str(r.get("config.model.attention")), []).append(r)
    if not series:
        return None
    fig, (cyc, lut) = _new(WIDE, ncols=2)
    filled: set[int] = set()
    for form, rs in series.items():
        colour = _COLOURS.get(form)
        for ax, value, style, what in (
            (cyc, attention_cycles, "o-", "attention core"),
            (cyc, lambda r: r.get("ii.cycles"), "s--", "accelerator II"),
            (lut, lambda r: (attention_resources(r) or {}).get("LUT"), "o-", "attention core"),
        ):
            xs, ys = _curve(rs, value)
            if xs:
                ax.plot(xs, ys, style, color=colour, label=f"{form}: {what}",
                        alpha=1.0 if style == "o-" else 0.6)
                filled.add(id(ax))
    ns = sorted({n for rs in series.values() for r in rs if (n := tokens(r))})
    for ax, label in ((cyc, "cycles per frame"), (lut, "LUT (Yosys)")):
        ax.set_xlabel("tokens N")
        ax.set_ylabel(label)
        if id(ax) not in filled:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.text(0.5, 0.5, "no run has these figures", ha="center",
                    transform=ax.transAxes)
            continue
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(ns, [str(n) for n in ns])
        ax.minorticks_off()
    cyc.set_title("cycles")
    lut.set_title("attention core LUTs")
    _legend(fig, [cyc, lut])
    return fig
