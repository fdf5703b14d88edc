"""The lower step: FINN from the front end's graph to the folded dataflow graph, checked
against the graph on the test set; per accumulating layer, its accumulator bounds."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from codesign import bounds
from codesign.errors import VerificationError
from codesign.flow.steps import JSON, StepRun
from codesign.flow.steps.checks import check_hw_graph, differing_rows, metric_of, score
from codesign.flow.steps.targets import layer_targets

if TYPE_CHECKING:
    from pathlib import Path

    from codesign.dataflow.kernels import Accumulator
    from codesign.frontend.data import EvalSet


def lower(run: StepRun, *, graph_file: Path, test_set: EvalSet) -> JSON:
    from codesign.dataflow.graph import read_graph
    from codesign.dataflow.lower import (
        execute_float64,
        execute_parent,
        layer_table,
        load_lowered,
        run_lower,
    )
    from codesign.dataflow.lower.folding import folding_outcome

    cfg, bd = run.cfg, run.bd
    onnx_in = graph_file
    res = run_lower(onnx_in, cfg, bd.root)
    if res.dataflow is None:
        raise VerificationError("lowering produced no dataflow partition")
    parent = load_lowered(res.parent)
    child = load_lowered(res.dataflow)
    x, targets = test_set.x, test_set.y

    source = load_lowered(onnx_in)
    want = execute_float64(source, x)
    got = execute_parent(parent, x)
    check_hw_graph(want, got)
    # float32 execution of the QONNX graph rounds its sums: how often that shows
    float32_differing = differing_rows(want, execute_parent(source, x)).size
    # the graph's own outputs, for the accelerator's agreement with them (rtl step)
    outputs = bd.path("lower", "graph_outputs.npy")
    np.save(outputs, want)

    graph = read_graph(child, name=cfg.name)
    own_p = layer_targets(cfg, graph)
    layers = []
    for info in layer_table(child):
        row = info.as_dict()
        k = graph.node(info.name)
        if (acc := k.kernel.accumulator(k)) is not None:
            row.update(acc_bounds(acc, str(info.weight_dtype)))
            row["acc_bits_finn"] = info.acc_bits
            row["acc_bits_target"] = own_p[info.name]  # the layer's own P
        layers.append(row)
    rel = [str(p.relative_to(bd.root)) for p in (res.parent, res.dataflow, outputs)]
    return {
        "parent": rel[0],
        "dataflow": rel[1],
        "graph_outputs": rel[2],
        f"hw_graph_{metric_of(cfg).name}": score(cfg, got, targets),
        "hw_graph_agreement": metric_of(cfg).agreement(want, got),
        "hw_graph_max_abs_diff": float(np.abs(want - got).max()),
        "qonnx_float32_images_differing": int(float32_differing),
        "layers": layers,
        "folding": folding_outcome(child),
        "artefacts": rel,
    }


def acc_bounds(acc: Accumulator, weight_dtype: str) -> JSON:
    """Accumulator widths of one accumulating layer, from the loosest bound to the
    tightest: the data types', the A2Q bound for its largest L1 norm, the weights'. An
    XNOR-popcount counts 0..fan_in whatever its weights: one bound, no A2Q (the L1 norm
    is that of its ±1 weights, fan_in)."""
    from qonnx.core.datatype import DataType

    if acc.popcount:
        bits = bounds.popcount_acc_bits(acc.fan_in)
        return {
            "fan_in": acc.fan_in, "acc_bits_dtype_bound": bits, "acc_bits_a2q_bound": None,
            "acc_bits_weight_bound": bits, "max_l1_norm": float(acc.fan_in),
            "weight_sparsity": 0.0,
        }
    wdt = DataType[weight_dtype]
    w = acc.weights
    dtype_bits, _ = bounds.dtype_acc_bits(acc.fan_in, acc.in_bits, acc.in_signed, wdt.bitwidth())
    weight_bits, _ = bounds.weight_acc_bits(w, acc.in_bits, acc.in_signed)
    l1 = float(np.abs(w).sum(axis=0).max())
    return {
        "fan_in": acc.fan_in,
        "acc_bits_dtype_bound": dtype_bits,
        "acc_bits_a2q_bound": bounds.a2q_min_acc_bits(l1, acc.in_bits, acc.in_signed),
        "acc_bits_weight_bound": weight_bits,
        "max_l1_norm": l1,
        "weight_sparsity": float((w == 0).mean()),
    }
