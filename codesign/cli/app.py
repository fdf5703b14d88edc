"""The ``codesign`` command: one sub-command per flow stage, the sweep, the report, the
board commands and the registry listings (:mod:`codesign.cli.listings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from codesign.cli import listings
from codesign.cli.output import (
    aligned,
    console,
    err_console,
    fmt,
    guard,
    point_progress,
    print_lines,
    progress,
    start_command,
)
from codesign.cli.summary import print_bitstream, print_summary
from codesign.config import FlowConfig, load_config, parse_config
from codesign.errors import ConfigError

app = typer.Typer(
    add_completion=False, rich_markup_mode=None,
    help="FPGA accelerator co-design: A2Q -> QONNX -> FINN -> HW.",
)
app.callback()(start_command)
for _listing in (listings.doctor, listings.kernels, listings.boards):
    app.command()(_listing)

ConfigArg = Annotated[Path, typer.Argument(help="flow config (YAML)", exists=False)]
OutOpt = Annotated[Path, typer.Option("--out", "-o", help="build directory")]


def _positive(value: int | None) -> int | None:
    """The check of a count option: typer parses the integer, this refuses 0 and below."""
    if value is not None and value < 1:
        raise typer.BadParameter(f"must be a positive integer (1, 2, ...), got {value}")
    return value


def _with_options(
    cfg: FlowConfig, source: str, sim: dict[str, Any] | None, target_cycles: int | None
) -> FlowConfig:
    """``cfg`` with the command line's options over its keys: ``sim`` over the sim
    section, ``target_cycles`` as ``fold.target_cycles``. A config folding otherwise
    (``fold.layers``, ``fold.fit``) is refused: two foldings, neither would win silently."""
    if not sim and target_cycles is None:
        return cfg
    data = cfg.model_dump(mode="json")
    data["sim"].update(sim or {})
    if target_cycles is not None:
        if cfg.fold.layers is not None:
            raise ConfigError(
                f"--target-cycles {target_cycles} conflicts with fold.layers in {source} "
                "(PE/SIMD given per layer): give one of them"
            )
        if cfg.fold.fit is not None:
            raise ConfigError(
                f"--target-cycles {target_cycles} conflicts with fold.fit: {cfg.fold.fit} in "
                f"{source} (which searches the target fitting the board): give one of them"
            )
        data["fold"] = {"target_cycles": target_cycles}
    return parse_config(data, source=f"{source} with command-line options")


def _run(
    until: str | None, config: Path | FlowConfig, out: Path, sim: dict[str, Any] | None = None,
    backend: str = "rtl", target_cycles: int | None = None,
) -> dict[str, Any]:
    from codesign.dse.fold_fit import resolve_fit
    from codesign.flow.runner import run_flow

    if isinstance(config, FlowConfig):
        cfg, source = config, "--model"
    else:
        cfg, source = load_config(config), str(config)
    cfg = resolve_fit(_with_options(cfg, source, sim, target_cycles), out)
    with progress() as reporter:
        result = run_flow(cfg, out, progress=reporter, until=until, backend=backend)
    console().print(f"results: {result.results_path}")
    return result.results


def _ii_text(record: dict[str, Any]) -> str:
    """A sweep point's II: measured, else the estimate marked as such."""
    if record.get("cycles.ii_measured") is not None:
        return fmt(record["cycles.ii_measured"], 1)
    return f"{record['ii.cycles']} est." if record.get("ii.cycles") is not None else "-"


def _p_text(record: dict[str, Any]) -> str:
    """A sweep point's P: one, ``16 (papers)`` under the papers' layer policy (P of the
    hidden layers), or one per weighted layer, ``16/14/-`` (-: unconstrained)."""
    p = record.get("config.quant.acc_bits")
    if isinstance(p, list):
        return "/".join("-" if v is None else str(v) for v in p)
    papers = p is not None and record.get("config.quant.layer_policy") == "papers"
    return fmt(p) + (" (papers)" if papers else "")


