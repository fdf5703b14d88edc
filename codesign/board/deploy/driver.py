"""Runtime driver of a codesign accelerator on a PYNQ board (Zynq, AXI DMA).

This file is copied as it is into the deployment folder, beside ``packing.json``, the
bitstream and its ``.hwh``; on the board it needs only numpy and pynq (PYNQ >= 2.7, whose
DMA channels take ``transfer(buffer, start, nbytes)``). pynq is imported when an overlay
is loaded, not at import, so the packing runs (and is tested) anywhere.

Word format (the one the cocotb testbench streams, codesign.backends.words): a frame is
``words_per_frame`` stream words; word ``w`` holds ``elems`` elements of ``elem_bits``,
element 0 in the LSBs, two's complement when signed. The DMA moves each word as one
``dma_bits`` beat (the word zero-extended), little-endian in memory. The accelerator
ends every output frame with TLAST, so the driver receives one frame per S2MM transfer,
each into a slot aligned to the DMA's memory-mapped width (it has no realignment engine).

On the board::

    from driver import Accelerator
    acc = Accelerator()            # loads codesign_accel.bit / .hwh from this folder
    y = acc.run(x)                 # x: integers as the accelerator consumes them
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["Accelerator", "Stream", "pack", "unpack"]


@dataclass(frozen=True)
class Stream:
    """One stream of ``packing.json``."""

    elem_bits: int
    elems: int
    signed: bool
    dma_bits: int
    words_per_frame: int
    mm_bits: int

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Stream:
        return cls(int(d["elem_bits"]), int(d["elems"]), bool(d["signed"]),
                   int(d["dma_bits"]), int(d["words_per_frame"]), int(d["mm_bits"]))

    @property
    def values_per_frame(self) -> int:
        return self.words_per_frame * self.elems

    @property
    def frame_bytes(self) -> int:
        return self.words_per_frame * self.dma_bits // 8

    @property
    def slot_bytes(self) -> int:
        """A frame's room in a receive buffer: its bytes rounded up to the memory-mapped
        width, so every frame's S2MM transfer starts at an aligned address."""
        align = self.mm_bits // 8
        return -(-self.frame_bytes // align) * align


def pack(values: Any, s: Stream) -> np.ndarray:
    """Integers (frames x values per frame, in stream order) to DMA bytes (frames x
    frame_bytes, uint8).

    >>> s = Stream(elem_bits=4, elems=2, signed=True, dma_bits=8, words_per_frame=2, mm_bits=32)
    >>> pack([[1, 2, 3, -1]], s).tolist()
    [[33, 243]]
    """
    v = np.asarray(values)
    if v.ndim == 1:
        v = v[None, :]
    v = v.reshape(len(v), -1)
    if v.shape[1] != s.values_per_frame:
        raise ValueError(
            f"a frame holds {v.shape[1]} values; the accelerator takes {s.values_per_frame} "
            f"({s.words_per_frame} words of {s.elems})"
        )
    if not np.array_equal(v, np.rint(v)):
        raise ValueError("the accelerator takes integers")
    v = v.astype(np.int64)
    lo = -(1 << (s.elem_bits - 1)) if s.signed else 0
    hi = (1 << (s.elem_bits - (1 if s.signed else 0))) - 1
    if v.size and (int(v.min()) < lo or int(v.max()) > hi):
        raise ValueError(
            f"values outside the {'signed' if s.signed else 'unsigned'} {s.elem_bits}-bit "
            f"range [{lo}, {hi}]"
        )
    frames = len(v)
    u = v.astype(np.uint64) & np.uint64((1 << s.elem_bits) - 1)  # two's complement bits
    shifts = np.arange(s.elem_bits, dtype=np.uint64)
    bits = ((u[..., None] >> shifts) & np.uint64(1)).astype(np.uint8)  # LSB first
    bits = bits.reshape(frames, s.words_per_frame, s.elems * s.elem_bits)
    beat = np.zeros((frames, s.words_per_frame, s.dma_bits), np.uint8)
    beat[..., : bits.shape[-1]] = bits
    return np.packbits(beat, axis=-1, bitorder="little").reshape(frames, s.frame_bytes)


def unpack(data: Any, s: Stream) -> np.ndarray:
    """DMA bytes (frames x frame_bytes) back to integers (frames x values per frame).

    >>> s = Stream(elem_bits=4, elems=2, signed=True, dma_bits=8, words_per_frame=2, mm_bits=32)
    >>> unpack([[33, 243]], s).tolist()
    [[1, 2, 3, -1]]
    """
    b = np.asarray(data, dtype=np.uint8)
    b = b.reshape(-1, s.words_per_frame, s.dma_bits // 8)
    bits = np.unpackbits(b, axis=-1, bitorder="little")[..., : s.elems * s.elem_bits]
    bits = bits.reshape(len(b), s.words_per_frame * s.elems, s.elem_bits).astype(np.uint64)
    u = (bits << np.arange(s.elem_bits, dtype=np.uint64)).sum(axis=-1, dtype=np.uint64)
    out = u.astype(np.int64) if s.elem_bits < 64 else u.view(np.int64)
    if s.signed and s.elem_bits < 64:
        out = np.where(out >= (1 << (s.elem_bits - 1)), out - (1 << s.elem_bits), out)
    return out.reshape(len(b), s.values_per_frame)


def _load_pynq(bitfile: Path) -> tuple[Any, Callable[..., Any]]:
    from pynq import Overlay, allocate  # board side only

    return Overlay(str(bitfile)), allocate


def _cache(buf: Any, op: str) -> None:
    """``flush`` / ``invalidate`` a pynq buffer (plain arrays have no cache to keep)."""
    fn = getattr(buf, op, None)
    if fn is not None:
        fn()


class Accelerator:
    """The accelerator behind its AXI DMA.

    ``overlay`` and ``allocate`` default to pynq's ``Overlay(bitstream)`` and
    ``pynq.allocate``; pass others to run the same code against a model of the board.
    """

    def __init__(self, folder: str | Path | None = None, overlay: Any = None,
                 allocate: Callable[..., Any] | None = None) -> None:
        self.folder = Path(folder) if folder is not None else Path(__file__).resolve().parent
        self.meta = json.loads((self.folder / "packing.json").read_text())
        self.inp = Stream.from_json(self.meta["in"])
        self.out = Stream.from_json(self.meta["out"])
        if overlay is None:
            bitfile = self.folder / self.meta["bitstream"]
            if not bitfile.is_file():
                raise FileNotFoundError(
                    f"{bitfile} is missing: build it with Vivado ({self.meta['build']})"
                )
            overlay, allocate = _load_pynq(bitfile)
        if allocate is None:
            raise ValueError("give allocate together with overlay")
        self.overlay = overlay
        self.allocate = allocate
        self.dma = getattr(overlay, self.meta["dma"])
        # one MM2S transfer moves at most this many bytes (the DMA's length register)
        self.max_frames = max(1, ((1 << self.meta["dma_length_bits"]) - 1)
                              // self.inp.frame_bytes)

    def run(self, x: Any) -> np.ndarray:
        """Outputs (frames x output values) for inputs ``x`` (frames x input values, or
        frames x the graph's input shape), in batches the DMA can move."""
        v = np.asarray(x)
        frames = v.shape[0] if v.ndim > 1 else 1
        v = v.reshape(frames, -1)
        outs = [self._batch(v[i:i + self.max_frames])
                for i in range(0, frames, self.max_frames)]
        return np.concatenate(outs)

    def _batch(self, v: np.ndarray) -> np.ndarray:
        frames = len(v)
        data = pack(v, self.inp)
        ibuf = self.allocate(shape=(frames * self.inp.frame_bytes,), dtype=np.uint8)
        obuf = self.allocate(shape=(frames * self.out.slot_bytes,), dtype=np.uint8)
        ibuf[:] = data.reshape(-1)
        _cache(ibuf, "flush")  # cacheable buffers: the DMA reads memory, not the cache
        send, recv = self.dma.sendchannel, self.dma.recvchannel
        send.transfer(ibuf)
        for f in range(frames):  # TLAST ends each S2MM transfer after one frame
            recv.transfer(obuf, start=f * self.out.slot_bytes, nbytes=self.out.frame_bytes)
            recv.wait()
        send.wait()
        _cache(obuf, "invalidate")
        got = np.asarray(obuf).reshape(frames, self.out.slot_bytes)[:, : self.out.frame_bytes]
        y = unpack(got, self.out)
        for buf in (ibuf, obuf):
            if hasattr(buf, "freebuffer"):
                buf.freebuffer()
        return y
