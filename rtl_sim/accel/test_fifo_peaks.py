"""cocotb testbench for FIFO sizing: the frames of the vectors through the HDL harness
(cs_axis_harness) around the accelerator at its steady-state rate (every input word paced
at ``frame_period`` cycles a frame, as a throttled DMA would send it), output always
ready; then the cycles taken and the peak occupancy of every FIFO instance named in the
configuration, read through the hierarchy, into the report. The streaming runs inside the
simulator; Python only sets the configuration and waits for ``done``.

An input that is always valid would fill every FIFO upstream of the slowest node, which
says nothing about the depth the pipeline needs; at the design's own rate a FIFO holds
only what the skew between producers, consumers and branches puts into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cocotb

from rtl_sim.accel import record
from rtl_sim.accel.harness import run
from rtl_sim.kernels.common import config


@cocotb.test()
async def fifo_peaks(dut: Any) -> None:
    cfg = config()
    meta = record.meta(cfg)
    frames, limits = cfg["frames"], cfg["limits"]
    # no stalls (the seeds only have to be valid); the data are checked by the
    # verification step, sizing measures timing only
    c = await run(dut, frames, 0.0, 0.0, 0, limits, frame_period=cfg["frame_period"])
    totals = (frames * meta["in"]["words_per_frame"], frames * meta["out"]["words_per_frame"])
    if not c["done"] or c["timeout"]:
        stalled = record.stalled_stream(
            words_in=c["words_in"], words_out=c["words_out"], totals=totals,
            idle_in=c["idle_in"], idle_out=c["idle_out"], tready=bool(c["s_axis_tready"]),
            tvalid=bool(c["m_axis_tvalid"]), finished=bool(c["done"]),
        )
        bound = (f"within {limits['max_cycles']} cycles" if not c["done"]
                 else f"(watchdog: {limits['watchdog']} cycles without a transfer)")
        raise AssertionError(f"FIFO sizing run did not finish {bound}: {stalled}")
    peaks = {path: int(_find(dut, f"{path}.{signal}").value)
             for path, signal in cfg["buffers"].items()}
    Path(cfg["report"]).write_text(json.dumps({"cycles": c["cycles"], "peaks": peaks}) + "\n")


def _find(dut: Any, path: str) -> Any:
    """The handle at a dotted hierarchical ``path`` below ``dut`` (a FIFO inside a loop's
    body is ``dut.u_loop_body.u_fifo``, dut the harness's accel_top)."""
    handle = dut
    for part in path.split("."):
        handle = getattr(handle, part)
    return handle
