"""Report figures (matplotlib, Agg canvas, fixed sizes; nothing is shown on screen).

Each ``draw_*`` function takes runs and returns the figure, or None when no run has the
data it needs (e.g. a sweep that stopped before synthesis has no LUTs); :func:`save`
writes it. Legends sit outside the axes (never over a point), P axes have integer ticks,
points are labelled by run name, and labels stay inside the figure.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from codesign.frontend.metrics import ACCURACY, Metric
from codesign.report.data import CyclesPerFrame, Run, resolve_cycles
from codesign.report.paper import PAPER, compare_run

SIZE = (6.4, 4.2)
WIDE = (10.0, 4.2)
DPI = 100
_COLOURS = {
    "a2q": "#1f77b4",
    "a2q_plus": "#2ca02c",
    "baseline": "#d62728",
    "baseline (FINN width)": "#7f7f7f",
    "float": "#9467bd",
}
_MARKERS = {"a2q": "o", "a2q_plus": "s", "baseline": "v", "baseline (FINN width)": "D"}


def pareto_front(costs: Sequence[float], values: Sequence[float]) -> list[int]:
    """Indices of the non-dominated points when ``cost`` is minimised and ``value``
    maximised, ordered by increasing cost.

    Point i is dominated if some j has ``cost_j <= cost_i`` and ``value_j >= value_i``
    with at least one strict; identical points do not dominate each other. Points with
    a non-finite coordinate are ignored.

    >>> pareto_front([1, 2, 3, 2], [0.5, 0.9, 0.95, 0.8])
    [0, 1, 2]
    """
    if len(costs) != len(values):
        raise ValueError(f"{len(costs)} costs but {len(values)} values")
    pts = [
        (i, float(c), float(v))
        for i, (c, v) in enumerate(zip(costs, values, strict=True))
        if math.isfinite(c) and math.isfinite(v)
    ]
    front = []
    for i, ci, vi in pts:
        dominated = any(
            cj <= ci and vj >= vi and (cj < ci or vj > vi) for j, cj, vj in pts if j != i
        )
        if not dominated:
            front.append((ci, -vi, i))
    return [i for _, _, i in sorted(front)]


def _new(size: tuple[float, float] = SIZE, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    fig = Figure(figsize=size, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    axes = [fig.add_subplot(1, ncols, k + 1) for k in range(ncols)]
    for ax in axes:
        ax.grid(True, alpha=0.3)
    return fig, axes


def _legend(fig: Figure, axes: Sequence[Axes]) -> None:
    """One legend for the figure, outside the axes on the right (so it covers no point),
    each label once."""
    seen: dict[str, Any] = {}
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, handle)
    if seen:
        fig.legend(list(seen.values()), list(seen), loc="outside right upper",
                   fontsize="small")


def _p_axis(ax: Axes) -> None:
    ax.set_xlabel("accumulator width P (bits)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _series(runs: Sequence[Run]) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {}
    for r in runs:
        out.setdefault(r.series, []).append(r)
    return {k: sorted(v, key=lambda r: (r.acc_bits or 0, r.digest)) for k, v in sorted(out.items())}


def _style(series: str) -> dict[str, Any]:
    """Colour by method (``a2q (papers)`` is drawn as ``a2q``); a fine-tuned series gets
    hexagons, to stand apart from the same method trained from scratch."""
    method = series if series in _COLOURS else series.split(" (")[0]
    marker = "h" if "fine-tuned" in series else _MARKERS.get(method, "^")
    return {"color": _COLOURS.get(method, "#8c564b"), "marker": marker}


def run_names(runs: Sequence[Run]) -> dict[int, str]:
    """Each run's point label, by ``id``: its name, with its digest's first 6 digits
    where two runs share a name."""
    count: dict[str, int] = {}
    for r in runs:
        count[r.name] = count.get(r.name, 0) + 1
    return {id(r): r.name if count[r.name] == 1 else f"{r.name} {r.digest[:6]}" for r in runs}


def _plot_vs_p(
    ax: Axes,
    runs: Sequence[Run],
    y: Callable[[Run], float | None],
    label_suffix: str = "",
    linestyle: str = "-",
    filled: bool = True,
) -> int:
    """One line per series of y(run) against P; returns the points drawn. Runs without
    a P (a user's model) are not drawn: their accumulators are no position on this axis."""
    drawn = 0
    for name, rs in _series(runs).items():
        pts = [(r.acc_bits, y(r)) for r in rs]
        pts2 = [(float(p), float(v)) for p, v in pts if p is not None and v is not None]
        if not pts2:
            continue
        st = _style(name)
        ax.plot(
            [p for p, _ in pts2],
            [v for _, v in pts2],
            linestyle=linestyle,
            marker=st["marker"],
            color=st["color"],
            markerfacecolor=st["color"] if filled else "white",
            label=f"{name}{label_suffix}",
        )
        drawn += len(pts2)
    return drawn


def draw_accuracy_vs_p(runs: Sequence[Run]) -> Figure | None:
    metric, runs = _one_metric(runs)
    fig, (ax,) = _new()
    n = _plot_vs_p(ax, runs, lambda r: _shown(r, r.accuracy))
    if not n:
        return None
    on_axis = [r for r in runs if r.acc_bits is not None]
    floats = sorted({round(f, 6) for r in on_axis if (f := r.score("float")) is not None})
    for k, f in enumerate(floats):
        ax.axhline(
            metric.shown(f), color=_COLOURS["float"], linestyle=":",
            label="float twin" if k == 0 else None,
        )
    _p_axis(ax)
    ax.set_ylabel(_axis_label(metric))
    ax.set_title(f"{metric.label[0].upper()}{metric.label[1:]} vs accumulator width")
    _legend(fig, [ax])
    return fig


def _one_metric(runs: Sequence[Run]) -> tuple[Metric, list[Run]]:
    """The metric of the first run that has a score, and the runs measured by it (one
    axis holds one unit: a report mixing families plots the first family's metric)."""
    scored = [r for r in runs if r.accuracy is not None]
    metric = scored[0].metric if scored else runs[0].metric if runs else ACCURACY
    return metric, [r for r in runs if r.metric == metric]


def _axis_label(metric: Metric) -> str:
    return f"test {metric.label} as deployed ({metric.unit})"


def _shown(r: Run, v: float | None) -> float | None:
    return r.metric.shown(v) if v is not None else None


def _pct(v: Any) -> float | None:
    return 100.0 * float(v) if v is not None else None


def _res(which: str, key: str) -> Callable[[Run], float | None]:
    def get(r: Run) -> float | None:
        tot = r.resources(which) or {}
        v = tot.get(key)
        return float(v) if v is not None else None

    return get


def draw_resources_vs_p(runs: Sequence[Run]) -> Figure | None:
    fig, axes = _new(WIDE, ncols=2)
    n = 0
    for ax, key in zip(axes, ("LUT", "FF"), strict=True):
        n += _plot_vs_p(ax, runs, _res("accelerator", key))
        wide = [r for r in runs if r.wide_key()]
        bits = sorted({k[3:] for r in wide if (k := r.wide_key())})
        suffix = f" ({'/'.join(bits)}-bit acc twin)" if bits else ""
        _plot_vs_p(ax, wide, _res("wide", key), label_suffix=suffix, linestyle="--", filled=False)
        _p_axis(ax)
        ax.set_ylabel(key)
        ax.set_title(f"{key} vs P")
    if not n:
        return None
    _legend(fig, axes)
    return fig


def _annotate(ax: Axes, points: Sequence[tuple[float, float, str]]) -> None:
    """Label each point, points at the same place once (their labels joined); a label of
    a point in the right (top) part of the axes goes to its left (below), so that no
    label runs off the figure's edge."""
    if not points:
        return
    at: dict[tuple[float, float], list[str]] = {}
    for x, y, text in points:
        at.setdefault((x, y), []).append(text)
    xs, ys = [x for x, _ in at], [y for _, y in at]
    x_mid, y_top = (min(xs) + max(xs)) / 2, min(ys) + 0.8 * (max(ys) - min(ys))
    for (x, y), texts in at.items():
        text = ", ".join(dict.fromkeys(texts))
        right = x > x_mid
        low = y > y_top and max(ys) > min(ys)
        ax.annotate(text, (x, y), textcoords="offset points",
                    xytext=(-5 if right else 5, -10 if low else 4),
                    ha="right" if right else "left", fontsize="x-small")
    ax.margins(x=0.1, y=0.1)


def _draw_pareto(
    runs: Sequence[Run],
    cost: Callable[[Run], tuple[float | None, bool]],
    xlabel: str,
    title: str,
) -> Figure | None:
    """Accuracy against ``cost``; ``cost(run)`` is (value, firm): a point whose cost is
    not firm (an estimate) is drawn hollow, labelled "(est.)" and kept off the front."""
    metric, runs = _one_metric(runs)
    pts: list[tuple[Run, float, float, bool]] = []
    for r in runs:
        c, firm = cost(r)
        if c is not None and (a := r.accuracy) is not None:
            pts.append((r, c, metric.shown(a), firm))
    if not pts:
        return None
    fig, (ax,) = _new()
    names = run_names([r for r, _, _, _ in pts])
    for name, rs in _series([r for r, _, _, _ in pts]).items():
        st, ids = _style(name), {id(r) for r in rs}
        for firm in (True, False):
            sel = [(c, a) for r, c, a, f in pts if id(r) in ids and f is firm]
            if sel:
                ax.scatter([c for c, _ in sel], [a for _, a in sel], color=st["color"],
                           facecolors=st["color"] if firm else "white", marker=st["marker"],
                           label=name if firm else f"{name}, estimated (off the front)",
                           zorder=3)
    _annotate(ax, [(c, a, names[id(r)] + ("" if f else " (est.)")) for r, c, a, f in pts])
    firm_pts = [(c, a) for _, c, a, f in pts if f]
    front = [firm_pts[i] for i in pareto_front([c for c, _ in firm_pts],
                                                 [a for _, a in firm_pts])]
    if front:
        ax.step([c for c, _ in front], [a for _, a in front], where="post", color="black",
                linewidth=1.0, alpha=0.7, zorder=2, label="Pareto front")
        ax.scatter([c for c, _ in front], [a for _, a in front], s=120, facecolors="none",
                   edgecolors="black", zorder=4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(_axis_label(metric))
    ax.set_title(title)
    _legend(fig, [ax])
    return fig


def draw_pareto_lut(runs: Sequence[Run]) -> Figure | None:
    lut = _res("accelerator", "LUT")
    return _draw_pareto(runs, lambda r: (lut(r), True), "LUTs (Yosys)",
                        "Accuracy vs LUTs: Pareto front")


def draw_pareto_cycles(runs: Sequence[Run]) -> Figure | None:
    cycles: dict[int, CyclesPerFrame] = {
        id(r): c for r, c in zip(runs, resolve_cycles(runs), strict=True)}
    return _draw_pareto(
        runs,
        lambda r: (cycles[id(r)].value, cycles[id(r)].measured),
        "cycles per frame (II measured in RTL simulation; hollow: estimated)",
        "Accuracy vs cycles per frame: Pareto front",
    )


def draw_sparsity_vs_p(runs: Sequence[Run]) -> Figure | None:
    cmp = {id(r): compare_run(r) for r in runs}
    fig, (ax1, ax2) = _new(WIDE, ncols=2)
    n = _plot_vs_p(ax1, runs, lambda r: _pct(cmp[id(r)].sparsity))

    def comp(r: Run) -> float | None:
        c = cmp[id(r)].compression
        return c if c is not None and math.isfinite(c) else None

    n += _plot_vs_p(ax2, runs, comp)
    if not n:
        return None
    ax1.scatter([PAPER.acc_bits], [100 * PAPER.sparsity], marker="*", s=160, color="black",
                label="A2Q paper (P=16)", zorder=4)
    ax2.scatter([PAPER.acc_bits], [PAPER.compression], marker="*", s=160, color="black",
                label="A2Q paper (P=16)", zorder=4)
    ax1.set_ylabel("weight sparsity (%)")
    ax1.set_title("Weight sparsity vs P")
    ax2.set_ylabel("estimated compression vs 32-bit float (x)")
    ax2.set_yscale("log")
    ax2.set_title("Estimated compression vs P")
    for ax in (ax1, ax2):
        _p_axis(ax)
    _legend(fig, [ax1, ax2])
    return fig


FIGURES: dict[str, tuple[str, Callable[[Sequence[Run]], Figure | None]]] = {
    "accuracy_vs_p": ("Test accuracy against accumulator width P", draw_accuracy_vs_p),
    "resources_vs_p": (
        "LUT and FF against P; dashed: the same accelerator with wide (32-bit) accumulators",
        draw_resources_vs_p,
    ),
    "pareto_lut": ("Accuracy against LUTs, non-dominated designs circled", draw_pareto_lut),
    "pareto_cycles": (
        "Accuracy against cycles per frame, non-dominated designs circled; hollow points "
        "are estimates of designs never simulated, kept off the front",
        draw_pareto_cycles,
    ),
    "sparsity_vs_p": (
        "Weight sparsity and estimated compression against P, with the A2Q paper's point",
        draw_sparsity_vs_p,
    ),
}
