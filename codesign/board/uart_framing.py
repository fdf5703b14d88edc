"""Byte framing of the UART shell (``rtl/shell/cs_uart_shell.sv``): the one module both
the host client (``codesign run``) and the shell's testbench use.

Every stream word travels as ``ceil(bits / 8)`` bytes, least significant byte first; an
input frame is the accelerator's input words per frame back to back, its answer the
output words per frame. No header, no checksum (8N1 UART underneath): the host sends a
frame and reads its answer before the next one.

>>> f = Framing(in_bits=12, out_bits=4, words_in=2, words_out=1)
>>> f.encode_frame([0xABC, 0x123]).hex()
'bc0a2301'
>>> f.decode_frame(bytes([0x07]))
[7]
>>> f.in_bytes, f.out_bytes, f.frame_bytes_in, f.frame_bytes_out
(2, 1, 4, 1)
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from codesign.errors import ConfigError


def word_bytes(bits: int) -> int:
    """Bytes one word of ``bits`` bits takes on the line."""
    return (bits + 7) // 8


@dataclass(frozen=True)
class Framing:
    """Stream widths and words per frame of one accelerator, as the shell carries them."""

    in_bits: int
    out_bits: int
    words_in: int
    words_out: int

    def __post_init__(self) -> None:
        for key in ("in_bits", "out_bits", "words_in", "words_out"):
            if getattr(self, key) < 1:
                raise ConfigError(f"framing {key} must be >= 1, got {getattr(self, key)}")

    @property
    def in_bytes(self) -> int:
        return word_bytes(self.in_bits)

    @property
    def out_bytes(self) -> int:
        return word_bytes(self.out_bits)

    @property
    def frame_bytes_in(self) -> int:
        return self.in_bytes * self.words_in

    @property
    def frame_bytes_out(self) -> int:
        return self.out_bytes * self.words_out

    def encode_words(self, words: Sequence[int]) -> bytes:
        """The bytes of input stream ``words`` (any number of them)."""
        out = bytearray()
        for w in words:
            if not 0 <= w < (1 << self.in_bits):
                raise ValueError(f"input word {w:#x} does not fit {self.in_bits} bits")
            out += int(w).to_bytes(self.in_bytes, "little")
        return bytes(out)

    def encode_frame(self, words: Sequence[int]) -> bytes:
        """The bytes of one input frame (exactly ``words_in`` words)."""
        if len(words) != self.words_in:
            raise ValueError(f"a frame has {self.words_in} input words, got {len(words)}")
        return self.encode_words(words)

    def decode_words(self, data: bytes) -> list[int]:
        """Output stream words from their bytes (a whole number of words)."""
        if len(data) % self.out_bytes:
            raise ValueError(
                f"{len(data)} bytes are not a whole number of {self.out_bytes}-byte words"
            )
        mask = (1 << self.out_bits) - 1
        n = self.out_bytes
        return [int.from_bytes(data[i:i + n], "little") & mask for i in range(0, len(data), n)]

    def decode_frame(self, data: bytes) -> list[int]:
        """The output words of one frame's answer (exactly ``frame_bytes_out`` bytes)."""
        if len(data) != self.frame_bytes_out:
            raise ValueError(
                f"an answer has {self.frame_bytes_out} bytes, got {len(data)}"
            )
        return self.decode_words(data)

    def to_json(self) -> dict[str, int]:
        return {"in_bits": self.in_bits, "out_bits": self.out_bits,
                "words_in": self.words_in, "words_out": self.words_out,
                "in_bytes": self.in_bytes, "out_bytes": self.out_bytes}


def framing_of_vectors(vectors: Path) -> Framing:
    """The framing of the accelerator a vectors folder (``meta.json``) describes."""
    meta = json.loads((Path(vectors) / "meta.json").read_text())
    return Framing(
        in_bits=int(meta["in"]["tdata_bits"]), out_bits=int(meta["out"]["tdata_bits"]),
        words_in=int(meta["in"]["words_per_frame"]),
        words_out=int(meta["out"]["words_per_frame"]),
    )


def clocks_per_bit(clock_hz: float, baud: int) -> int:
    """Clock cycles per UART bit, refusing a rate the shell cannot hit within 2 %.

    >>> clocks_per_bit(12e6, 115200)
    104
    >>> clocks_per_bit(12e6, 3_000_000)
    4
    >>> clocks_per_bit(12e6, 5_000_000)
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: baud 5000000 at 12 MHz: 2.4 clocks per bit; the shell needs >= 4
    """
    ratio = clock_hz / baud
    cpb = round(ratio)
    if cpb < 4:
        raise ConfigError(
            f"baud {baud} at {clock_hz / 1e6:g} MHz: {ratio:.1f} clocks per bit; "
            "the shell needs >= 4"
        )
    error = abs(clock_hz / cpb - baud) / baud
    if error > 0.02:
        raise ConfigError(
            f"baud {baud} at {clock_hz / 1e6:g} MHz is off by {error:.1%} "
            f"({cpb} clocks per bit); pick a baud within 2 %"
        )
    return cpb
