"""cocotb testbench of the UART shell around the accelerator (``board_top``).

Bytes go in on ``uart_rx`` as a host would send them (8N1 at the shell's bit period,
framing from codesign.board.uart_framing), bytes come back on ``uart_tx``, decoded the same
way; every answer must equal the reference words of its frame (the vectors folder).
The configuration (``CS_TB_CONFIG``): vectors folder, frames, clocks per bit, whether the
board has a reset button and its polarity.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from codesign.backends.vectors import read_hex
from codesign.board.uart_framing import framing_of_vectors
from rtl_sim.kernels.common import CLOCK_NS, config


async def send_byte(dut: Any, value: int, cpb: int) -> None:
    """One 8N1 byte on uart_rx, LSB first, ``cpb`` clock cycles per bit."""
    for bit in [0, *((value >> i) & 1 for i in range(8)), 1]:
        dut.uart_rx.value = bit
        await ClockCycles(dut.clk, cpb)


async def receive_bytes(dut: Any, count: int, cpb: int, timeout: int) -> bytes:
    """``count`` 8N1 bytes from uart_tx, sampled in the middle of each bit."""
    out = bytearray()
    for _ in range(count):
        waited = 0
        while int(dut.uart_tx.value) == 1:
            await RisingEdge(dut.clk)
            waited += 1
            assert waited < timeout, f"no start bit within {timeout} cycles"
        await ClockCycles(dut.clk, cpb // 2)
        assert int(dut.uart_tx.value) == 0, "start bit too short"
        value = 0
        for i in range(8):
            await ClockCycles(dut.clk, cpb)
            value |= int(dut.uart_tx.value) << i
        await ClockCycles(dut.clk, cpb)
        assert int(dut.uart_tx.value) == 1, "stop bit low"
        out.append(value)
    return bytes(out)


@cocotb.test()
async def frames_over_the_uart(dut: Any) -> None:
    cfg = config()
    vectors = Path(cfg["vectors"])
    framing = framing_of_vectors(vectors)
    cpb = int(cfg["clks_per_bit"])
    words_in, expected = read_hex(vectors / "input.hex"), read_hex(vectors / "expected.hex")
    frames = int(cfg["frames"])
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.uart_rx.value = 1
    if cfg["has_reset"]:
        released = 1 if cfg["reset_active_low"] else 0
        dut.rst_btn.value = 1 - released  # pressed for a while, then released
        await ClockCycles(dut.clk, 8)
        dut.rst_btn.value = released
    await ClockCycles(dut.clk, 40)  # the shell's power-on reset (16 cycles) has ended
    await FallingEdge(dut.clk)
    timeout = 40 * cpb * 10 + 100_000
    for f in range(frames):
        words = words_in[f * framing.words_in:(f + 1) * framing.words_in]
        want = expected[f * framing.words_out:(f + 1) * framing.words_out]
        sender = cocotb.start_soon(_send_all(dut, framing.encode_frame(words), cpb))
        answer = await receive_bytes(dut, framing.frame_bytes_out, cpb, timeout)
        await sender
        got = framing.decode_frame(answer)
        assert got == want, f"frame {f}: got {[hex(w) for w in got]}, want {[hex(w) for w in want]}"
    # led[0] is the sticky receive-error flag: off (at its LED polarity) after clean frames
    if cfg["leds"]:
        off = 1 if cfg["led_active_low"] else 0
        assert int(dut.led.value) & 1 == off, "the shell flagged a receive error"
    dut._log.info("%d frames over the UART equal to the reference", frames)


async def _send_all(dut: Any, data: bytes, cpb: int) -> None:
    for byte in data:
        await send_byte(dut, byte, cpb)
