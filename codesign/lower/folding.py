"""Folding (PE/SIMD) of the generic HW layers: explicit per layer, or a cycles target.

FINN's ``SetFolding`` only visits *specialized* nodes (``MVAU_hls``/``MVAU_rtl``,
``Thresholding_hls``/``_rtl``, ``LabelSelect_hls``...) and skips generic ones. Our
backends consume the generic graph, so the target-cycles solver runs FINN's own
``SetFolding`` on a specialized *copy* of the child and copies the chosen PE/SIMD back
onto the generic nodes (matched by output tensor). The generic graph is never
specialized itself.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import cast

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.config import LayerFold
from codesign.errors import LoweringError
from codesign.lower._graph import is_hw_node

MVAU_WWIDTH_MAX = 36
"""Widest weight stream per PE (bits) FINN's SetFolding grows SIMD to (its default)."""

# generic op type -> (attribute bounded by which size attribute)
# (a list-valued size attribute, e.g. VVAU's Kernel [kh, kw], bounds by its product)
_FOLD_LIMITS: dict[str, dict[str, str]] = {
    "MVAU": {"PE": "MH", "SIMD": "MW"},
    "VVAU": {"PE": "Channels", "SIMD": "Kernel"},
    "Thresholding": {"PE": "NumChannels"},
    "LabelSelect": {"PE": "Labels"},
    "ConvolutionInputGenerator": {"SIMD": "IFMChannels"},
    "FMPadding": {"SIMD": "NumChannels"},
    "Pool": {"PE": "Channels"},
    "DuplicateStreams": {"PE": "NumChannels"},
}

FOLDING_ATTRS = ("PE", "SIMD", "parallel_window")
"""The attributes SetFolding chooses, copied back wherever the generic node has them
(e.g. ElementwiseAdd's PE; parallel_window of the sliding-window generator)."""


def divisors(n: int) -> list[int]:
    """Legal folding values for a dimension of size ``n``.

    >>> divisors(12)
    [1, 2, 3, 4, 6, 12]
    """
    return [d for d in range(1, n + 1) if n % d == 0]


def _attr(node_inst: object, name: str) -> int:
    value = node_inst.get_nodeattr(name)  # type: ignore[attr-defined]
    if isinstance(value, (list, tuple)):
        return math.prod(int(v) for v in value)
    return int(cast(int, value))


def validate_folding(child: ModelWrapper) -> None:
    """Check PE | MH and SIMD | MW (and PE | channels); raise naming node and legal values."""
    for node in child.graph.node:
        limits = _FOLD_LIMITS.get(node.op_type)
        if limits is None:
            continue
        inst = getCustomOp(node)
        dims = ", ".join(f"{size}={_attr(inst, size)}" for size in limits.values())
        for fold_attr, size_attr in limits.items():
            value = _attr(inst, fold_attr)
            size = _attr(inst, size_attr)
            if value < 1 or size % value != 0:
                allowed = ", ".join(str(d) for d in divisors(size))
                raise LoweringError(
                    f"illegal folding for node {node.name} ({node.op_type}, {dims}): "
                    f"{fold_attr}={value} does not divide {size_attr}={size}; "
                    f"allowed {fold_attr} values: {allowed}"
                )


def _specialized_copy(child: ModelWrapper, part: str) -> ModelWrapper:
    from finn.transformation.fpgadataflow.specialize_layers import SpecializeLayers

    return copy.deepcopy(child).transform(SpecializeLayers(part))


def _by_output(model: ModelWrapper) -> dict[str, object]:
    return {n.output[0]: getCustomOp(n) for n in model.graph.node if is_hw_node(n)}


def _copy_folding(
    src: ModelWrapper, dst: ModelWrapper, op_types: Sequence[str] | None = None
) -> None:
    """Copy the :data:`FOLDING_ATTRS` from (specialized) ``src`` to the generic nodes of
    ``dst`` (all HW nodes, or those of ``op_types``)."""
    src_insts = _by_output(src)
    for node in dst.graph.node:
        if not is_hw_node(node) or (op_types is not None and node.op_type not in op_types):
            continue
        src_inst = src_insts.get(node.output[0])
        if src_inst is None:
            continue
        inst = getCustomOp(node)
        defined = inst.get_nodeattr_types()
        for fold_attr in FOLDING_ATTRS:
            if fold_attr in defined:
                inst.set_nodeattr(fold_attr, _attr(src_inst, fold_attr))


def fold_to_target(child: ModelWrapper, target_cycles: int, part: str) -> ModelWrapper:
    """Choose PE/SIMD for every foldable HW node with FINN's ``SetFolding``.

    SetFolding grows an MVAU's SIMD (divisors of MW) while the weight stream per PE
    stays within :data:`MVAU_WWIDTH_MAX` bits, then its PE (divisors of MH), until the
    estimated cycles per frame meet ``target_cycles``; Thresholding/LabelSelect grow PE.
    If a node cannot meet the target, a second pass balances the pipeline to the
    slowest node (FINN's two-pass relaxation).
    """
    from finn.transformation.fpgadataflow.set_folding import SetFolding

    spec = _specialized_copy(child, part)
    spec = spec.transform(
        SetFolding(target_cycles_per_frame=target_cycles, mvau_wwidth_max=MVAU_WWIDTH_MAX)
    )
    _copy_folding(spec, child)
    validate_folding(child)
    return child


def fold_explicit(child: ModelWrapper, layers: Sequence[LayerFold], part: str) -> ModelWrapper:
    """Apply ``fold.layers`` (PE/SIMD per MVAU, in graph order).

    Other foldable nodes (Thresholding, LabelSelect) get the PE that FINN's SetFolding
    picks for the slowest MVAU's cycle count, so they do not become the bottleneck.
    """
    mvaus = [n for n in child.graph.node if n.op_type == "MVAU"]
    if len(layers) != len(mvaus):
        found = ", ".join(
            f"{n.name} (MW={_attr(getCustomOp(n), 'MW')}, MH={_attr(getCustomOp(n), 'MH')})"
            for n in mvaus
        )
        raise LoweringError(
            f"fold.layers has {len(layers)} entries but the dataflow graph has "
            f"{len(mvaus)} MVAU layers: {found}"
        )
    for node, fold in zip(mvaus, layers, strict=True):
        inst = getCustomOp(node)
        inst.set_nodeattr("PE", fold.pe)
        inst.set_nodeattr("SIMD", fold.simd)
    validate_folding(child)
    others = [n for n in child.graph.node if is_hw_node(n) and n.op_type != "MVAU"]
    if others:
        slowest = max((int(getCustomOp(n).get_exp_cycles()) for n in mvaus), default=1)
        spec = _specialized_copy(child, part)
        from finn.transformation.fpgadataflow.set_folding import SetFolding

        spec = spec.transform(
            SetFolding(target_cycles_per_frame=max(slowest, 1), two_pass_relaxation=False)
        )
        _copy_folding(spec, child, op_types=sorted({n.op_type for n in others}))
        validate_folding(child)
    return child
