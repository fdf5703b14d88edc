"""cocotb testbench driving ``accel_top`` from Python (``sim.driver: python``).

cocotbext-axi drives s_axis and m_axis_tready with the stall pattern of the HDL harness
(rtl_sim.accel.stalls, same seed, same cycles) and Python compares every word, so this
driver cross-checks the harness and is the one to debug a stream with.

``frames_under_backpressure``: every frame with seeded stalls on both ports;
``throughput``: frames back to back without stalls, for the II and the latency. Both write
the record of rtl_sim.accel.record, as the HDL driver does.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, SimTimeoutError, with_timeout
from cocotb.utils import get_sim_steps, get_sim_time
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from codesign.backends.vectors import read_hex
from rtl_sim.accel import record
from rtl_sim.accel.stalls import seeds, stall_bits
from rtl_sim.kernels.common import CLOCK_NS, config

RESET_CYCLES = 4


def _ends(dut: Any) -> tuple[AxiStreamSource, AxiStreamSink]:
    src = AxiStreamSource(AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk, dut.ap_rst_n,
                          reset_active_level=False, byte_lanes=1)
    snk = AxiStreamSink(AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk, dut.ap_rst_n,
                        reset_active_level=False, byte_lanes=1)
    for end in (src, snk):
        end.log.setLevel(logging.WARNING)  # per-beat INFO logging is slow
    return src, snk


async def _stall(src: AxiStreamSource, snk: AxiStreamSink, clk: Any, states: tuple[int, int],
                 in_pause: float, out_pause: float) -> None:
    """Both ports' stalls from one coroutine (cocotbext-axi's pause generators would take
    one each): what ``set_pause_generator`` does, one Python wake-up per cycle fewer."""
    edge = RisingEdge(clk)
    for stall_in, stall_out in zip(stall_bits(states[0], in_pause),
                                   stall_bits(states[1], out_pause), strict=True):
        src.pause, snk.pause = stall_in, stall_out
        await edge


async def _run(dut: Any, cfg: dict[str, Any], meta: dict[str, Any], frames: int,
               in_pause: float, out_pause: float) -> dict[str, Any]:
    """One run of ``frames`` frames (the vectors repeat when there are fewer)."""
    vectors = record.vectors_dir(cfg)
    words_in = read_hex(vectors / meta["files"]["input"])
    expected = read_hex(vectors / meta["files"]["expected"])
    n_in, n_out = meta["in"]["words_per_frame"], meta["out"]["words_per_frame"]
    total_in, total_out = frames * n_in, frames * n_out
    limits = cfg["limits"]
    period = get_sim_steps(CLOCK_NS, "ns")

    # the clock toggles in the GPI layer (C), not in a Python coroutine: two fewer Python
    # wake-ups per cycle
    Clock(dut.ap_clk, CLOCK_NS, unit="ns", impl="gpi").start()
    dut.ap_rst_n.value = 0
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    await ClockCycles(dut.ap_clk, RESET_CYCLES)
    t0 = get_sim_time("step")  # the edge before cycle 1
    # cocotbext-axi's ends start driving when they are made, whatever the reset level, so
    # they are made at the edge that releases reset; their pause sequences are then the
    # harness's stalls from cycle 1 on (tests/test_sim_drivers.py checks that both drivers
    # see every output word in the same cycle)
    src, snk = _ends(dut)
    if in_pause > 0 or out_pause > 0:
        cocotb.start_soon(_stall(src, snk, dut.ap_clk, seeds(cfg["seed"]), in_pause, out_pause))
    for i in range(total_in):  # one frame per word: the queue tells how many are left
        src.send_nowait(AxiStreamFrame([words_in[i % len(words_in)]]))
    dut.ap_rst_n.value = 1

    received = mismatches = timing = 0
    first: dict[str, int] | None = None
    ends: list[int] = []
    last = 0  # cycle of the last output word
    stalled = None
    while received < total_out:
        try:
            beat = await with_timeout(snk.recv(), (limits["watchdog"] + 1) * CLOCK_NS, "ns")
        except SimTimeoutError:
            left = src.count() + int(dut.s_axis_tvalid.value)
            stalled = record.stalled_stream(
                words_in=total_in - left, words_out=received, totals=(total_in, total_out),
                idle_in=limits["watchdog"] if left and not int(dut.s_axis_tready.value) else 0,
                idle_out=(get_sim_time("step") - t0) // period - last,
                tready=bool(int(dut.s_axis_tready.value)),
                tvalid=bool(int(dut.m_axis_tvalid.value)), finished=True,
            )
            break
        got, want = int(beat.tdata[0]), expected[received % len(expected)]
        last = (int(beat.sim_time_start or 0) - t0) // period
        timing = record.timing_hash(timing, last)
        if got != want:
            if first is None:
                first = {"frame": received // n_out, "word": received % n_out,
                         "expected": want, "got": got}
            mismatches += 1
        received += 1
        if received % n_out == 0:
            ends.append(last)
    if stalled is None:
        await ClockCycles(dut.ap_clk, limits["drain"])
    gaps = [b - a for a, b in itertools.pairwise(ends)]
    return record.counters(
        meta, frames=frames,
        words_in=total_in - src.count() - int(dut.s_axis_tvalid.value),
        words_out=received, mismatches=mismatches, extra_words=snk.count(),
        cycles=last if received == total_out else 0, first=first,
        ovf_bits=int(dut.ovf.value), latency=ends[0] if ends else 0,
        ii=(sum(gaps), len(gaps), min(gaps, default=0), max(gaps, default=0)),
        timing=timing, stalled=stalled,
    )


@cocotb.test()
async def frames_under_backpressure(dut: Any) -> None:
    cfg = config()
    meta = record.meta(cfg)
    frames = cfg.get("frames") or meta["frames"]
    rec = await _run(dut, cfg, meta, frames, cfg["in_pause"], cfg["out_pause"])
    record.conclude(cfg, "frames_under_backpressure", rec, driver="python",
                    in_pause=cfg["in_pause"], out_pause=cfg["out_pause"], **rec)


@cocotb.test()
async def throughput(dut: Any) -> None:
    cfg = config()
    meta = record.meta(cfg)
    rec = await _run(dut, cfg, meta, record.throughput_frames(cfg, meta), 0.0, 0.0)
    record.conclude(cfg, "throughput", rec, **record.throughput(rec, meta))
