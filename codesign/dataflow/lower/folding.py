"""Folding (PE/SIMD) of the generic HW layers: explicit per layer, or a cycles target.

FINN's ``SetFolding`` only visits *specialized* nodes (``MVAU_hls``/``MVAU_rtl``,
``Thresholding_hls``/``_rtl``, ``LabelSelect_hls``...) and skips generic ones. Our
backends consume the generic graph, so the target-cycles solver runs FINN's own
``SetFolding`` on a specialized *copy* of the child and copies the chosen PE/SIMD back
onto the generic nodes (matched by output tensor). The generic graph is never
specialized itself. Codesign's own ops, which FINN does not specialize (nor SetFolding
visit), are folded in the same copy by their kernel's own cycle model
(:meth:`~codesign.dataflow.kernels.Kernel.fold_to_target`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.config import FoldConfig, LayerFold
from codesign.dataflow.kernels import kernel_for
from codesign.dataflow.lower._graph import is_hw_node, is_own_node, specialized_copy
from codesign.errors import LoweringError

if TYPE_CHECKING:
    from codesign.board.registry import Board

MVAU_WWIDTH_MAX = 36
"""Widest weight stream per PE (bits) FINN's SetFolding grows SIMD to (its default)."""
FOLDING_PROP = "codesign.folding"
"""Metadata property of the folded dataflow graph: its :class:`FoldingOutcome` (JSON)."""


@dataclass(frozen=True)
class FoldingOutcome:
    """What folding achieved: the slowest node's estimated cycles per frame against the
    target, and FINN's reasons where a node could not be folded further."""

    target_cycles: int | None
    """``fold.target_cycles``; None for an explicit ``fold.layers``."""
    achieved_ii: int
    slowest_node: str
    reasons: tuple[str, ...] = ()

    @property
    def target_met(self) -> bool | None:
        return None if self.target_cycles is None else self.achieved_ii <= self.target_cycles

    def to_json(self) -> dict[str, object]:
        return {**asdict(self), "reasons": list(self.reasons), "target_met": self.target_met}


def folding_outcome(child: ModelWrapper) -> dict[str, object] | None:
    """The outcome recorded on a folded dataflow graph (None before folding)."""
    text = child.get_metadata_prop(FOLDING_PROP)
    return None if text is None else dict(json.loads(text))


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage().strip())


@contextmanager
def _finn_warnings() -> Iterator[list[str]]:
    """FINN's warnings while the block runs (SetFolding logs why a node missed the target
    to ``finn_logger``; they still reach the lower log)."""
    handler = _Collect()
    logger = logging.getLogger("finn_logger")
    logger.addHandler(handler)
    try:
        yield handler.messages
    finally:
        logger.removeHandler(handler)


def _slowest(spec: ModelWrapper) -> tuple[str, int]:
    """The HW node with the most estimated cycles per frame, and that count."""
    cycles = [(int(getCustomOp(n).get_exp_cycles()), n.name)
              for n in spec.graph.node if is_hw_node(n)]
    most, name = max(cycles, default=(0, "-"))
    return name, most


def _record(child: ModelWrapper, spec: ModelWrapper, target: int | None,
            messages: Sequence[str]) -> None:
    # the copy's nodes are specialized and renamed (MVAU_hls_0): name them as the user's
    generic = {n.output[0]: n.name for n in child.graph.node}
    names = {n.name: generic.get(n.output[0], n.name) for n in spec.graph.node}
    # achieved: the kernels' own estimates, the II the stream graph and the report use
    achieved, name = max(((kernel_for(n).cycles(n), n.name) for n in child.graph.node
                          if is_hw_node(n)), default=(0, "-"))
    reasons: list[str] = []
    for m in messages:  # FINN's reasons, once each, in the order it gave them
        if "target" in m or "wider than" in m:
            head, sep, rest = m.partition(": ")
            m = f"{names.get(head, head)}{sep}{rest}"
            if m not in reasons:
                reasons.append(m)
    if target is not None and achieved > target and not any(name in r for r in reasons):
        reasons.append(f"{name}: {achieved} cycles per frame at its widest legal folding")
    outcome = FoldingOutcome(target, achieved, name, tuple(reasons))
    child.set_metadata_prop(FOLDING_PROP, json.dumps(outcome.to_json()))


def validate_folding(child: ModelWrapper) -> None:
    """Check every HW node's folding against its kernel's legal values; raise naming the
    node and the allowed values."""
    for node in child.graph.node:
        if is_hw_node(node):
            kernel_for(node).check_folding(node)


def _copy_folding(src: ModelWrapper, dst: ModelWrapper, skip: Sequence[str] = ()) -> None:
    """Copy the folding attributes from (specialized) ``src`` to the generic nodes of
    ``dst`` (matched by output tensor), except for the nodes named in ``skip``."""
    src_insts = {n.output[0]: getCustomOp(n) for n in src.graph.node if is_hw_node(n)}
    for node in dst.graph.node:
        if not is_hw_node(node) or node.name in skip:
            continue
        src_inst = src_insts.get(node.output[0])
        if src_inst is None:
            continue
        inst = getCustomOp(node)
        for attr in kernel_for(node).legal_folding(inst):
            inst.set_nodeattr(attr, src_inst.get_nodeattr(attr))


