"""What earlier steps produced, as the inputs later steps declare in the step table.

A product is loaded when the first step that takes it runs (never for a step reused from
an earlier run) and then shared for the rest of the run: the digits split once for train
and export, the lowered graphs and the stream graph once for every step after lower.
Each product's loader lives in a module of :mod:`codesign.flow.steps`, so that it is
part of the code key of every step that takes it (:mod:`codesign.flow.keys`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codesign.flow.steps import StepRun, data, graphs

Loader = Callable[[StepRun, Callable[[str], Any]], Any]


@dataclass(frozen=True)
class Product:
    load: Loader
    needs: tuple[str, ...] = ()
    """The products its loader builds on (their loaders' code is part of its key)."""


PRODUCTS: dict[str, Product] = {
    "split": Product(data.split),
    "test_data": Product(data.test_data, ("split",)),
    "graph_file": Product(data.graph_file),
    "test_set": Product(data.test_set),
    "parent": Product(graphs.parent),
    "dataflow": Product(graphs.dataflow),
    "graph_outputs": Product(graphs.graph_outputs),
    "finn_graph": Product(graphs.finn_graph, ("dataflow",)),
    "stream_graph": Product(graphs.stream_graph, ("finn_graph",)),
    "as_built": Product(graphs.as_built, ("stream_graph",)),
    "accel_inputs": Product(graphs.accel_inputs, ("parent", "test_set")),
}


def loader_modules(names: tuple[str, ...]) -> set[str]:
    """The modules of the loaders of products ``names`` and of what they build on."""
    modules: set[str] = set()
    todo = list(names)
    while todo:
        product = PRODUCTS[todo.pop()]
        modules.add(product.load.__module__)
        todo += product.needs
    return modules


class Products:
    """The products of one run of the flow, each loaded at most once."""

    def __init__(self, run: StepRun) -> None:
        self.run = run
        self._loaded: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name not in self._loaded:
            self._loaded[name] = PRODUCTS[name].load(self.run, self.get)
        return self._loaded[name]