def _first(record: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` present (not None) in a flat sweep record."""
    return next((record[k] for k in keys if record.get(k) is not None), None)


@app.command()
def train(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Train the float and the quantized model.

    For a Brevitas factory without a checkpoint: its module, on data.train.
    """
    print_summary(guard(lambda: _run("train", config, out)))


@app.command()
def export(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Export QONNX, checked equal to torch on the test set.

    Trains first where needed.
    """
    print_summary(guard(lambda: _run("export", config, out)))


@app.command()
def lower(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Lower through FINN to the folded dataflow graph.

    The dataflow graph is checked equal to the QONNX graph on the test set.
    """
    print_summary(guard(lambda: _run("lower", config, out)))


@app.command()
def rtl(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Generate the SystemVerilog accelerator and its test vectors."""
    print_summary(guard(lambda: _run("rtl", config, out)))


SimulatorOpt = Annotated[
    str | None, typer.Option("--simulator", help="verilator | icarus (default: config)")
]


@app.command()
def sim(
    config: ConfigArg,
    out: OutOpt = Path("out/build"),
    simulator: SimulatorOpt = None,
    waves: Annotated[bool, typer.Option("--waves", help="dump FST/VCD waveforms")] = False,
    frames: Annotated[
        int | None, typer.Option(callback=_positive, help="test images to stream")
    ] = None,
    driver: Annotated[
        str | None, typer.Option("--driver", help="hdl | python (default: config)")
    ] = None,
) -> None:
    """Cycle-simulate the accelerator with cocotb.

    Every output word is compared with the FINN graph's (bit-exact); every check also
    goes to <out>/junit.xml.
    """
    overrides: dict[str, Any] = {"waves": waves}
    if simulator is not None:
        overrides["simulator"] = simulator
    if driver is not None:
        overrides["driver"] = driver
    if frames is not None:
        overrides["frames"] = frames
    print_summary(guard(lambda: _run("sim", config, out, sim=overrides)))


@app.command()
def synth(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Synthesize with Yosys and report resources.

    Each kernel is synthesized out of context for the board's family and the results are
    summed per design.
    """
    print_summary(guard(lambda: _run("synth", config, out)))


@app.command()
def csim(config: ConfigArg, out: OutOpt = Path("out/build")) -> None:
    """Generate the HLS C++ accelerator and C-simulate it.

    The top calls the hls/ kernels; g++ runs it on the test vectors, bit-exact against
    the FINN graph.
    """
    print_summary(guard(lambda: _run("csim", config, out, backend="hls")))


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


FramesOpt = Annotated[int | None, typer.Option(
    "--frames", callback=_positive,
    help="test images to simulate (sets sim.frames)",
)]
TargetCyclesOpt = Annotated[int | None, typer.Option(
    "--target-cycles", callback=_positive,
    help="folding target, cycles per frame (fold.target_cycles)",
)]


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
    frames: FramesOpt = None,
    target_cycles: TargetCyclesOpt = None,
) -> None:
    """Run every step of the flow and write results.json."""
    if config is None and model is None:
        raise typer.BadParameter(
            "give a flow config (codesign flow CONFIG.yaml) or a model file "
            "(codesign flow --model NET.onnx --data TEST.npz)", param_hint="config")
    if config is not None and model is not None:
        raise typer.BadParameter("give a flow config or --model, not both", param_hint="--model")
    sim = None if frames is None else {"frames": frames}

    def go() -> dict[str, Any]:
        source = config if model is None else _imported_config(model, data, input_type)
        assert source is not None
        return _run(None, source, out, sim=sim, backend=backend, target_cycles=target_cycles)

    print_summary(guard(go))


def _bitstream_vivado(cfg: FlowConfig, board: str, out: Path) -> None:
    """The Vivado side of ``codesign bitstream``: project, build where Vivado is, deploy."""
    from codesign.flow.runner import vivado_bitstream

    with progress() as reporter:
        build = vivado_bitstream(cfg, out, board, progress=reporter)
    console().print(f"Vivado project: {build.project.dir}", soft_wrap=True)
    console().print(f"deployment folder (driver, packing.json): {Path(out) / 'deploy'}",
                  soft_wrap=True)
    if build.ran:
        console().print(f"[green]✓[/] {build.message}", soft_wrap=True)
    else:
        err_console().print(f"[yellow]{build.message}[/]", soft_wrap=True)


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
    """Run a design-space sweep.

    Finished points are kept in SQLite and never repeated.
    """
    from codesign.dse.spec import load_sweep_spec
    from codesign.dse.store import SweepStore
    from codesign.dse.sweep import run_sweep
    from codesign.report.data import folding_text

    def go() -> None:
        sp = load_sweep_spec(spec)
        store_path = store or out / "sweep.sqlite"
        with point_progress(f"sweep {sp.name}") as on_point:

            summary = run_sweep(
                sp, store_path, out, executor=executor,  # type: ignore[arg-type]
                workers=workers, scheduler=scheduler,
                progress=on_point, until=until, retry_failed=retry_failed,
            )
        header = ("digest", "method", "P", "PE/SIMD", "status", "metric", "LUT", "II")
        with SweepStore(store_path) as st:
            rows = [(
                r["digest"], fmt(r.get("config.quant.method")),
                _p_text(r), folding_text(r.get("layers") or []),
                r["status"],
                fmt(_first(r, *(f"{r.get('metric.name') or 'accuracy'}.{stage}"
                                for stage in ("accelerator", "hw_graph", "quantized")))),
                fmt(r.get("resources.accelerator.total.LUT"), 0),
                _ii_text(r),
            ) for r in st.to_records()]
        print_lines([f"sweep {sp.name}: {summary.done} done, {summary.failed} failed, "
                     f"{summary.skipped} reused", *aligned(header, rows)])
        if summary.folding is not None:
            pins = ", ".join(f"{f['pe']}/{f['simd']}" for f in summary.folding)
            console().print(f"folding (PE/SIMD per MVAU) solved on {sp.pin_folding} and pinned "
                          f"on every point: {pins}")
        console().print(f"store: {store_path}")

    guard(go)


@app.command()
def report(
    sources: Annotated[
        list[Path], typer.Argument(help="results.json files, build dirs or sweep .sqlite stores")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="report folder")] = Path("out/report"),
) -> None:
    """Figures and an HTML report from builds and sweeps.

    One self-contained HTML page: accuracy vs accumulator width vs resources, Pareto
    fronts, overflow, and the A2Q paper's figures side by side.
    """
    from codesign.report import build_report

    def go() -> None:
        res = build_report(sources, out)
        for name, path in res.figures.items():
            console().print(f"figure {name}: {path}")
        for name, why in res.skipped.items():
            console().print(f"[yellow]skipped[/] {name}: {why}")
        console().print(f"report: {res.html}")

    guard(go)


@app.command()
def bitstream(
    config: ConfigArg,
    board: Annotated[
        str | None, typer.Option("--board", help="board name (default: the config's)")
    ] = None,
    out: OutOpt = Path("out/build"),
) -> None:
    """Build the board's bitstream.

    The flow up to rtl, then the open flow (UART shell, Yosys, fit check, nextpnr,
    packing) or, for the Vivado boards, the Vivado project and flow.
    """
    from codesign.board.bitstream import for_board, run_bitstream
    from codesign.board.registry import get_board

    def go() -> dict[str, Any] | None:
        cfg = for_board(load_config(config), board)
        if get_board(cfg.board).flow == "vivado":
            _bitstream_vivado(cfg, cfg.board, out)
            return None
        with progress() as reporter:
            res = run_bitstream(cfg, out, progress=reporter)
        console().print(f"results: {res.results_path}")
        return res.results

    results = guard(go)
    if results is not None:
        print_summary(results)
        print_bitstream(results["bitstream"])


@app.command()
def run(
    board: Annotated[str, typer.Option("--board", help="the board the bitstream runs on")],
    port: Annotated[str, typer.Option("--port", help="serial port, e.g. /dev/ttyUSB1")],
    out: OutOpt = Path("out/build"),
    frames: Annotated[int, typer.Option(help="test images to send")] = 20,
    timeout: Annotated[float, typer.Option(help="seconds to wait for an answer")] = 2.0,
) -> None:
    """Run test images on a board over its UART.

    Sends test images of the build in --out and compares the answers with the build's
    test vectors.
    """
    from codesign.board.uart_client import run_on_board

    def go() -> Any:
        return run_on_board(out, board, port, frames=frames, timeout_s=timeout)

    rep = guard(go)
    verdict = "[green]PASS[/]" if rep.mismatches == 0 else "[red]FAIL[/]"
    console().print(
        f"{verdict} {rep.frames} frames over {port} at {rep.baud} baud: "
        f"{rep.mismatches} frames differ from the reference; {rep.seconds:.2f} s "
        f"({rep.frames / max(rep.seconds, 1e-9):.1f} frames/s)"
    )
    if rep.mismatches:
        raise typer.Exit(1)
