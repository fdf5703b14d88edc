"""cocotb testbench for FIFO sizing: the frames of ``input.hex`` through the accelerator at
its steady-state rate, each frame a burst (frame k may start at cycle k x ``frame_cycles``
and streams as fast as the design accepts it, as a DMA would send it), output always
ready; then the cycles taken and the peak occupancy of every FIFO instance named in the
configuration, read through the hierarchy, into the report.

An input that is always valid would fill every FIFO upstream of the slowest node, which
says nothing about the depth the pipeline needs; at the design's own rate a FIFO holds
only what the bursts and the skew between branches put into it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

from codesign.backends.vectors import read_hex
from rtl_sim.kernels.common import config, start


@cocotb.test()
async def fifo_peaks(dut: Any) -> None:
    cfg = config()
    d = Path(cfg["vectors"])
    meta = json.loads((d / "meta.json").read_text())
    words_in = read_hex(d / meta["files"]["input"])
    n_out = len(read_hex(d / meta["files"]["expected"]))
    await start(dut)
    dut.m_axis_tready.value = 1
    sent = received = cycles = 0
    per_frame, frame_cycles = cfg["words_per_frame"], cfg["frame_cycles"]
    limit = cfg["cycle_limit"]
    while received < n_out:
        if sent < len(words_in) and cycles >= (sent // per_frame) * frame_cycles:
            dut.s_axis_tvalid.value = 1
            dut.s_axis_tdata.value = words_in[sent]
        else:
            dut.s_axis_tvalid.value = 0
        await RisingEdge(dut.ap_clk)
        cycles += 1
        if dut.s_axis_tvalid.value and dut.s_axis_tready.value:
            sent += 1
        if dut.m_axis_tvalid.value:
            received += 1
        assert cycles < limit, (
            f"no progress within {limit} cycles: {sent} of {len(words_in)} input words "
            f"accepted, {received} of {n_out} output words"
        )
    await ClockCycles(dut.ap_clk, 2)
    peaks = {path: int(_find(dut, f"{path}.{signal}").value)
             for path, signal in cfg["buffers"].items()}
    Path(cfg["report"]).write_text(json.dumps({"cycles": cycles, "peaks": peaks}) + "\n")


def _find(dut: Any, path: str) -> Any:
    """The handle at a dotted hierarchical ``path`` below ``dut`` (a FIFO inside a loop's
    body is ``u_loop_body.u_fifo``)."""
    handle = dut
    for part in path.split("."):
        handle = getattr(handle, part)
    return handle
