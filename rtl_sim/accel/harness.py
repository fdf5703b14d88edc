"""One run of the HDL streaming harness (``cs_axis_harness``) from cocotb: the cfg_*
inputs set during reset, then a wait for ``done`` and the harness's counters.

The testbenches that drive the harness (rtl_sim.accel.test_harness for verification,
rtl_sim.accel.test_fifo_peaks for FIFO sizing) share it; it holds no cocotb test.
"""

from __future__ import annotations

from typing import Any

from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge, Timer

from rtl_sim.accel.stalls import seeds, threshold
from rtl_sim.kernels.common import CLOCK_NS, config

RESET_CYCLES = 4
COUNTERS = ("done", "timeout", "words_in", "words_out", "frames_done", "mismatches",
            "extra_words", "cycles", "first_frame", "first_word", "first_expected",
            "first_got", "latency", "ii_sum", "ii_count", "ii_min", "ii_max", "idle_in",
            "idle_out", "timing_hash", "ovf", "s_axis_tready", "m_axis_tvalid")


async def run(dut: Any, frames: int, in_pause: float, out_pause: float, seed: int,
              limits: dict[str, int], frame_period: int = 0) -> dict[str, Any]:
    """One run of ``frames`` frames, every input word paced at ``frame_period`` cycles a
    frame (0: as fast as accepted; see the harness's Pacing); returns the harness's
    counters (``done`` 0: ``max_cycles`` passed)."""
    if config().get("internal_clock"):
        clk = dut.clk  # the harness's own clock (CLOCK_HALF > 0): nothing runs per edge
    else:
        clk = dut.ap_clk
        Clock(clk, CLOCK_NS, unit="ns", impl="gpi").start()
    s_in, s_out = seeds(seed)
    dut.ap_rst_n.value = 0
    dut.cfg_frames.value = frames
    dut.cfg_in_stall.value = threshold(in_pause)
    dut.cfg_out_stall.value = threshold(out_pause)
    dut.cfg_in_seed.value = s_in
    dut.cfg_out_seed.value = s_out
    dut.cfg_watchdog.value = limits["watchdog"]
    dut.cfg_drain.value = limits["drain"]
    dut.cfg_frame_period.value = frame_period
    await ClockCycles(clk, RESET_CYCLES)
    dut.ap_rst_n.value = 1
    if not int(dut.done.value):
        await First(RisingEdge(dut.done), Timer(limits["max_cycles"] * CLOCK_NS, "ns"))
    await ReadOnly()  # every register of the edge that raised done has its new value
    return {n: int(getattr(dut, n).value) for n in COUNTERS}
