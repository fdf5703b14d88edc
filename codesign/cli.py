"""Command-line interface. The only place that prints or draws progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from codesign.config import load_config
from codesign.errors import CodesignError

app = typer.Typer(add_completion=False, help="FPGA accelerator co-design: A2Q → QONNX → FINN → HW")
console = Console()
err_console = Console(stderr=True)

ConfigArg = Annotated[Path, typer.Argument(help="flow config (YAML)", exists=False)]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="build directory")]


class _RichProgress:
    """Draws the flow's progress: one line per step, a bar with ETA per training run."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}

    def step(self, name: str, status: str, seconds: float | None = None) -> None:
        if status == "start":
            return
        note = "reused" if status == "cached" else f"{seconds:.1f} s"
        self.bar.console.print(f"[green]✓[/] {name:<8} {note}")

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None:
        if run not in self.tasks:
            self.tasks[run] = self.bar.add_task(f"train {run}", total=total)
        desc = f"train {run} loss {loss:.3f}"
        self.bar.update(self.tasks[run], completed=epoch, description=desc)


def _run(until: str | None, config: Path, out: Path) -> dict[str, Any]:
    from codesign.flow import run_flow

    cfg = load_config(config)
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        result = run_flow(cfg, out, progress=_RichProgress(bar), until=until)
    console.print(f"results: {result.results_path}")
    return result.results


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def print_summary(results: dict[str, Any]) -> None:
    acc = results["accuracy"]
    console.print(
        f"[bold]{results['name']}[/]  accuracy: float {_fmt(acc.get('float'))}, "
        f"quantized {_fmt(acc.get('quantized'))}, HW graph {_fmt(acc.get('hw_graph'))}"
    )
    if not results.get("layers"):
        return
    table = Table(title="layers (accumulator bits: data-type bound / A2Q bound / FINN)")
    for col in ("layer", "MWxMH", "in/w bits", "acc bits", "PE/SIMD", "cycles", "LUT est"):
        table.add_column(col, justify="right")
    for row in results["layers"]:
        acc = "/".join(
            _fmt(row.get(k))
            for k in ("acc_bits_dtype_bound", "acc_bits_a2q_bound", "acc_bits_finn")
        )
        table.add_row(
            row["name"],
            f"{_fmt(row.get('mw'))}x{_fmt(row.get('mh'))}",
            f"{_fmt(row.get('input_bits'))}/{_fmt(row.get('weight_bits'))}",
            acc if row["op_type"] == "MVAU" else "-",
            f"{_fmt(row.get('pe'))}/{_fmt(row.get('simd'))}",
            _fmt(row.get("cycles")),
            _fmt(row.get("lut"), 0),
        )
    console.print(table)


def _guard(fn: Any) -> Any:
    try:
        return fn()
    except CodesignError as err:
        err_console.print(f"[red]error:[/] {err}")
        raise typer.Exit(2) from None


@app.command()
def doctor() -> None:
    """Report tool and library versions; exit 1 when a required open tool is missing."""
    from codesign.doctor import diagnose

    report = diagnose()
    console.print(report.format_table())
    if report.required_missing:
        for name, hint in report.required_missing.items():
            err_console.print(f"[red]missing required tool {name}[/]: {hint}")
        raise typer.Exit(1)


@app.command()
def train(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Train the float reference and the quantized model."""
    print_summary(_guard(lambda: _run("train", config, out)))


@app.command()
def export(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Export QONNX (training first if needed), checked equal to torch on the test set."""
    print_summary(_guard(lambda: _run("export", config, out)))


@app.command()
def lower(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Lower through FINN to the folded dataflow graph, checked equal to QONNX."""
    print_summary(_guard(lambda: _run("lower", config, out)))


@app.command()
def flow(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Run every step of the flow and write results.json."""
    print_summary(_guard(lambda: _run(None, config, out)))
