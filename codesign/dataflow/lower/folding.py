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

from collections.abc import Sequence

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.config import LayerFold
from codesign.dataflow.kernels import kernel_for
from codesign.dataflow.lower._graph import is_hw_node, is_own_node, specialized_copy
from codesign.errors import LoweringError

MVAU_WWIDTH_MAX = 36
"""Widest weight stream per PE (bits) FINN's SetFolding grows SIMD to (its default)."""


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
    spec = _fold_pass(specialized_copy(child, part), target_cycles)
    slowest = max(
        (int(getCustomOp(n).get_exp_cycles()) for n in spec.graph.node if is_hw_node(n)),
        default=0,
    )
    if slowest > target_cycles:
        spec = _fold_pass(spec, slowest)
    _copy_folding(spec, child)
    validate_folding(child)
    return child


def weighted_layers(child: ModelWrapper) -> list[object]:
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
        found = ", ".join(f"{n.name} ({n.op_type})" for n in weighted)  # type: ignore[attr-defined]
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
    skip = [n.name for n in weighted]  # type: ignore[attr-defined]
    spec = _fold_pass(specialized_copy(child, part), max(slowest, 1), skip)
    _copy_folding(spec, child, skip=skip)
    validate_folding(child)
    return child
