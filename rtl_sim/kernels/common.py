"""Helpers shared by the kernel testbenches (run inside the simulator under cocotb 2.x).

The pytest side passes a JSON configuration in the ``CS_TB_CONFIG`` environment
variable: kernel parameters, the seed, pause probabilities and paths of data files it
wrote into the build directory.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections.abc import Iterator
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotb.utils import get_sim_steps
from cocotbext.axi import AxiStreamBus, AxiStreamFrame, AxiStreamSink, AxiStreamSource

from codesign.backends.words import tdata_bits

CLOCK_NS = 10
CONFIG_ENV = "CS_TB_CONFIG"


def config() -> dict[str, Any]:
    """The testbench configuration written by the pytest side."""
    raw = os.environ.get(CONFIG_ENV)
    if raw is None:
        raise RuntimeError(
            f"{CONFIG_ENV} is not set: run this testbench through codesign.verify.simulators"
        )
    cfg: dict[str, Any] = json.loads(raw)
    return cfg


def pauses(rng: random.Random, probability: float) -> Iterator[bool]:
    """Endless random pause pattern: True (stall) with the given probability per cycle."""
    while True:
        yield rng.random() < probability


async def start(dut: Any) -> None:
    """Start the clock on ap_clk and hold ap_rst_n low for a few cycles."""
    Clock(dut.ap_clk, CLOCK_NS, unit="ns").start()
    dut.ap_rst_n.value = 0
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    await ClockCycles(dut.ap_clk, 4)
    dut.ap_rst_n.value = 1
    await RisingEdge(dut.ap_clk)


def stream_ends(
    dut: Any, rng: random.Random | None, in_pause: float, out_pause: float
) -> tuple[AxiStreamSource, AxiStreamSink]:
    """cocotbext-axi source on s_axis and sink on m_axis, one word per beat
    (byte_lanes=1), with random pause generators when ``rng`` is given."""
    src = AxiStreamSource(
        AxiStreamBus.from_prefix(dut, "s_axis"), dut.ap_clk, dut.ap_rst_n,
        reset_active_level=False, byte_lanes=1,
    )
    snk = AxiStreamSink(
        AxiStreamBus.from_prefix(dut, "m_axis"), dut.ap_clk, dut.ap_rst_n,
        reset_active_level=False, byte_lanes=1,
    )
    for end in (src, snk):
        end.log.setLevel(logging.WARNING)  # per-beat INFO logging is slow
    if rng is not None:
        if in_pause > 0:
            src.set_pause_generator(pauses(random.Random(rng.random()), in_pause))
        if out_pause > 0:
            snk.set_pause_generator(pauses(random.Random(rng.random()), out_pause))
    return src, snk


async def send_words(src: AxiStreamSource, words: list[int]) -> None:
    """Queue ``words`` on the source, one word per beat."""
    await src.send(AxiStreamFrame(list(words)))


def junk_pad(words: list[int], payload_bits: int, rng: random.Random) -> list[int]:
    """Fill the pad bits above ``payload_bits`` (up to the byte-aligned tdata width) with
    random values: kernels must ignore them on input."""
    pad = tdata_bits(payload_bits) - payload_bits
    return [w | (rng.getrandbits(pad) << payload_bits) if pad else w for w in words]


async def recv_words(snk: AxiStreamSink, count: int) -> list[tuple[int, int]]:
    """Receive ``count`` words as (word, sim time in steps of the first beat)."""
    out = []
    for _ in range(count):
        frame = await snk.recv()
        out.append((int(frame.tdata[0]), int(frame.sim_time_start or 0)))
    return out


def compare(
    got: list[int], expected: list[int], words_per_frame: int, what: str = "output"
) -> list[str]:
    """Mismatch messages naming frame, word index within the frame, expected and got."""
    errors = []
    if len(got) != len(expected):
        errors.append(f"{what}: {len(got)} words received, {len(expected)} expected")
    for i, (g, e) in enumerate(zip(got, expected, strict=False)):
        if g != e:
            errors.append(
                f"{what} mismatch: frame {i // words_per_frame}, word {i % words_per_frame} "
                f"(stream word {i}): expected 0x{e:x}, got 0x{g:x}"
            )
    return errors


def check(errors: list[str], limit: int = 20) -> None:
    """Fail the cocotb test with the first ``limit`` mismatch messages."""
    if errors:
        shown = "\n".join(errors[:limit])
        more = f"\n... {len(errors) - limit} more" if len(errors) > limit else ""
        raise AssertionError(f"{len(errors)} mismatches:\n{shown}{more}")


async def stream_and_check(
    src: AxiStreamSource, snk: AxiStreamSink, words_in: list[int], expected: list[int],
    words_per_frame: int, what: str = "output",
) -> list[tuple[int, int]]:
    """Send ``words_in``, receive as many words as ``expected`` holds and fail the test
    on any mismatch; returns the received (word, sim time) pairs for cycle counts."""
    cocotb.start_soon(send_words(src, words_in))
    got = await recv_words(snk, len(expected))
    check(compare([g for g, _ in got], expected, words_per_frame, what))
    return got


def stop_stalls(src: AxiStreamSource, snk: AxiStreamSink) -> None:
    """Both stream ends at full rate from now on (for the cycle measurement)."""
    for end in (src, snk):
        end.clear_pause_generator()
        end.pause = False


def cycles(sim_steps: float) -> float:
    """Clock cycles in a span of simulation time steps."""
    return sim_steps / get_sim_steps(CLOCK_NS, "ns")
