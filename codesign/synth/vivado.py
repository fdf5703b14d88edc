"""Vivado flow for the Zynq boards: a complete project directory, and a run where Vivado is.

:func:`write_vivado_project` writes, into one relocatable folder, the accelerator's RTL
(our generated top, the rtl/ kernels, the ROM files), a Verilog wrapper that gives the
block design AXI-Stream interfaces at DMA-legal widths, the constraints, ``project.tcl``
(project for the board's part, block design: processing system, AXI DMA, SmartConnects,
reset, the accelerator as an RTL module reference) and ``build.tcl`` (synthesis,
implementation, reports, bitstream and hardware handoff). :func:`build_vivado` runs it
when ``vivado`` is installed and parses the reports into ``results.json``; otherwise it
returns the command to run.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from codesign.backends.rtl import emit_rtl
from codesign.board.registry import Board
from codesign.dataflow.graph import StreamGraph
from codesign.errors import CodesignError, ConfigError
from codesign.synth import vivado_tcl
from codesign.synth.vivado_reports import parse_timing_summary, parse_utilization
from codesign.tools import default_jobs, find_tool

PsKind = Literal["zynq_ultra_ps_e", "processing_system7"]

#: The processing system of each Xilinx family with one (Zynq UltraScale+ / Zynq-7000).
_FAMILY_PS: dict[str, PsKind] = {"xcup": "zynq_ultra_ps_e", "xc7": "processing_system7"}
#: Stream widths the AXI DMA accepts (PG021: c_m_axis_mm2s_tdata_width and
#: c_s_axis_s2mm_tdata_width); its memory-mapped side is at least 32 bits wide.
DMA_STREAM_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)
#: Bits of the DMA's transfer-length register (its largest setting): one transfer moves
#: at most 2**26 - 1 bytes.
DMA_LENGTH_BITS = 26

BITSTREAM = "codesign_accel.bit"
HWH = "codesign_accel.hwh"


class VivadoError(CodesignError):
    """Vivado failed, or a design cannot be put into the Vivado block design."""


@dataclass(frozen=True)
class VivadoTarget:
    """What the Vivado flow needs of a board."""

    board: str
    part: str
    clock_mhz: float
    ps: PsKind
    board_part: str | None = None


def vivado_target(board: Board) -> VivadoTarget:
    """The Vivado view of a board: its ``vivado:`` section (board part, processing
    system) where the board file has one, else the processing system of its family."""
    if board.flow != "vivado":
        raise ConfigError(
            f"board {board.name} uses the {board.flow} flow; the Vivado project is for boards "
            "with flow: vivado"
        )
    section = board.vivado
    ps = section.ps if section is not None else _FAMILY_PS.get(board.family)
    if ps is None:
        raise ConfigError(
            f"board {board.name} (family {board.family}) names no processing system; give "
            "vivado.ps: zynq_ultra_ps_e | processing_system7 in its board file"
        )
    return VivadoTarget(
        board=board.name, part=board.part, clock_mhz=board.clock_mhz, ps=ps,
        board_part=section.board_part if section is not None else None,
    )


@dataclass(frozen=True)
class DmaStream:
    """One accelerator stream as the AXI DMA moves it: ``words_per_frame`` beats of
    ``dma_bits``, each holding ``elems`` elements of ``elem_bits`` in its low
    ``tdata_bits`` (element 0 in the LSBs, as in codesign.backends.words); the rest is 0."""

    elem_bits: int
    elems: int
    signed: bool
    tdata_bits: int
    dma_bits: int
    words_per_frame: int

    @property
    def mm_bits(self) -> int:
        """The DMA's memory-mapped data width for this stream (PG021: at least 32 and
        at least the stream width)."""
        return max(32, self.dma_bits)

    def to_json(self) -> dict[str, Any]:
        return {
            "elem_bits": self.elem_bits, "elems": self.elems, "signed": self.signed,
            "tdata_bits": self.tdata_bits, "dma_bits": self.dma_bits,
            "mm_bits": self.mm_bits, "words_per_frame": self.words_per_frame,
        }


def dma_width(tdata_bits: int, what: str = "stream") -> int:
    """The narrowest AXI DMA stream width that holds ``tdata_bits``.

    >>> dma_width(8), dma_width(24), dma_width(64), dma_width(136)
    (8, 32, 64, 256)
    """
    for width in DMA_STREAM_WIDTHS:
        if width >= tdata_bits:
            return width
    raise VivadoError(
        f"{what} is {tdata_bits} bits wide; the AXI DMA moves at most "
        f"{DMA_STREAM_WIDTHS[-1]}-bit streams: fold it narrower (fewer PE/SIMD on its "
        "layer) for the Vivado flow"
    )


def dma_streams(graph: StreamGraph) -> tuple[DmaStream, DmaStream]:
    """The input and output stream of ``graph`` at DMA widths (one of each: one DMA)."""
    inp, out = graph.input_edge, graph.output_edge

    def stream(e: Any, what: str) -> DmaStream:
        f = e.fmt
        return DmaStream(f.elem_bits, f.elems, f.signed, f.tdata_bits,
                         dma_width(f.tdata_bits, f"the {what} stream {e.name}"), e.words)

    return stream(inp, "input"), stream(out, "output")


@dataclass(frozen=True)
class VivadoProject:
    """A written project directory."""

    dir: Path
    target: VivadoTarget
    build_tcl: Path
    project_tcl: Path
    sources: tuple[Path, ...]
    memories: tuple[Path, ...]
    constraints: Path
    inp: DmaStream
    out: DmaStream
    jobs: int = field(default=1)

    def command(self) -> list[str]:
        """The Vivado batch command, run in :attr:`dir`."""
        return ["vivado", "-mode", "batch", "-notrace", "-source", self.build_tcl.name,
                "-tclargs", str(self.jobs)]

    @property
    def bitstream(self) -> Path:
        return self.dir / "out" / BITSTREAM

    @property
    def hwh(self) -> Path:
        return self.dir / "out" / HWH

    @property
    def reports(self) -> Path:
        return self.dir / "reports"


def write_vivado_project(graph: StreamGraph, board: Board, out: Path) -> VivadoProject:
    """Write the complete Vivado project for ``graph`` on ``board`` into ``out``.

    Everything the scripts read lies inside ``out`` (sources are copied, paths in the
    scripts are relative to the script), so the folder can be moved to a Vivado machine.
    """
    target = vivado_target(board)
    inp, outp = dma_streams(graph)
    d = Path(out).resolve()
    # sources, reports and bitstreams of an earlier design must not linger
    for stale in ("rtl", "out", "reports", "project"):
        shutil.rmtree(d / stale, ignore_errors=True)
    (d / "results.json").unlink(missing_ok=True)
    rtl_dir = d / "rtl"
    # overflow monitors are for verification; unconnected, synthesis removes them
    rtl = emit_rtl(graph, rtl_dir, monitor_overflow=False)
    sources: list[Path] = []
    for src in rtl.sources:
        dest = rtl_dir / src.name
        if src.resolve() != dest:
            shutil.copyfile(src, dest)
        sources.append(dest)
    (rtl_dir / "filelist.f").unlink()  # it names absolute paths; the Tcl lists the copies
    wrapper = rtl_dir / f"{vivado_tcl.WRAPPER}.v"
    wrapper.write_text(vivado_tcl.wrapper_source(graph, inp, outp))
    sources.append(wrapper)
    xdc = d / "constraints.xdc"
    xdc.write_text(vivado_tcl.constraints(target))
    rel = [p.relative_to(d).as_posix() for p in sources]
    mems = [p.relative_to(d).as_posix() for p in rtl.memories]
    project_tcl = d / "project.tcl"
    project_tcl.write_text(vivado_tcl.project_tcl(target, inp, outp, rel, mems, xdc.name))
    build_tcl = d / "build.tcl"
    build_tcl.write_text(vivado_tcl.build_tcl(target, project_tcl.name))
    return VivadoProject(
        dir=d, target=target, build_tcl=build_tcl, project_tcl=project_tcl,
        sources=tuple(sources), memories=rtl.memories, constraints=xdc, inp=inp, out=outp,
        jobs=default_jobs(),
    )


@dataclass(frozen=True)
class VivadoBuild:
    """Outcome of :func:`build_vivado`: ``ran`` is False where Vivado is not installed."""

    project: VivadoProject
    ran: bool
    results: dict[str, Any]
    results_path: Path
    message: str


def parse_reports(project: VivadoProject) -> dict[str, Any]:
    """Utilisation and timing from the reports ``build.tcl`` wrote."""
    rep = project.reports
    util = parse_utilization((rep / "utilization.rpt").read_text())
    hier_path = rep / "utilization_hier.rpt"
    timing = parse_timing_summary((rep / "timing_summary.rpt").read_text())
    result: dict[str, Any] = {"utilization": util, "timing": timing}
    if hier_path.is_file():
        from codesign.synth.vivado_reports import parse_hierarchical_utilization

        rows = parse_hierarchical_utilization(hier_path.read_text())
        accel = [r for r in rows if r["instance"] == vivado_tcl.ACCEL_CELL]
        result["accelerator"] = accel[0] if accel else None
    return result


def _summary(project: VivadoProject) -> dict[str, Any]:
    t = project.target
    return {
        "board": t.board, "part": t.part, "board_part": t.board_part, "ps": t.ps,
        "clock_mhz": t.clock_mhz,
        "streams": {"in": project.inp.to_json(), "out": project.out.to_json()},
        "script": project.build_tcl.name,
        "command": " ".join(project.command()),
    }


def build_vivado(
    graph: StreamGraph, board: Board, out: Path, vivado: Path | None = None,
    timeout_s: float | None = None,
) -> VivadoBuild:
    """Write the project into ``out`` and run it with Vivado where it is installed.

    ``vivado``: the executable (default: found on PATH or in the usual install folders).
    Without Vivado the project is complete but unbuilt: ``ran`` is False and the message
    names the script and the command. Results go to ``out/results.json``.
    """
    project = write_vivado_project(graph, board, out)
    exe = vivado or find_tool("vivado")
    results = _summary(project)
    results_path = project.dir / "results.json"
    if exe is None:
        message = (
            f"vivado is not on PATH: the project is ready in {project.dir}; to build the "
            f"bitstream run there: {' '.join(project.command())}"
        )
        results["status"] = "project_only"
        results_path.write_text(json.dumps(results, indent=2) + "\n")
        return VivadoBuild(project, False, results, results_path, message)
    log = project.dir / "vivado.log"
    cmd = [str(exe), *project.command()[1:]]
    with log.open("w") as fh:
        try:
            proc = subprocess.run(cmd, cwd=project.dir, stdout=fh, stderr=subprocess.STDOUT,
                                  timeout=timeout_s, check=False)
        except subprocess.TimeoutExpired as exc:
            raise VivadoError(f"vivado ran longer than {timeout_s} s; see {log}") from exc
    if proc.returncode != 0:
        raise VivadoError(f"vivado exited with {proc.returncode}; see {log}")
    for path in (project.bitstream, project.hwh):
        if not path.is_file():
            raise VivadoError(f"vivado finished but wrote no {path.name}; see {log}")
    results.update(parse_reports(project))
    timing = results["timing"]
    results["status"] = "built" if timing["met"] else "timing_failed"
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    met = "met" if timing["met"] else f"NOT met (WNS {timing['wns_ns']} ns)"
    message = f"bitstream {project.bitstream}; timing {met}; results {results_path}"
    return VivadoBuild(project, True, results, results_path, message)
