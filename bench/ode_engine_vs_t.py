"""The ODE engine against the unrolled pipeline for T = 2, 4, 8: Yosys resources.

    python bench/ode_engine_vs_t.py BUILD_DIR [T ...] > bench/results/ode_engine_vs_t.json

BUILD_DIR is a finished ``codesign flow`` build of a shared-block ODE config (its lowered
dataflow graph has one ODELoop node). Per T, two designs of the same body (same weights,
same folding, the FIFO depths the build sized) are synthesized with Yosys for the
build's board: the engine (the loop node alone, ITERATIONS = T: controller, frame buffer
and one body) and the unrolled pipeline (T copies of the body in a chain: what the
``resnet`` variant's hardware is, with its own weights per block). The engine must not
grow with T beyond its counters; the pipeline grows about linearly.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from codesign.backends.rtl import TOP, emit_rtl
from codesign.board.registry import get_board
from codesign.config import FlowConfig
from codesign.dataflow.graph import Edge, Port, StreamGraph, single_kernel
from codesign.dataflow.kernels import KernelInstance
from codesign.dataflow.kernels._base import replace_params
from codesign.synth.yosys import synthesize


def _as_built(build: Path) -> StreamGraph:
    """The build's accelerator with the FIFO depths its fifos step chose."""
    from codesign.dataflow.fifos import with_depths
    from codesign.dataflow.graph import read_graph
    from codesign.dataflow.lower import load_lowered

    steps = json.loads((build / "manifest.json").read_text())["steps"]
    graph = read_graph(load_lowered(build / steps["lower"]["result"]["dataflow"]), name="accel")
    return with_depths(graph, steps["fifos"]["result"]["depths"])


def _renamed(k: KernelInstance, suffix: str) -> KernelInstance:
    return dataclasses.replace(k, node=f"{k.node}{suffix}")


def unrolled(body: StreamGraph, copies: int) -> StreamGraph:
    """``copies`` of ``body`` in a chain (node and stream names suffixed ``_t<i>``)."""
    nodes: list[KernelInstance] = []
    edges: list[Edge] = []
    for i in range(copies):
        sfx = f"_t{i}"
        nodes += [_renamed(k, sfx) for k in body.nodes]
        for e in body.edges:
            src = None if e.src is None else Port(e.src.node + sfx, e.src.index)
            dst = None if e.dst is None else Port(e.dst.node + sfx, e.dst.index)
            if src is None and i > 0:
                continue  # fed by the previous copy's output edge
            if dst is None and i < copies - 1:
                (nxt,) = [x for x in body.edges if x.src is None]
                assert nxt.dst is not None
                dst = Port(nxt.dst.node + f"_t{i + 1}", nxt.dst.index)
            edges.append(dataclasses.replace(e, name=e.name + sfx, src=src, dst=dst))
    return StreamGraph(name=f"{body.name}_x{copies}", nodes=tuple(nodes), edges=tuple(edges))


def _synth(graph: StreamGraph, board: Any, out: Path) -> dict[str, float]:
    project = emit_rtl(graph, out / "rtl", monitor_overflow=False)
    project.stage_memories(out / "yosys")
    result = synthesize(project.sources, TOP, board, out / "yosys")
    return {k: float(v) for k, v in result.totals.items()}


def main(build: Path, steps: list[int]) -> dict[str, Any]:
    cfg = FlowConfig.model_validate(json.loads((build / "manifest.json").read_text())["config"])
    board = get_board(cfg.board)
    graph = _as_built(build)
    (loop,) = [k for k in graph.nodes if k.body is not None]
    assert loop.body is not None
    rows = []
    for t in steps:
        engine = single_kernel(replace_params(loop, ITERATIONS=t), name=f"engine_t{t}")
        rows.append({
            "T": t,
            "engine": _synth(engine, board, build / "bench_ode" / f"engine_t{t}"),
            "unrolled": _synth(unrolled(loop.body, t), board,
                               build / "bench_ode" / f"unrolled_t{t}"),
            "cycles_per_frame": {"engine": t * loop.body.est_ii, "unrolled": loop.body.est_ii},
        })
    return {"build": str(build), "config": cfg.name, "board": board.name,
            "frame_words": loop.words_in[0], "body_ii": loop.body.est_ii, "rows": rows}


if __name__ == "__main__":
    args = sys.argv[1:]
    ts = [int(a) for a in args[1:]] or [2, 4, 8]
    json.dump(main(Path(args[0]), ts), sys.stdout, indent=2)
    print()
