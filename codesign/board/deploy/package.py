"""Write ``DIR/deploy/``: what a PYNQ board needs to run the accelerator."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

from codesign.synth.vivado import (
    BITSTREAM,
    DMA_LENGTH_BITS,
    HWH,
    DmaStream,
    VivadoProject,
)
from codesign.synth.vivado_tcl import DMA_CELL

DRIVER = Path(__file__).with_name("driver.py")
MISSING = ".MISSING"


def _stream(s: DmaStream, shape: tuple[int, ...] | None) -> dict[str, Any]:
    rec = s.to_json()
    values = s.words_per_frame * s.elems
    if shape is not None and math.prod(shape) != values:
        raise ValueError(f"shape {shape} holds {math.prod(shape)} values; a frame has {values}")
    # FINN's driver names: the tensor's shape, as stream words, as DMA bytes (batch 1)
    rec["shape_normal"] = [1, *shape] if shape is not None else [1, values]
    rec["shape_folded"] = [1, s.words_per_frame, s.elems]
    rec["shape_packed"] = [1, s.words_per_frame, s.dma_bits // 8]
    return rec


def write_deployment(
    project: VivadoProject, name: str, dest: Path,
    shape_in: tuple[int, ...] | None = None, shape_out: tuple[int, ...] | None = None,
) -> Path:
    """Fill ``dest`` with the driver, ``packing.json`` and the bitstream and ``.hwh``
    (copied from the project where Vivado built them; otherwise a ``<name>.MISSING``
    note for each says how to build it). ``shape_in`` / ``shape_out``: the graph's
    per-frame tensor shapes (without the batch), for the driver's metadata. Returns the
    path of ``packing.json``."""
    d = Path(dest)
    d.mkdir(parents=True, exist_ok=True)
    build = f"cd {project.dir} && {' '.join(project.command())}"
    built = project.bitstream.is_file() and project.hwh.is_file()
    for src, fname in ((project.bitstream, BITSTREAM), (project.hwh, HWH)):
        note = d / (fname + MISSING)
        if built:
            shutil.copyfile(src, d / fname)
            note.unlink(missing_ok=True)
        else:
            (d / fname).unlink(missing_ok=True)
            note.write_text(
                f"{fname} is missing: Vivado did not run here. Build it with\n  {build}\n"
                f"then copy {project.dir / 'out' / fname} into this folder.\n"
            )
    shutil.copyfile(DRIVER, d / "driver.py")
    t = project.target
    meta = {
        "accelerator": name, "board": t.board, "part": t.part, "clock_mhz": t.clock_mhz,
        "bitstream": BITSTREAM, "hwh": HWH, "built": built, "build": build,
        "dma": DMA_CELL, "dma_length_bits": DMA_LENGTH_BITS,
        "in": _stream(project.inp, shape_in), "out": _stream(project.out, shape_out),
    }
    path = d / "packing.json"
    path.write_text(json.dumps(meta, indent=2) + "\n")
    return path
