"""The synth step: per-kernel out-of-context Yosys runs of the accelerator as built (and
of a twin with wide accumulators), summed per design."""

from __future__ import annotations

import json
import shutil
from typing import TYPE_CHECKING

from codesign.flow.steps import JSON, StepRun

if TYPE_CHECKING:
    from codesign.dataflow.graph import StreamGraph


def synth(run: StepRun, *, stream_graph: StreamGraph, as_built: StreamGraph) -> JSON:
    """Per-kernel out-of-context Yosys runs (parallel, cached), summed per design."""
    from codesign.board.registry import get_board
    from codesign.cache import cache_dir
    from codesign.dataflow.graph import with_acc_bits
    from codesign.synth.kernels import synthesize_accelerators

    bd, cfg = run.bd, run.cfg
    designs = {"accelerator": as_built}
    if cfg.synth.compare_acc_bits is not None:
        bits = cfg.synth.compare_acc_bits
        designs[f"acc{bits}"] = with_acc_bits(stream_graph, bits)
    out = bd.path("synth")
    shutil.rmtree(out, ignore_errors=True)  # an earlier key's runs must not read as ours
    out.mkdir()
    resources = synthesize_accelerators(
        designs, get_board(cfg.board), out,
        cache_dir=cache_dir("synth") if cfg.synth.cache else None,
    )
    # results.json gets the outcome; resources.json also the run's timing and cache use
    record = {"board": cfg.board, **{k: r.to_json(timing=True) for k, r in resources.items()}}
    (out / "resources.json").write_text(json.dumps(record, indent=2) + "\n")
    result: JSON = {"board": cfg.board, **{k: r.to_json() for k, r in resources.items()}}
    result["artefacts"] = ["synth/resources.json"]
    return result
