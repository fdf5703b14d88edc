"""Loaders of what the lowering and the FIFO sizing produced: the lowered graphs, the
stream graph (with the FIFO depths once the fifos step has run), the accelerator as built
and the test inputs as the accelerator receives them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from codesign.errors import VerificationError
from codesign.flow.steps import StepRun

if TYPE_CHECKING:
    from qonnx.core.modelwrapper import ModelWrapper

    from codesign.dataflow.graph import StreamGraph


def _lowered(run: StepRun, which: str) -> ModelWrapper:
    from codesign.dataflow.lower import load_lowered

    lower = run.bd.step_result("lower")
    if lower is None:
        raise VerificationError("the lower step has not finished")
    return load_lowered(run.bd.root / lower[which])


def parent(run: StepRun, get: Callable[[str], Any]) -> ModelWrapper:
    """The lowered graph: host nodes around the dataflow partition."""
    return _lowered(run, "parent")


def dataflow(run: StepRun, get: Callable[[str], Any]) -> ModelWrapper:
    """The lowered graph's dataflow partition (FINN HW nodes, folded)."""
    return _lowered(run, "dataflow")


def graph_outputs(run: StepRun, get: Callable[[str], Any]) -> np.ndarray:
    """The graph's own outputs on the test set, as the lower step saved them."""
    lower = run.bd.step_result("lower")
    if lower is None:
        raise VerificationError("the lower step has not finished")
    return np.load(run.bd.root / lower["graph_outputs"])


def finn_graph(run: StepRun, get: Callable[[str], Any]) -> StreamGraph:
    """The stream graph of the dataflow partition, with the accumulator widths FINN chose
    (and deep FIFOs: the one the fifos step sizes)."""
    from codesign.dataflow.graph import read_graph

    return read_graph(get("dataflow"), name=run.cfg.name)


def stream_graph(run: StepRun, get: Callable[[str], Any]) -> StreamGraph:
    """The FINN graph with the FIFO depths the fifos step measured."""
    from codesign.dataflow.fifos import with_depths

    sized = run.bd.step_result("fifos")
    graph: StreamGraph = get("finn_graph")
    return graph if sized is None else with_depths(graph, sized["depths"])


def as_built(run: StepRun, get: Callable[[str], Any]) -> StreamGraph:
    """The accelerator as built: FINN's widths, or squeezed to P for a squeezed baseline
    (each layer to its own P)."""
    from codesign.dataflow.graph import with_acc_bits, with_layer_acc_bits
    from codesign.flow.steps.targets import layer_targets, squeezed

    graph: StreamGraph = get("stream_graph")
    bits = squeezed(run.cfg, graph)
    if not bits:
        return graph
    widths = set(bits.values())
    if len(widths) == 1 and len(bits) == len(layer_targets(run.cfg, graph)):
        return with_acc_bits(graph, widths.pop())
    return with_layer_acc_bits(graph, bits)


def accel_inputs(run: StepRun, get: Callable[[str], Any]) -> np.ndarray:
    """The test inputs as the accelerator receives them (the host nodes before the
    dataflow partition applied)."""
    from codesign.dataflow.lower import dataflow_input

    return dataflow_input(get("parent"), get("test_set").x)
