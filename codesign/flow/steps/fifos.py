"""The fifos step: FIFO depths from a full-rate simulation of the lowered design."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING

import numpy as np

from codesign.flow.steps import JSON, StepRun

if TYPE_CHECKING:
    from codesign.dataflow.graph import StreamGraph

SIZING_FRAMES = 8
"""Frames streamed at full rate to size the FIFOs (the pipeline reaches steady state)."""
SIZING_CYCLES = 20_000_000
"""Cycles (at the estimated II) a sizing run may take: a large frame is sized on fewer
frames, never fewer than two (the second frame overlaps the first's drain, where the
FIFOs peak). A 128x128 CNN at ~1e7 cycles per frame: two frames, not eight."""


def sizing_frames(est_ii: int) -> int:
    """Frames to size the FIFOs on: :data:`SIZING_FRAMES`, fewer when that many frames
    would take more than :data:`SIZING_CYCLES`.

    >>> sizing_frames(1024), sizing_frames(2_000_000), sizing_frames(9_453_377)
    (8, 8, 2)
    """
    return max(2, min(SIZING_FRAMES, SIZING_CYCLES // max(1, est_ii) - 2))


def fifos(run: StepRun, *, finn_graph: StreamGraph, accel_inputs: np.ndarray) -> JSON:
    """FIFO depths from a full-rate simulation of the lowered design (deep FIFOs)."""
    from codesign.dataflow.fifos import size_fifos

    work = run.bd.path("fifos")
    shutil.rmtree(work, ignore_errors=True)
    sizing = size_fifos(finn_graph, accel_inputs[:sizing_frames(finn_graph.est_ii)], work,
                        simulator=run.cfg.sim.simulator)
    return {"depths": sizing.depth, **sizing.to_json()}
