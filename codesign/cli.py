"""Command-line interface. The only place that prints or draws progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from codesign.config import FlowConfig, load_config, parse_config
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


def _run(
    until: str | None, config: Path | FlowConfig, out: Path, sim: dict[str, Any] | None = None,
    backend: str = "rtl",
) -> dict[str, Any]:
    from codesign.dse.fold_fit import resolve_fit
    from codesign.flow.runner import run_flow

    cfg = config if isinstance(config, FlowConfig) else load_config(config)
    cfg = resolve_fit(cfg, out)
    if sim:
        data = cfg.model_dump(mode="json")
        data["sim"].update(sim)
        cfg = parse_config(data, source=f"{config} with command-line options")
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        result = run_flow(cfg, out, progress=_RichProgress(bar), until=until, backend=backend)
    console.print(f"results: {result.results_path}")
    return result.results


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def print_summary(results: dict[str, Any]) -> None:
    """The build's outcome: accuracy and agreement, then (once lowered) the layers,
    the verification verdicts, the overflow proof, the cycles and the resources."""
    _print_accuracy(results)
    if not results.get("layers"):
        return
    _print_layers(results["layers"])
    _print_verification(results.get("verification"))
    if results.get("overflow"):
        _print_overflow(results["overflow"])
    if results.get("cycles"):
        cyc = results["cycles"]
        console.print(
            f"cycles per frame: measured II {cyc['ii_measured']:.1f} vs FINN estimate "
            f"{cyc['ii_estimated']} ({cyc['ii_error']:.1%}); latency {cyc['latency_measured']:.0f}"
        )
    if results.get("resources"):
        _print_resources(results["resources"])


def _print_accuracy(results: dict[str, Any]) -> None:
    acc = results["accuracy"]
    console.print(
        f"[bold]{results['name']}[/]  accuracy: float {_fmt(acc.get('float'))}, "
        f"quantized {_fmt(acc.get('quantized'))}, HW graph {_fmt(acc.get('hw_graph'))}, "
        f"accelerator {_fmt(acc.get('accelerator'))}"
    )
    agree = results.get("agreement") or {}
    if agree.get("hw_graph") is not None:
        exact = agree.get("accelerator_outputs_bit_exact")
        console.print(
            f"predictions equal to the graph's: HW graph {_fmt(agree.get('hw_graph'))}, "
            f"accelerator {_fmt(agree.get('accelerator'))}"
            + ("" if exact is None else
               f"; accelerator outputs {'bit-exact' if exact else 'differ from the reference'}")
        )


def _print_layers(layers: list[dict[str, Any]]) -> None:
    table = Table(title="layers (accumulator bits: data-type bound / A2Q bound / FINN)")
    for col in ("layer", "MWxMH", "in/w bits", "acc bits", "PE/SIMD", "cycles", "LUT est"):
        table.add_column(col, justify="right")
    for row in layers:
        acc = "/".join(
            _fmt(row.get(k))
            for k in ("acc_bits_dtype_bound", "acc_bits_a2q_bound", "acc_bits_finn")
        )
        table.add_row(
            row["name"],
            f"{_fmt(row.get('mw'))}x{_fmt(row.get('mh'))}",
            f"{_fmt(row.get('input_bits'))}/{_fmt(row.get('weight_bits'))}",
            acc if row.get("acc_bits_finn") is not None else "-",
            f"{_fmt(row.get('pe'))}/{_fmt(row.get('simd'))}",
            _fmt(row.get("cycles")),
            _fmt(row.get("lut"), 0),
        )
    console.print(table)


def _print_verification(ver: dict[str, Any] | None) -> None:
    """The verdict of each backend that verified the accelerator (RTL, HLS C-sim)."""
    rtl_ver = (ver or {}).get("backends", {"rtl": ver} if ver else {}).get("rtl")
    hls_ver = (ver or {}).get("backends", {}).get("hls")
    if rtl_ver:
        verdict = "[green]PASS[/]" if rtl_ver["passed"] else "[red]FAIL[/]"
        flags = [n for n, f in rtl_ver["overflow_flags"].items() if f]
        console.print(
            f"verification (RTL) {verdict}: {rtl_ver['frames']} frames, "
            f"{rtl_ver['words_compared']} words, {rtl_ver['mismatches']} mismatches on "
            f"{rtl_ver['simulator']} ({rtl_ver.get('driver', 'python')} driver) with "
            f"{rtl_ver['backpressure']:.0%} random stalls"
            + (f", {rtl_ver['frames_per_second']:,.0f} frames/s"
               if rtl_ver.get("frames_per_second") is not None else "")
            + f"; overflow flags: {', '.join(flags) if flags else 'none'}"
        )
    if hls_ver:
        verdict = "[green]PASS[/]" if hls_ver["passed"] else "[red]FAIL[/]"
        console.print(
            f"verification (HLS C-sim) {verdict}: {hls_ver['frames']} frames, "
            f"{hls_ver['words_compared']} words, {hls_ver['mismatches']} mismatches "
            f"(g++, {hls_ver['frames_per_second']:,.0f} frames/s)"
        )


def _print_overflow(ovf: dict[str, Any]) -> None:
    parts = [
        f"{layer['name']} {layer['overflowing_channels']}/{layer['channels']} channels "
        f"at {layer['acc_bits']} bits "
        f"(RTL flag {'set' if layer['rtl_overflow_flag'] else 'low'})"
        for layer in ovf["layers"]
    ]
    console.print("overflow proof (extreme inputs, RTL): " + "; ".join(parts))


def _print_resources(res: dict[str, Any]) -> None:
    rt = Table(title=f"Yosys synth_xilinx resources on {res['board']}")
    for col in ("design", "LUT", "FF", "CARRY", "DSP", "BRAM36", "LUT %"):
        rt.add_column(col, justify="right")
    for name, r in res.items():
        if not isinstance(r, dict) or "total" not in r:
            continue
        t = r["total"]
        rt.add_row(
            name, *(_fmt(t.get(k, 0), 0) for k in ("LUT", "FF", "CARRY", "DSP", "BRAM36")),
            _fmt(r["percent"].get("LUT"), 2),
        )
    console.print(rt)


def _first(record: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` present (not None) in a flat sweep record."""
    return next((record[k] for k in keys if record.get(k) is not None), None)


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
    table = Table(title="codesign doctor")
    for col in ("kind", "name", "status", "version", "path or how to get it"):
        table.add_column(col)
    for row in report.rows():
        table.add_row(*row)
    console.print(table)
    for tool in report.required_missing:
        err_console.print(
            f"[red]missing required tool {tool.name}[/]: {tool.problem or 'not found'}; "
            f"to get it: {tool.hint}"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def kernels() -> None:
    """List the kernel registry: op types (FINN's or codesign's), RTL module, parameters,
    folding, backends."""
    from codesign.backends.rtl import module_parameters
    from codesign.dataflow.kernels import kernels as registered

    table = Table(title="codesign kernels")
    for col in ("kernel", "op types", "RTL module", "parameters", "folding", "backends"):
        table.add_column(col)
    for k in registered():
        table.add_row(
            k.name, ", ".join(k.op_types), k.rtl_module,
            ", ".join(module_parameters(k.rtl_module)),
            ", ".join(f"{a} | {size}" for a, size in k.fold) or "-",
            ", ".join(k.backends),
        )
    console.print(table)


@app.command()
def train(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Train the float reference and the quantized model (a Brevitas factory without
    checkpoint: its module, on data.train)."""
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
def rtl(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Generate the SystemVerilog accelerator and its test vectors."""
    print_summary(_guard(lambda: _run("rtl", config, out)))


SimulatorOpt = Annotated[
    str | None, typer.Option("--simulator", help="verilator | icarus (default: config)")
]


@app.command()
def sim(
    config: ConfigArg,
    out: OutOpt = Path("out/build"),
    simulator: SimulatorOpt = None,
    waves: Annotated[bool, typer.Option("--waves", help="dump FST/VCD waveforms")] = False,
    frames: Annotated[int | None, typer.Option(help="test images to stream")] = None,
    driver: Annotated[
        str | None, typer.Option("--driver", help="hdl | python (default: config)")
    ] = None,
) -> None:
    """Cycle-simulate the accelerator with cocotb, bit-exact against the FINN graph; every
    check also goes to <out>/junit.xml."""
    overrides: dict[str, Any] = {"waves": waves}
    if simulator is not None:
        overrides["simulator"] = simulator
    if driver is not None:
        overrides["driver"] = driver
    if frames is not None:
        overrides["frames"] = frames
    print_summary(_guard(lambda: _run("sim", config, out, sim=overrides)))


@app.command()
def synth(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Synthesize with Yosys for the board's family and report resources."""
    print_summary(_guard(lambda: _run("synth", config, out)))


@app.command()
def csim(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Generate the HLS C++ accelerator (hls/ kernels) and C-simulate it with g++ on the
    test vectors, bit-exact against the FINN graph."""
    print_summary(_guard(lambda: _run("csim", config, out, backend="hls")))


BackendOpt = Annotated[
    str, typer.Option("--backend", help="rtl | hls | both: which accelerators to verify")
]


def _imported_config(model: Path, data: Path | None, input_type: str | None) -> FlowConfig:
    """The config of ``codesign flow --model net.onnx --data test.npz``: defaults for
    everything else, named after the model file."""
    if data is None:
        raise typer.BadParameter("--model needs --data (the npz test set)", param_hint="--data")
    name = "".join(c if c.isalnum() or c in "_.-" else "_" for c in model.stem) or "model"
    npz: dict[str, Any] = {"kind": "npz", "path": str(data)}
    if input_type is not None:
        npz["input_type"] = input_type
    return parse_config(
        {"name": name, "model": {"kind": "onnx", "path": str(model)}, "data": npz},
        source="--model/--data",
    )


@app.command()
def flow(
    config: Annotated[
        Path | None, typer.Argument(help="flow config (YAML); or give --model and --data")
    ] = None,
    out: OutOpt = Path("out/build"),
    model: Annotated[
        Path | None, typer.Option(help="QONNX / FINN-ONNX file to build (instead of a config)")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="its test set: .npz with x and, optionally, y labels")
    ] = None,
    input_type: Annotated[
        str | None, typer.Option(help="qonnx DataType of x where the graph does not say")
    ] = None,
    backend: BackendOpt = "rtl",
) -> None:
    """Run every step of the flow and write results.json."""
    if (config is None) == (model is None):
        raise typer.BadParameter("give a config file or --model (with --data), not both")
    if config is None and model is not None:
        m = model
        print_summary(_guard(lambda: _run(
            None, _imported_config(m, data, input_type), out, backend=backend)))
    else:
        assert config is not None
        c = config
        print_summary(_guard(lambda: _run(None, c, out, backend=backend)))


def _bitstream_vivado(cfg: FlowConfig, board: str, out: Path) -> None:
    """The Vivado side of ``codesign bitstream``: project, build where Vivado is, deploy."""
    from codesign.flow.runner import vivado_bitstream

    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        build = vivado_bitstream(cfg, out, board, progress=_RichProgress(bar))
    console.print(f"Vivado project: {build.project.dir}", soft_wrap=True)
    console.print(f"deployment folder (driver, packing.json): {Path(out) / 'deploy'}",
                  soft_wrap=True)
    if build.ran:
        console.print(f"[green]✓[/] {build.message}", soft_wrap=True)
    else:
        err_console.print(f"[yellow]{build.message}[/]", soft_wrap=True)


@app.command()
def sweep(
    spec: Annotated[Path, typer.Argument(help="sweep spec (YAML)")],
    out: OutOpt = Path("out/sweep"),
    store: Annotated[Path | None, typer.Option(help="SQLite result store")] = None,
    executor: Annotated[str, typer.Option(help="local | dask")] = "local",
    workers: Annotated[
        int | None, typer.Option(help="parallel points [default: one per CPU]")
    ] = None,
    scheduler: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://HOST:8786")
    ] = None,
    until: Annotated[str | None, typer.Option(help="last flow step of every point")] = None,
    retry_failed: Annotated[bool, typer.Option(help="run failed points again")] = False,
) -> None:
    """Run a design-space sweep; finished points are kept in SQLite and never repeated."""
    from codesign.dse.spec import load_sweep_spec
    from codesign.dse.store import SweepStore
    from codesign.dse.sweep import run_sweep
    from codesign.report.data import folding_text

    def go() -> None:
        sp = load_sweep_spec(spec)
        store_path = store or out / "sweep.sqlite"
        columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
        with Progress(*columns, console=console) as bar:
            task = bar.add_task(f"sweep {sp.name}", total=None)

            def progress(done: int, total: int, digest: str, status: str) -> None:
                bar.update(task, completed=done, total=total)
                bar.console.print(f"{'[green]✓' if status == 'done' else '[red]✗'}[/] {digest}")

            summary = run_sweep(
                sp, store_path, out, executor=executor,  # type: ignore[arg-type]
                workers=workers, scheduler=scheduler,
                progress=progress, until=until, retry_failed=retry_failed,
            )
        table = Table(title=f"sweep {sp.name}: {summary.done} done, {summary.failed} failed, "
                      f"{summary.skipped} reused")
        for col in ("digest", "method", "P", "PE/SIMD", "status", "accuracy", "LUT", "II"):
            table.add_column(col, justify="right")
        with SweepStore(store_path) as st:
            for r in st.to_records():
                table.add_row(
                    r["digest"], _fmt(r.get("config.quant.method")),
                    _fmt(r.get("config.quant.acc_bits")), folding_text(r.get("layers") or []),
                    r["status"],
                    _fmt(_first(r, "accuracy.accelerator", "accuracy.hw_graph",
                                "accuracy.quantized")),
                    _fmt(r.get("resources.accelerator.total.LUT"), 0),
                    _fmt(r.get("cycles.ii_measured"), 1),
                )
        console.print(table)
        if summary.folding is not None:
            pins = ", ".join(f"{f['pe']}/{f['simd']}" for f in summary.folding)
            console.print(f"folding (PE/SIMD per MVAU) solved on {sp.pin_folding} and pinned "
                          f"on every point: {pins}")
        console.print(f"store: {store_path}")

    _guard(go)


@app.command()
def report(
    sources: Annotated[
        list[Path], typer.Argument(help="results.json files, build dirs or sweep .sqlite stores")
    ],
    out: OutOpt = Path("out/report"),
) -> None:
    """Figures and one self-contained HTML report: accuracy vs P vs resources, Pareto fronts,
    overflow and the A2Q paper's figures side by side."""
    from codesign.report import build_report

    def go() -> None:
        res = build_report(sources, out)
        for name, path in res.figures.items():
            console.print(f"figure {name}: {path}")
        for name, why in res.skipped.items():
            console.print(f"[yellow]skipped[/] {name}: {why}")
        console.print(f"report: {res.html}")

    _guard(go)


@app.command()
def boards() -> None:
    """List the board registry: part, family, flow, clock and resources (family units)."""
    from codesign.board.registry import get_board, list_boards

    table = Table(title="codesign boards (resources in the family's units)")
    for col in ("board", "part", "flow", "MHz", "LUT", "FF", "DSP", "memory"):
        table.add_column(col, justify="right" if col == "MHz" else "left")
    for name in list_boards():
        b = _guard(lambda n=name: get_board(n))
        unit = {k: v.split(" (")[0] for k, v in b.units().items()}
        res = b.resources

        def cell(key: str, r: dict[str, int] = res, u: dict[str, str] = unit) -> str:
            return f"{r[key]:,} {u[key]}" if key in r else "-"

        memory = ", ".join(cell(k) for k in res if k not in ("LUT", "FF", "DSP"))
        table.add_row(b.name, b.part, b.flow, f"{b.clock_mhz:g}", cell("LUT"), cell("FF"),
                      cell("DSP"), memory)
    console.print(table)


def _print_bitstream(bs: dict[str, Any]) -> None:
    table = Table(title=f"{bs['board']} ({bs['part']}): placed and routed")
    for col in ("BEL", "used", "available", "%"):
        table.add_column(col, justify="right")
    for bel, u in bs["utilisation"].items():
        table.add_row(bel, str(u["used"]), str(u["available"]),
                      f"{100.0 * u['used'] / max(1, u['available']):.1f}")
    console.print(table)
    secs = ", ".join(f"{k} {v:.1f} s" for k, v in bs["seconds"].items())
    console.print(
        f"fmax {_fmt(bs['fmax_mhz'], 1)} MHz vs board clock {bs['clock_mhz']:g} MHz "
        f"({'met' if bs['timing_met'] else 'MISSED'}); {secs}"
    )
    console.print(f"bitstream: {bs['dir']}/{bs['bitstream']} (UART {bs['shell']['baud']} "
                  f"baud, framing {bs['framing']})")


@app.command()
def bitstream(
    config: ConfigArg,
    board: Annotated[
        str | None, typer.Option("--board", help="board name (default: the config's)")
    ] = None,
    out: OutOpt = Path("out/build"),
) -> None:
    """Build the board's bitstream: the flow up to rtl, then the open flow (UART shell,
    Yosys, fit check, nextpnr, packing) or, for the Vivado boards, the Vivado flow."""
    from codesign.board.bitstream import for_board, run_bitstream
    from codesign.board.registry import get_board

    def go() -> dict[str, Any] | None:
        cfg = for_board(load_config(config), board)
        columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
        if get_board(cfg.board).flow == "vivado":
            _bitstream_vivado(cfg, cfg.board, out)
            return None
        with Progress(*columns, console=console, transient=True) as bar:
            res = run_bitstream(cfg, out, progress=_RichProgress(bar))
        console.print(f"results: {res.results_path}")
        return res.results

    results = _guard(go)
    if results is not None:
        print_summary(results)
        _print_bitstream(results["bitstream"])


@app.command()
def run(
    board: Annotated[str, typer.Option("--board", help="the board the bitstream runs on")],
    port: Annotated[str, typer.Option("--port", help="serial port, e.g. /dev/ttyUSB1")],
    out: OutOpt = Path("out/build"),
    frames: Annotated[int, typer.Option(help="test images to send")] = 20,
    timeout: Annotated[float, typer.Option(help="seconds to wait for an answer")] = 2.0,
) -> None:
    """Send test images of the build in --out to the board over its UART and compare the
    answers with the reference (the build's test vectors)."""
    from codesign.board.uart_client import run_on_board

    def go() -> Any:
        return run_on_board(out, board, port, frames=frames, timeout_s=timeout)

    rep = _guard(go)
    verdict = "[green]PASS[/]" if rep.mismatches == 0 else "[red]FAIL[/]"
    console.print(
        f"{verdict} {rep.frames} frames over {port} at {rep.baud} baud: "
        f"{rep.mismatches} frames differ from the reference; {rep.seconds:.2f} s "
        f"({rep.frames / max(rep.seconds, 1e-9):.1f} frames/s)"
    )
    if rep.mismatches:
        raise typer.Exit(1)
