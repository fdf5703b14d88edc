"""The Neural-ODE section of the report: per ``model.kind: ode`` run, the variant and T,
the weights (the blocks, and the whole net with stem and head), the accuracy on the
source and target domains before and after adaptation, the accelerator's resources,
cycles and latency at the board clock. The rows side by side are the comparison dsODENet
implies: the unrolled ResNet grows with T, the looped engines do not (beyond their
counters) but take T passes."""

from __future__ import annotations

from collections.abc import Sequence

from codesign.report.data import Run
from codesign.report.tables import Table, fmt

COLUMNS = [
    "run", "variant", "T", "dt", "channels", "block weights", "total weights",
    "source before", "target before", "target after", "source after", "accelerator",
    "LUT", "FF", "DSP", "BRAM36", "II (cycles)", "latency (cycles)", "latency (us)",
]


def _latency_us(r: Run) -> float | None:
    """The measured latency at the board's clock (the clock of its board file)."""
    from codesign.board.registry import get_board
    from codesign.errors import CodesignError

    cycles, board = r.get("cycles.latency_measured"), r.get("config.board")
    if cycles is None or board is None:
        return None
    try:
        return float(cycles) / get_board(str(board)).clock_mhz
    except CodesignError:  # a board file this tree does not have
        return None


def _row(r: Run) -> list[str]:
    variant = r.get("config.model.variant")
    counts = (r.get("parameters") or {}).get(variant, {})
    adapted = r.get("adaptation.quant") or {}
    res = r.resources("accelerator") or {}
    shift = r.get("config.model.dt_shift")
    dt = r.get("config.model.dt") or (None if shift is None else 2.0 ** -int(shift))
    return [
        r.name, fmt(variant), fmt(r.get("config.model.steps")), fmt(dt),
        fmt(r.get("config.model.channels")), fmt(counts.get("blocks")),
        fmt(counts.get("total")), fmt(adapted.get("source_before"), "acc"),
        fmt(adapted.get("target_before"), "acc"), fmt(adapted.get("target_after"), "acc"),
        fmt(adapted.get("source_after"), "acc"), fmt(r.get("accuracy.accelerator"), "acc"),
        fmt(res.get("LUT"), "int"), fmt(res.get("FF"), "int"), fmt(res.get("DSP"), "int"),
        fmt(res.get("BRAM36")), fmt(r.get("cycles.ii_measured"), "int"),
        fmt(r.get("cycles.latency_measured"), "int"), fmt(_latency_us(r)),
    ]


def ode_table(runs: Sequence[Run]) -> Table | None:
    """The section's table, None when no run is a Neural ODE."""
    odes = [r for r in runs if r.get("config.model.kind") == "ode"]
    if not odes:
        return None
    odes.sort(key=lambda r: (str(r.get("config.model.variant")), r.get("config.model.steps") or 0))
    return Table(
        key="ode", title="Neural ODEs: variants, weights, adaptation, resources vs T",
        columns=COLUMNS, rows=[_row(r) for r in odes],
        note="block weights: the ODE part (stored once when shared); accuracies of the "
        "quantized model on the source (digits) and target (data.domain) test images, "
        "before and after adapting on data.shots images per class; latency in us at the "
        "board's clock. The dsODENet paper reports 54.2-79.8 % fewer weights than its "
        "Neural ODE and 23.8x its board's CPU; bench/ode_speedup.py sets a build's "
        "latency against PyTorch on this machine's CPU.",
    )
