"""Host side of the UART shell (``codesign run``): send a build's test frames to the
board and compare each answer with the reference, with the framing of
:mod:`codesign.board.uart_framing` (the one the shell's testbench checks against the RTL).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from codesign.backends.vectors import read_hex
from codesign.board.registry import get_board
from codesign.board.uart_framing import Framing, framing_of_vectors
from codesign.errors import CodesignError, ConfigError


class SerialPort(Protocol):
    """What the client needs of a port (pyserial's ``Serial`` has it)."""

    def write(self, data: bytes, /) -> int | None: ...

    def read(self, size: int = 1, /) -> bytes: ...

    def reset_input_buffer(self) -> None: ...


class BoardTimeoutError(CodesignError):
    """The board did not answer a frame in time."""


@dataclass(frozen=True)
class RunReport:
    frames: int
    mismatches: int
    first_mismatch: int | None
    baud: int
    seconds: float
    outputs: list[list[int]]


def exchange(
    port: SerialPort, framing: Framing, frames: list[list[int]], expected: list[list[int]],
    baud: int,
) -> RunReport:
    """Send each frame, read its answer (one frame's bytes; the port's read timeout
    bounds the wait) and compare it with ``expected``."""
    port.reset_input_buffer()
    outputs: list[list[int]] = []
    mismatches, first = 0, None
    start = time.monotonic()
    for i, (words, want) in enumerate(zip(frames, expected, strict=True)):
        port.write(framing.encode_frame(words))
        answer = b""
        while len(answer) < framing.frame_bytes_out:
            chunk = port.read(framing.frame_bytes_out - len(answer))
            if not chunk:
                raise BoardTimeoutError(
                    f"frame {i}: the board sent {len(answer)} of {framing.frame_bytes_out} "
                    "answer bytes before the timeout; is the bitstream loaded, the port "
                    f"right and the baud {baud}? (the reset button realigns the shell)"
                )
            answer += chunk
        got = framing.decode_frame(answer)
        outputs.append(got)
        if got != want:
            mismatches += 1
            first = i if first is None else first
    return RunReport(
        frames=len(frames), mismatches=mismatches, first_mismatch=first, baud=baud,
        seconds=time.monotonic() - start, outputs=outputs,
    )


def build_frames(vectors: Path, framing: Framing, count: int) -> tuple[
    list[list[int]], list[list[int]]
]:
    """The first ``count`` input frames of a vectors folder and their expected answers."""
    words_in, words_out = read_hex(vectors / "input.hex"), read_hex(vectors / "expected.hex")
    available = len(words_in) // framing.words_in
    n = min(count, available)
    frames = [words_in[i * framing.words_in:(i + 1) * framing.words_in] for i in range(n)]
    expected = [words_out[i * framing.words_out:(i + 1) * framing.words_out] for i in range(n)]
    return frames, expected


def _no_bitstream(build: Path, manifest: dict[str, Any], board: str, port: str) -> str:
    """Why ``build`` cannot be run on ``board``, and the commands that make it runnable:
    a build directory holds one design, and the board is part of the design, so a build
    for another board needs a directory of its own."""
    built_for = manifest.get("config", {}).get("board")
    if built_for in (None, board):
        return (f"{build} holds no open-flow bitstream for {board}; run "
                f"`codesign bitstream CONFIG --board {board} --out {build}` first")
    other = build.with_name(f"{build.name}-{board}")
    return (f"{build} holds a build for {built_for}, not {board} (a build directory holds "
            f"one design); build the bitstream in another directory, then run it there: "
            f"`codesign bitstream CONFIG --board {board} --out {other}` and "
            f"`codesign run --board {board} --port {port} --out {other}`")


def run_on_board(
    build: Path, board: str, port_name: str, *, frames: int = 20, timeout_s: float = 2.0
) -> RunReport:
    """Open ``port_name`` at the baud the build's bitstream was made with and exchange
    ``frames`` test frames of the build in ``build``."""
    import serial  # pyserial

    build = Path(build)
    the_board = get_board(board)
    manifest_path = build / "manifest.json"
    if not manifest_path.is_file():
        raise ConfigError(f"{build} is no build directory (no manifest.json)")
    manifest = json.loads(manifest_path.read_text())
    step = manifest.get("steps", {}).get("bitstream", {})
    result = step.get("result") if step.get("status") == "done" else None
    if not result or result.get("board") != the_board.name or "shell" not in result:
        raise ConfigError(_no_bitstream(build, manifest, the_board.name, port_name))
    baud = int(result["shell"]["baud"])
    vectors = build / "vectors"
    framing = framing_of_vectors(vectors)
    inputs, expected = build_frames(vectors, framing, frames)
    try:
        port = serial.Serial(port_name, baudrate=baud, bytesize=8, parity="N", stopbits=1,
                             timeout=timeout_s)
    except serial.SerialException as exc:
        raise ConfigError(f"cannot open serial port {port_name}: {exc}") from exc
    with port:
        return exchange(port, framing, inputs, expected, baud)
