"""Synthesize an existing build's accelerator again with this tree's synthesis code.

    PYTHONPATH=TREE python bench/resynth_build.py BUILD_DIR OUT_DIR [CACHE_DIR] > out.json

Reads the build's folded dataflow graph and measured FIFO depths (``manifest.json``: the
lower and fifos steps' results), emits each kernel with the RTL of the tree on
``PYTHONPATH`` and synthesizes it as the flow's synth step does (per kernel, out of
context). Two trees run on the same build compare their RTL or synthesis recipe on one
netlist-level input, without training, lowering or simulating again: this is how
``bench/results/rtl_datapath.json`` compares the MAC datapath before and after, both
flattened. Prints the totals beside the ones the build recorded, per kernel too, for the
accelerator and (where the config asks for it, ``synth.compare_acc_bits``) its twin with
wide accumulators.
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
    from codesign.dataflow.graph import read_graph, with_acc_bits
    from codesign.dataflow.lower import load_lowered
    from codesign.synth.kernels import synthesize_accelerators

    manifest = json.loads((build / "manifest.json").read_text())
    results = json.loads((build / "results.json").read_text())
    steps = manifest["steps"]
    graph = read_graph(load_lowered(build / steps["lower"]["result"]["dataflow"]),
                       name=results["name"])
    graph = with_depths(graph, steps["fifos"]["result"]["depths"])
    designs = {"accelerator": graph}
    if (bits := results["config"].get("synth", {}).get("compare_acc_bits")) is not None:
        designs[f"acc{bits}"] = with_acc_bits(graph, bits)
    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    board = get_board(results["config"]["board"])
    done = synthesize_accelerators(designs, board, out, cache_dir=cache)
    recorded = results.get("resources") or {}
    return {
        "build": str(build),
        "seconds": round(time.monotonic() - t0, 1),
        **{name: {"total": d.total, "recorded": recorded.get(name, {}).get("total"),
                  "kernels": {k.instance: k.total for k in d.kernels}}
           for name, d in done.items()},
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
