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


def fifos(run: StepRun, *, finn_graph: StreamGraph, accel_inputs: np.ndarray) -> JSON:
    """FIFO depths from a full-rate simulation of the lowered design (deep FIFOs)."""
    from codesign.dataflow.fifos import size_fifos

    work = run.bd.path("fifos")
    shutil.rmtree(work, ignore_errors=True)
    sizing = size_fifos(finn_graph, accel_inputs[:SIZING_FRAMES], work,
                        simulator=run.cfg.sim.simulator)
    return {"depths": sizing.depth, **sizing.to_json()}
