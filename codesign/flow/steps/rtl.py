"""The rtl step: the kernel reference checked against FINN's execution, the SystemVerilog
accelerator as built and the test vectors every backend verifies against."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from codesign.errors import VerificationError
from codesign.flow.steps import JSON, StepRun
from codesign.flow.steps.checks import metric_of, score
from codesign.flow.steps.targets import squeezed

if TYPE_CHECKING:
    from qonnx.core.modelwrapper import ModelWrapper

    from codesign.dataflow.graph import StreamGraph
    from codesign.frontend.data import EvalSet


def rtl(
    run: StepRun, *, dataflow: ModelWrapper, parent: ModelWrapper, stream_graph: StreamGraph,
    as_built: StreamGraph, accel_inputs: np.ndarray, test_set: EvalSet,
    graph_outputs: np.ndarray,
) -> JSON:
    from codesign.backends.rtl import emit_rtl
    from codesign.backends.vectors import write_vectors
    from codesign.dataflow.graph import run_reference
    from codesign.dataflow.lower import execute_dataflow, execute_host_tail

    bd, x = run.bd, accel_inputs
    # our bit-accurate model of the kernels must agree with FINN's execution first
    finn_out = execute_dataflow(dataflow, x).reshape(len(x), -1)
    y = run_reference(stream_graph, x)
    mismatch = np.flatnonzero((y != finn_out).any(axis=1))
    if mismatch.size:
        raise VerificationError(
            f"the kernel reference model differs from FINN's execution on test image "
            f"{int(mismatch[0])} ({mismatch.size} images)"
        )
    acc = as_built
    if acc is not stream_graph:
        y = run_reference(acc, x)
    out = execute_host_tail(parent, y)
    project = emit_rtl(acc, bd.dir("rtl", "accel"))
    frames = run.cfg.sim.frames
    meta = write_vectors(acc, x[:frames], y[:frames], bd.dir("vectors"))
    artefacts = [project.top_file, project.filelist, *project.memories, meta]
    return {
        "top": project.top,
        # a squeezed baseline: each layer's P, at which its accumulator wraps
        "squeezed_acc_bits": squeezed(run.cfg, stream_graph) or None,
        f"accelerator_{metric_of(run.cfg).name}": score(run.cfg, out, test_set.y),
        "accelerator_agreement": metric_of(run.cfg).agreement(graph_outputs, out),
        "outputs_differing_from_finn": int((y != finn_out).any(axis=1).sum()),
        "kernels": [
            {"node": k.node, "kernel": k.kind, "module": k.module, "params": k.params}
            for k in acc.nodes
        ],
        "est_ii_cycles": acc.est_ii,
        "est_ii_node": acc.critical_node,
        "words_per_frame": {"in": acc.words_in, "out": acc.words_out},
        "artefacts": [str(a.relative_to(bd.root)) for a in artefacts],
    }
