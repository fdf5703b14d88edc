"""FIFO depths from simulation, FINN's way: simulate with deep FIFOs, record each FIFO's
peak occupancy, set depth = peak + margin; the flow then verifies the sized design.

One-frame FIFOs (what lowering inserts) never limit throughput but are far too deep
behind a sliding window; FIFOs that are too shallow slow a pipeline down, and on a
residual block (a short skip path beside a long convolution path) they deadlock it.
The peak with the input paced at the estimated initiation interval (every word at its
share of it, as a throttled DMA sends) and the output always ready is what a FIFO must
hold so that no producer waits for it in steady state. A frame sent as one burst would
instead fill the FIFO in front of the first slow node with most of a frame: at 128x128
that one FIFO took 105 of a design's 140 BRAM36.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from codesign.backends.rtl import emit_rtl
from codesign.backends.vectors import write_vectors
from codesign.dataflow.graph import StreamGraph, run_reference
from codesign.dataflow.kernels import KernelInstance
from codesign.errors import VerificationError

TESTBENCH = "rtl_sim.accel.test_fifo_peaks"
MARGIN = 2
"""Words above the peak: cs_fifo accepts again only a cycle after a pop when full."""
ROUNDS = 4
"""Re-simulations of the sized design that may deepen the FIFOs it fills."""
ICARUS_CYCLES = 10_000
"""Sizing runs of up to this many cycles (estimated) run on Icarus, whatever the flow's
simulator: the peaks and cycles are the same on both, and a Verilator round spends its
time compiling. Demo MLP, 8 frames (616 cycles), both rounds: Verilator 43 s (19 s per
compile), Icarus 5.5 s; Icarus's cycle loop here runs ~1.2 k cycles/s, so beyond ~20 k
cycles a compile is the cheaper way."""


@dataclass(frozen=True)
class FifoSizing:
    """Per FIFO node: the depth simulated with, the peak seen and the depth chosen."""

    deep: dict[str, int]
    peak: dict[str, int]
    depth: dict[str, int]
    cycles: int
    simulator: str

    def to_json(self) -> dict[str, object]:
        return {
            "margin": MARGIN, "simulated_cycles": self.cycles, "simulator": self.simulator,
            "fifos": {n: {"simulated_depth": self.deep[n], "peak": self.peak[n],
                          "depth": self.depth[n]} for n in self.depth},
            "words_total": {"simulated": sum(self.deep.values()),
                            "sized": sum(self.depth.values())},
        }


def with_depths(graph: StreamGraph, depths: dict[str, int]) -> StreamGraph:
    """``graph`` with the given buffer depths (other nodes unchanged)."""
    return graph.map_nodes(
        lambda k: k.kernel.with_depth(k, depths[k.node]) if k.node in depths else k, graph.name
    )


def _peaks(graph: StreamGraph, x: npt.ArrayLike, work: Path, simulator: str
           ) -> tuple[dict[str, int], int]:
    """Peak occupancy of every FIFO of ``graph`` and the cycles the frames took: the HDL
    harness streams them (input words paced at the estimated II, output always ready)
    inside the simulator, so no Python runs per clock cycle."""
    from codesign.verify.harness import HARNESS_DUT, harness_testbench
    from codesign.verify.simulators import cxx_opt_for, run_cocotb

    work = Path(work).resolve()
    project = emit_rtl(graph, work / "rtl")
    vectors = work / "vectors"
    write_vectors(graph, x, run_reference(graph, x), vectors)
    meta = json.loads((vectors / "meta.json").read_text())
    report = work / "peaks.json"
    report.unlink(missing_ok=True)
    sim_dir = work / "sim"
    sim_dir.mkdir(parents=True, exist_ok=True)
    project.stage_memories(sim_dir)
    top, sources, parameters, build_args = harness_testbench(
        project, vectors, sim_dir, meta, internal_clock=True)
    # buffer paths are below accel_top, the harness's instance HARNESS_DUT
    paths = {k.node: f"{HARNESS_DUT}.{path}" for path, k in graph.walk()
             if k.kernel.sized_by_simulation}
    nodes = {k.node: k for _, k in graph.walk() if k.node in paths}
    if simulator == "verilator":
        sources.append(_public_peaks(nodes.values(), sim_dir / "peaks.vlt"))
    n_frames = len(np.asarray(x))
    # every node at its estimated rate, plus the pipeline filling: 4x is no stall
    max_cycles = 4 * (n_frames + 2) * graph.est_ii + 10_000
    cfg = {
        "vectors": str(vectors), "report": str(report), "internal_clock": True,
        "buffers": {paths[n]: k.kernel.peak_signal for n, k in nodes.items()},
        "frames": n_frames, "frame_period": graph.est_ii,
        # a legitimate idle gap (frame 0's latency, the wait for a paced word) is a
        # few IIs; a stream idle for half the run's bound has deadlocked
        "limits": {"watchdog": max_cycles // 2, "drain": 0, "max_cycles": max_cycles},
    }
    run_cocotb(
        toplevel=top, sources=sources, parameters=parameters, test_module=TESTBENCH,
        simulator=simulator, build_dir=sim_dir, extra_env={"CS_TB_CONFIG": json.dumps(cfg)},
        cxx_opt=cxx_opt_for((n_frames + 2) * graph.est_ii), build_args=build_args,
        public=False,
    )
    if not report.is_file():
        raise VerificationError(f"FIFO sizing simulation wrote no report (see {sim_dir})")
    data = json.loads(report.read_text())
    return {n: int(data["peaks"][paths[n]]) for n in nodes}, int(data["cycles"])


def _public_peaks(nodes: Iterable[KernelInstance], path: Path) -> Path:
    """A Verilator configuration file at ``path`` that makes the FIFOs' peak registers
    readable: every signal public (cocotb's default) would keep Verilator from optimizing
    the design, which runs several times slower."""
    kinds = sorted({(k.kernel.rtl_module, k.kernel.peak_signal) for k in nodes})
    path.write_text("`verilator_config\n" + "".join(
        f'public_flat_rd -module "{module}" -var "{signal}"\n' for module, signal in kinds))
    return path


def sizing_simulator(graph: StreamGraph, n_frames: int, preferred: str) -> str:
    """The simulator for a sizing run of ``n_frames``: Icarus for a short run (see
    :data:`ICARUS_CYCLES`), else ``preferred``."""
    return "icarus" if (n_frames + 2) * graph.est_ii <= ICARUS_CYCLES else preferred


def size_fifos(
    graph: StreamGraph, x: npt.ArrayLike, work: Path, simulator: str = "verilator",
) -> FifoSizing:
    """Simulate ``graph`` (with its deep FIFOs) on the frames ``x`` at its estimated rate
    and size every FIFO to its peak occupancy plus :data:`MARGIN`. ``simulator`` is the
    one for a long run (:func:`sizing_simulator` picks).

    Shallower FIFOs change the timing the peaks were seen under, so the sized design is
    simulated again: while it takes more cycles than the deep one, every FIFO it filled
    up doubles (at most :data:`ROUNDS` times, never beyond the deep depth)."""
    deep = {k.node: int(k.params["DEPTH"]) for _, k in graph.walk()
            if k.kernel.sized_by_simulation}
    simulator = sizing_simulator(graph, len(np.asarray(x)), simulator)
    peak, cycles = _peaks(graph, x, Path(work) / "deep", simulator)
    full = [n for n in deep if peak[n] >= deep[n]]
    if full:
        raise VerificationError(
            f"FIFO sizing: {', '.join(full)} filled up at the simulated depth, so the peak "
            "is not known; lower with deeper FIFOs"
        )
    depth = {n: max(2, peak[n] + MARGIN) for n in deep}
    for round_ in range(ROUNDS):
        sized_peak, sized_cycles = _peaks(
            with_depths(graph, depth), x, Path(work) / f"sized{round_}", simulator)
        if sized_cycles <= cycles * 1.005:  # latency may move by a few cycles
            break
        full = [n for n in depth if sized_peak[n] >= depth[n] and depth[n] < deep[n]]
        if not full:
            break
        depth.update({n: min(deep[n], 2 * depth[n]) for n in full})
    return FifoSizing(deep=deep, peak=peak, depth=depth, cycles=cycles, simulator=simulator)
