"""Synthesize an existing build's accelerator again with this tree's synthesis code.

    PYTHONPATH=TREE python bench/resynth_build.py BUILD_DIR OUT_DIR [CACHE_DIR] > out.json

Reads the build's folded dataflow graph and measured FIFO depths (``manifest.json``: the
lower and fifos steps' results), emits each kernel with the RTL of the tree on
``PYTHONPATH`` and synthesizes it as the flow's synth step does (per kernel, out of
context). Two trees run on the same build compare their RTL or synthesis recipe on one
netlist-level input, without training, lowering or simulating again: this is how
``bench/results/rtl_datapath.json`` compares the MAC datapath before and after, both
flattened. Prints the totals beside the ones the build recorded, per kernel too.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any


def resynth(build: Path, out: Path, cache: Path | None) -> dict[str, Any]:
    from codesign.board.registry import get_board
    from codesign.dataflow.fifos import with_depths
    from codesign.dataflow.graph import read_graph
    from codesign.dataflow.lower import load_lowered
    from codesign.synth.kernels import synthesize_accelerators

    manifest = json.loads((build / "manifest.json").read_text())
    results = json.loads((build / "results.json").read_text())
    steps = manifest["steps"]
    graph = read_graph(load_lowered(build / steps["lower"]["result"]["dataflow"]),
                       name=results["name"])
    graph = with_depths(graph, steps["fifos"]["result"]["depths"])
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    board = get_board(results["config"]["board"])
    acc = synthesize_accelerators({"accelerator": graph}, board, out, cache_dir=cache)
    design = acc["accelerator"]
    return {
        "build": str(build),
        "total": design.total,
        "recorded": (results.get("resources") or {}).get("accelerator", {}).get("total"),
        "kernels": {k.instance: k.total for k in design.kernels},
        "seconds": round(time.monotonic() - t0, 1),
    }


def main(argv: list[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    cache = Path(argv[3]) if len(argv) == 4 else None
    print(json.dumps(resynth(Path(argv[1]), Path(argv[2]), cache), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
