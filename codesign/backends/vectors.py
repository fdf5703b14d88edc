"""Test-vector files: what a testbench needs to verify any implementation of a graph.

A vectors folder holds ``meta.json`` (stream widths, words per frame, frames, the
analytical II) plus ``input.hex`` and ``expected.hex`` (one stream word per line). The
accelerator testbench knows the design only through its AXI-Stream ports and these files,
so the same folder verifies our RTL or HLS-generated RTL alike.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from codesign.backends.words import pack_words
from codesign.dataflow.graph import StreamGraph


def _hex_lines(words: list[int], bits: int) -> str:
    digits = (bits + 3) // 4
    return "".join(f"{w:0{digits}x}\n" for w in words)


def write_vectors(
    acc: StreamGraph,
    x: npt.ArrayLike,
    y: npt.ArrayLike,
    out_dir: Path,
) -> Path:
    """Write the stream words of inputs ``x`` and expected outputs ``y`` (one row per frame).

    ``x`` and ``y`` hold the integers the accelerator consumes and emits (the dataflow
    graph's input and output tensors, flattened per frame in stream order).
    """
    xi = np.asarray(x).reshape(len(np.asarray(x)), -1)
    yi = np.asarray(y).reshape(len(xi), -1)
    if not (np.array_equal(xi, np.rint(xi)) and np.array_equal(yi, np.rint(yi))):
        raise ValueError("test vectors must hold integers")
    xi, yi = xi.astype(np.int64), yi.astype(np.int64)
    inp, out = acc.inp, acc.out
    want_in, want_out = acc.words_in * inp.elems, acc.words_out * out.elems
    if xi.shape[1] != want_in or yi.shape[1] != want_out:
        raise ValueError(
            f"frames of {xi.shape[1]} inputs / {yi.shape[1]} outputs do not fit the "
            f"accelerator's {acc.words_in} / {acc.words_out} words per frame "
            f"({want_in} / {want_out} values)"
        )
    in_words = pack_words(xi, inp.elem_bits, inp.elems)
    out_words = pack_words(yi, out.elem_bits, out.elems)
    frames = len(xi)
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    (d / "input.hex").write_text(_hex_lines(in_words, inp.tdata_bits))
    (d / "expected.hex").write_text(_hex_lines(out_words, out.tdata_bits))
    meta: dict[str, Any] = {
        "frames": frames,
        "in": {"tdata_bits": inp.tdata_bits, "words_per_frame": acc.words_in},
        "out": {"tdata_bits": out.tdata_bits, "words_per_frame": acc.words_out,
                "elem_bits": out.elem_bits, "elems": out.elems, "signed": out.signed},
        "ovf_monitors": [k.node for k in acc.monitored],
        "est_ii_cycles": acc.est_ii,
        "files": {"input": "input.hex", "expected": "expected.hex"},
    }
    path = d / "meta.json"
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path


def read_hex(path: Path) -> list[int]:
    """Stream words of a ``.hex`` vectors file."""
    return [int(line, 16) for line in Path(path).read_text().split()]