def _fold_pass(spec: ModelWrapper, target_cycles: int, skip: Sequence[str] = ()) -> ModelWrapper:
    """One folding pass over a specialized copy: codesign's own ops by their kernels,
    FINN's by its SetFolding without its relaxation pass; the nodes named in ``skip``
    keep their folding (SetFolding folds every node it knows)."""
    from finn.transformation.fpgadataflow.set_folding import SetFolding

    for node in spec.graph.node:
        if is_own_node(node) and node.name not in skip:
            kernel_for(node).fold_to_target(node, target_cycles)
    return spec.transform(
        SetFolding(
            target_cycles_per_frame=target_cycles,
            mvau_wwidth_max=MVAU_WWIDTH_MAX,
            two_pass_relaxation=False,
        )
    )


def fold_to_target(child: ModelWrapper, target_cycles: int, part: str) -> ModelWrapper:
    """Choose the folding of every foldable HW node with FINN's ``SetFolding`` (and, for
    codesign's own ops, their kernels).

    SetFolding grows an MVAU's SIMD (divisors of MW) while the weight stream per PE
    stays within :data:`MVAU_WWIDTH_MAX` bits, then its PE (divisors of MH), until the
    estimated cycles per frame meet ``target_cycles``; other nodes grow their own
    parallelism likewise. If a node cannot meet the target, a second pass balances the
    pipeline to the slowest node: FINN's two-pass relaxation, run here rather than inside
    SetFolding because FINN's pipeline analysis knows only specialized nodes, and the
    slowest node may be one of ours.
    """
    with _finn_warnings() as messages:
        spec = _fold_pass(specialized_copy(child, part), target_cycles)
    slowest = _slowest(spec)[1]
    if slowest > target_cycles:
        spec = _fold_pass(spec, slowest)
    _copy_folding(spec, child)
    validate_folding(child)
    _record(child, spec, target_cycles, messages)
    return child


def weighted_layers(child: ModelWrapper) -> list[NodeProto]:
    """The nodes ``fold.layers`` folds, in graph order: those whose kernel accumulates
    weights (matrix and vector units), each folded by PE and SIMD."""
    return [n for n in child.graph.node if is_hw_node(n) and kernel_for(n).has_accumulator]


def fold_explicit(child: ModelWrapper, layers: Sequence[LayerFold], part: str) -> ModelWrapper:
    """Apply ``fold.layers`` (PE/SIMD per weighted layer, in graph order).

    The other foldable nodes get the folding FINN's SetFolding (or, for our own ops,
    their kernel) picks for the slowest weighted layer's cycle count, so they do not
    become the bottleneck.
    """
    weighted = weighted_layers(child)
    if len(layers) != len(weighted):
        found = ", ".join(f"{n.name} ({n.op_type})" for n in weighted)
        raise LoweringError(
            f"fold.layers has {len(layers)} entries but the dataflow graph has "
            f"{len(weighted)} weighted layers: {found}"
        )
    for node, fold in zip(weighted, layers, strict=True):
        inst = getCustomOp(node)
        inst.set_nodeattr("PE", fold.pe)
        inst.set_nodeattr("SIMD", fold.simd)
    validate_folding(child)
    slowest = max((int(getCustomOp(n).get_exp_cycles()) for n in weighted), default=1)
    skip = [n.name for n in weighted]
    spec = _fold_pass(specialized_copy(child, part), max(slowest, 1), skip)
    _copy_folding(spec, child, skip=skip)
    validate_folding(child)
    _record(child, spec, None, ())
    return child


def set_mac_resources(child: ModelWrapper, fold: FoldConfig, board: Board) -> ModelWrapper:
    """Write where every weighted layer's multipliers go (FINN's ``resType``, ``lut`` or
    ``dsp``) onto its node: ``fold.layers[i].mac_resource``, else ``fold.mac_resource``,
    else the node's own (a user's FINN-ONNX graph), else DSPs where the board has DSP
    blocks and LUTs where it has none. Layers without multipliers (an XNOR-popcount) are
    left alone, and refused where the config names them one by one."""
    weighted = weighted_layers(child)
    per_layer = [f.mac_resource for f in fold.layers] if fold.layers else [None] * len(weighted)
    for i, (node, asked) in enumerate(zip(weighted, per_layer, strict=True)):
        kernel = kernel_for(node)
        own = kernel.mac_resource(node)
        if own is None and asked is None:
            continue
        mode = asked or fold.mac_resource or (own if own in ("lut", "dsp") else None)
        mode = mode or ("dsp" if board.has_dsp else "lut")
        if mode == "dsp" and not board.has_dsp:
            raise LoweringError(
                f"node {node.name} ({node.op_type}) has resType dsp in its graph, but board "
                f"{board.name} has no DSP blocks; set fold.mac_resource: lut"
            )
        try:
            kernel.set_mac_resource(node, mode)
        except LoweringError as err:
            raise LoweringError(f"fold.layers[{i}].mac_resource: {err}") from None
    return child
