"""How a kernel's nodes come to exist: the graph transformations of ``convert_to_hw``.

A kernel declares :class:`Lowering` values (FINN's ``Infer*`` transformation that creates
its HW node, or one of ours): when it runs (its guard), what must run before it, and
which ONNX/qonnx ops it lowers. :mod:`codesign.dataflow.lower` builds the convert-to-hw
sequence (:func:`order_lowerings`), the lowerable-op list and the import allowlist from
these declarations, so a new op touches its kernel module only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.base import Transformation

from codesign.errors import LoweringError


@dataclass(frozen=True)
class LoweredOp:
    """An ONNX/qonnx op a lowering turns into HW nodes, for the error messages and the
    untrusted-ONNX allowlist."""

    op_type: str
    becomes: str
    """What it becomes, in words (e.g. "LabelSelect (integer input)")."""
    on_host: bool = False
    """Where FINN does not lower it (float inputs), it may stay on the host after the
    dataflow region (a float bias Add, a TopK over float scores)."""


@dataclass(frozen=True)
class Lowering:
    """One step of ``convert_to_hw``: graph transformations that create a kernel's nodes.

    ``make`` returns fresh transformation objects (FINN is imported only when the
    lowering runs); they are applied in order when any op type of ``guard`` is in the
    graph (an empty guard: always, as FINN's builder runs ``InferDuplicateStreamsLayer``).
    """

    name: str
    """The transformation's name (e.g. ``InferThresholdingLayer``); ``after`` refers to it."""
    make: Callable[[], Sequence[Transformation]]
    guard: tuple[str, ...] = ()
    """Op types whose presence in the graph triggers it; empty: it always runs."""
    after: tuple[str, ...] = ()
    """Lowerings that must run first (FINN's builder order, e.g. thresholds absorbed into
    the MVAU before standalone Thresholding layers are made of the rest)."""
    before: tuple[str, ...] = ()
    """Lowerings that must run later (e.g. the MVAU's, which lowers a MatMul only once
    the op feeding it is a HW layer with an integer output)."""
    last: bool = False
    """Runs after every other lowering (it acts on the HW layers they made)."""
    lowers: tuple[LoweredOp, ...] = ()

    def apply(self, model: ModelWrapper) -> ModelWrapper:
        """``model`` with this lowering applied, or unchanged if the guard does not hold."""
        if self.guard and not any(model.get_nodes_by_op_type(op) for op in self.guard):
            return model
        for transformation in self.make():
            model = model.transform(transformation)
        return model


def order_lowerings(lowerings: Iterable[tuple[str, Lowering]]) -> list[Lowering]:
    """The lowerings (each with the name of the kernel declaring it) in an order that
    honours every ``after``, ``before`` and ``last``; among lowerings free to run, by name, so the
    sequence never depends on the order kernels were loaded. Raise LoweringError naming
    the kernel for a duplicate name, an unknown ``after`` or a cycle."""
    owner: dict[str, str] = {}
    by_name: dict[str, Lowering] = {}
    for kernel, lowering in lowerings:
        if lowering.name in by_name:
            raise LoweringError(
                f"lowering {lowering.name} is declared by kernels {owner[lowering.name]} and "
                f"{kernel}"
            )
        owner[lowering.name], by_name[lowering.name] = kernel, lowering
    last = sorted(n for n, lw in by_name.items() if lw.last)
    need: dict[str, set[str]] = {}
    for name, lowering in by_name.items():
        unknown = sorted(set(lowering.after + lowering.before) - set(by_name))
        if unknown:
            raise LoweringError(
                f"kernel {owner[name]}: lowering {name} is ordered against unknown "
                f"lowering(s) {', '.join(unknown)}; known: {', '.join(sorted(by_name))}"
            )
        need.setdefault(name, set()).update(lowering.after)
        if lowering.last:
            need[name].update(set(by_name) - set(last))
        for later in lowering.before:
            need.setdefault(later, set()).add(name)
    order: list[Lowering] = []
    while need:
        ready = sorted(n for n, deps in need.items() if not deps)
        if not ready:
            raise LoweringError(f"lowerings wait on each other: {', '.join(sorted(need))}")
        order.append(by_name[ready[0]])
        del need[ready[0]]
        for deps in need.values():
            deps.discard(ready[0])
    return order


class ReplaceNodes(Transformation):
    """Replace each node of ``op_types`` outside codesign's HW domain, one per pass and in
    its place (graph order kept), by the HW node ``convert(model, node)`` builds; a node
    ``convert`` refuses raises its :class:`~codesign.errors.LoweringError`."""

    def __init__(self, op_types: tuple[str, ...],
                 convert: Callable[[ModelWrapper, Any], Any]) -> None:
        super().__init__()
        self.op_types = op_types
        self.convert = convert

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        for index, node in enumerate(model.graph.node):
            # __package__ is DOMAIN, which kernels/__init__ defines after importing this
            if node.op_type in self.op_types and node.domain != __package__:
                model.graph.node.remove(node)
                model.graph.node.insert(index, self.convert(model, node))
                return model, True
        return model, False
