"""A kernel testbench for any number of AXI-Stream inputs and outputs (run inside the
simulator under cocotb 2.x), for kernels read from a FINN node by the kernel registry.

The pytest side (tests/test_rtl_kernels_dws.py) reads the node into a KernelInstance,
computes the expected output frames with the kernel's golden function and writes, per
streamed port, the frames as .npy files. The configuration (``CS_TB_CONFIG``) names them:

* ``inputs`` / ``outputs``: one entry per port, in the kernel's rtl_ports order: ``prefix``,
  ``elem_bits``, ``elems`` (per word), ``frames`` (an .npy of (frames, values)),
  ``pause`` (per-cycle stall probability of that port);
* ``stall_frames``: the first frames go through under random stalls on every port, the
  rest without stalls, timed: cycles per frame from the first word of each output frame;
* ``result``: where to write ``{"cycles_per_frame": ...}`` (JSON) for the pytest side;
* ``expect_ovf`` (optional): the value the kernel's sticky ``ovf`` port must have at the end.
"""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path
from typing import Any

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_steps
from cocotbext.axi import AxiStreamBus, AxiStreamSink, AxiStreamSource

from codesign.backends.words import pack_words, tdata_bits
from rtl_sim.kernels.common import (
    CLOCK_NS,
    check,
    compare,
    config,
    pauses,
    recv_words,
    send_words,
)


async def start(dut: Any, inputs: list[str], outputs: list[str]) -> None:
    """Start the clock, hold ap_rst_n low for a few cycles with every input stream's tvalid
    and every output stream's tready low."""
    Clock(dut.ap_clk, CLOCK_NS, unit="ns").start()
    dut.ap_rst_n.value = 0
    for prefix in inputs:
        getattr(dut, f"{prefix}_tvalid").value = 0
    for prefix in outputs:
        getattr(dut, f"{prefix}_tready").value = 0
    await ClockCycles(dut.ap_clk, 4)
    dut.ap_rst_n.value = 1
    await RisingEdge(dut.ap_clk)


def _quiet(end: AxiStreamSource | AxiStreamSink) -> None:
    end.log.setLevel(logging.WARNING)  # per-beat INFO logging is slow


class Port:
    """One streamed port of the DUT: its words per frame and its cocotbext-axi end."""

    def __init__(self, dut: Any, spec: dict[str, Any], is_input: bool) -> None:
        self.prefix: str = spec["prefix"]
        self.elem_bits = int(spec["elem_bits"])
        self.elems = int(spec["elems"])
        self.frames = np.load(spec["frames"])
        self.words_per_frame = self.frames.shape[1] // self.elems
        self.pause = float(spec["pause"])
        bus = AxiStreamBus.from_prefix(dut, self.prefix)
        cls = AxiStreamSource if is_input else AxiStreamSink
        self.end = cls(bus, dut.ap_clk, dut.ap_rst_n, reset_active_level=False, byte_lanes=1)
        _quiet(self.end)

    def words(self, frames: slice, rng: random.Random | None = None) -> list[int]:
        """The frames' stream words; with ``rng``, random pad bits (inputs must ignore
        them)."""
        words = pack_words(self.frames[frames], self.elem_bits, self.elems)
        payload = self.elem_bits * self.elems
        pad = tdata_bits(payload) - payload
        if rng is None or pad == 0:
            return words
        return [w | (rng.getrandbits(pad) << payload) for w in words]

    def stalls(self, rng: random.Random | None) -> None:
        """Random stalls with this port's probability (``rng``), or none (None)."""
        if rng is None or self.pause == 0:
            self.end.clear_pause_generator()
            self.end.pause = False
        else:
            self.end.set_pause_generator(pauses(random.Random(rng.random()), self.pause))


async def _phase(ins: list[Port], outs: list[Port], frames: slice, rng: random.Random,
                 what: str) -> list[list[tuple[int, int]]]:
    """Send the frames on every input, receive them on every output (concurrently, so
    each port keeps its own stalls), compare with the expected words."""
    for port in ins:
        cocotb.start_soon(send_words(port.end, port.words(frames, rng)))
    tasks = [cocotb.start_soon(recv_words(port.end, len(port.words(frames))))
             for port in outs]
    got = [await t for t in tasks]
    errors: list[str] = []
    for port, words in zip(outs, got, strict=True):
        errors += compare([w for w, _ in words], port.words(frames), port.words_per_frame,
                          f"{what} {port.prefix}")
    check(errors)
    return got


async def run(dut: Any) -> None:
    """The whole test of a kernel: stalled frames, then timed stall-free frames."""
    cfg = config()
    rng = random.Random(cfg["seed"])
    ins_spec, outs_spec = cfg["inputs"], cfg["outputs"]
    await start(dut, [p["prefix"] for p in ins_spec], [p["prefix"] for p in outs_spec])
    ins = [Port(dut, p, True) for p in ins_spec]
    outs = [Port(dut, p, False) for p in outs_spec]
    n = len(ins[0].frames)
    n_stall = int(cfg["stall_frames"])
    if not 0 <= n_stall <= n - 3:
        raise ValueError(f"stall_frames={n_stall}: need at least 3 of {n} frames for timing")

    for port in ins + outs:
        port.stalls(rng)
    await _phase(ins, outs, slice(0, n_stall), rng, "stalled")

    for port in ins + outs:
        port.stalls(None)
    got = await _phase(ins, outs, slice(n_stall, n), rng, "stall-free")
    # first word of each output frame; the first frame also holds the pipeline fill
    wpf = outs[0].words_per_frame
    firsts = [t for i, (_, t) in enumerate(got[0]) if i % wpf == 0]
    cycles = (firsts[-1] - firsts[1]) / (len(firsts) - 2) / get_sim_steps(CLOCK_NS, "ns")
    dut._log.info("measured %.2f cycles per frame", cycles)

    await ClockCycles(dut.ap_clk, 2)
    result: dict[str, Any] = {"cycles_per_frame": cycles}
    if "expect_ovf" in cfg:
        result["ovf"] = int(dut.ovf.value)
    Path(cfg["result"]).write_text(json.dumps(result))
    if "expect_ovf" in cfg:
        assert result["ovf"] == int(cfg["expect_ovf"]), (
            f"ovf is {result['ovf']}, expected {int(cfg['expect_ovf'])}"
        )
