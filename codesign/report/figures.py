"""Report figures (matplotlib, Agg canvas, fixed sizes; nothing is shown on screen).

Each ``plot_*`` function takes runs and a PNG path, and returns the path, or None when no
run has the data the figure needs (e.g. a sweep that stopped before synthesis has no LUTs).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from codesign.report.data import Run
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


def _legend(ax: Axes, **kw: Any) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**kw)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI, metadata={"Software": None})
    return path


def _series(runs: Sequence[Run]) -> dict[str, list[Run]]:
    out: dict[str, list[Run]] = {}
    for r in runs:
        out.setdefault(r.series, []).append(r)
    return {k: sorted(v, key=lambda r: (r.acc_bits or 0, r.digest)) for k, v in sorted(out.items())}


def _style(series: str) -> dict[str, Any]:
    return {"color": _COLOURS.get(series, "#8c564b"), "marker": _MARKERS.get(series, "^")}


def _plot_vs_p(
    ax: Axes,
    runs: Sequence[Run],
    y: Callable[[Run], float | None],
    label_suffix: str = "",
    linestyle: str = "-",
    filled: bool = True,
) -> int:
    """One line per series of y(run) against P; returns the points drawn."""
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


def plot_accuracy_vs_p(runs: Sequence[Run], path: Path) -> Path | None:
    fig, (ax,) = _new()
    n = _plot_vs_p(ax, runs, lambda r: _pct(r.accuracy))
    if not n:
        return None
    floats = sorted({round(float(f), 6) for r in runs if (f := r.get("accuracy.float"))})
    for k, f in enumerate(floats):
        ax.axhline(
            100 * f, color=_COLOURS["float"], linestyle=":", label="float twin" if k == 0 else None
        )
    ax.set_xlabel("accumulator width P (bits)")
    ax.set_ylabel("test accuracy as deployed (%)")
    ax.set_title("Accuracy vs accumulator width")
    _legend(ax, loc="lower right", fontsize="small")
    return _save(fig, path)


def _pct(v: Any) -> float | None:
    return 100.0 * float(v) if v is not None else None


def _res(which: str, key: str) -> Callable[[Run], float | None]:
    def get(r: Run) -> float | None:
        tot = r.resources(which) or {}
        v = tot.get(key)
        return float(v) if v is not None else None

    return get


def plot_resources_vs_p(runs: Sequence[Run], path: Path) -> Path | None:
    fig, axes = _new(WIDE, ncols=2)
    n = 0
    for ax, key in zip(axes, ("LUT", "FF"), strict=True):
        n += _plot_vs_p(ax, runs, _res("accelerator", key))
        wide = [r for r in runs if r.wide_key()]
        bits = sorted({k[3:] for r in wide if (k := r.wide_key())})
        suffix = f" ({'/'.join(bits)}-bit acc twin)" if bits else ""
        _plot_vs_p(ax, wide, _res("wide", key), label_suffix=suffix, linestyle="--", filled=False)
        ax.set_xlabel("accumulator width P (bits)")
        ax.set_ylabel(key)
        ax.set_title(f"{key} vs P")
        _legend(ax, fontsize="x-small")
    if not n:
        return None
    return _save(fig, path)


def _plot_pareto(
    runs: Sequence[Run],
    path: Path,
    cost: Callable[[Run], float | None],
    xlabel: str,
    title: str,
) -> Path | None:
    pts = [
        (r, c, 100.0 * float(a))
        for r in runs
        if (c := cost(r)) is not None and (a := r.accuracy) is not None
    ]
    if not pts:
        return None
    fig, (ax,) = _new()
    for name, rs in _series([r for r, _, _ in pts]).items():
        sel = [(c, a, r) for r, c, a in pts if r in rs]
        st = _style(name)
        ax.scatter(
            [c for c, _, _ in sel], [a for _, a, _ in sel], color=st["color"],
            marker=st["marker"], label=name, zorder=3,
        )
        for c, a, r in sel:
            ax.annotate(
                f"P={r.target_acc_bits or 'FINN'}", (c, a), textcoords="offset points",
                xytext=(4, 4), fontsize="x-small",
            )
    front = pareto_front([c for _, c, _ in pts], [a for _, _, a in pts])
    fx = [pts[i][1] for i in front]
    fy = [pts[i][2] for i in front]
    ax.step(fx, fy, where="post", color="black", linewidth=1.0, alpha=0.7, zorder=2,
            label="Pareto front")
    ax.scatter(fx, fy, s=120, facecolors="none", edgecolors="black", zorder=4)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("test accuracy as deployed (%)")
    ax.set_title(title)
    _legend(ax, loc="lower right", fontsize="small")
    return _save(fig, path)


def plot_pareto_lut(runs: Sequence[Run], path: Path) -> Path | None:
    return _plot_pareto(
        runs, path, _res("accelerator", "LUT"), "LUTs (Yosys)", "Accuracy vs LUTs: Pareto front"
    )


def plot_pareto_cycles(runs: Sequence[Run], path: Path) -> Path | None:
    return _plot_pareto(
        runs,
        path,
        lambda r: r.cycles_per_frame()[0],
        "cycles per frame (measured II, else FINN estimate)",
        "Accuracy vs cycles per frame: Pareto front",
    )


def plot_sparsity_vs_p(runs: Sequence[Run], path: Path) -> Path | None:
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
        ax.set_xlabel("accumulator width P (bits)")
        _legend(ax, fontsize="x-small")
    return _save(fig, path)


FIGURES: dict[str, tuple[str, Callable[[Sequence[Run], Path], Path | None]]] = {
    "accuracy_vs_p": ("Test accuracy against accumulator width P", plot_accuracy_vs_p),
    "resources_vs_p": (
        "LUT and FF against P; dashed: the same accelerator with wide (32-bit) accumulators",
        plot_resources_vs_p,
    ),
    "pareto_lut": ("Accuracy against LUTs, non-dominated designs circled", plot_pareto_lut),
    "pareto_cycles": (
        "Accuracy against cycles per frame, non-dominated designs circled",
        plot_pareto_cycles,
    ),
    "sparsity_vs_p": (
        "Weight sparsity and estimated compression against P, with the A2Q paper's point",
        plot_sparsity_vs_p,
    ),
}
