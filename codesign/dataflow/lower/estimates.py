"""FINN's cycle and resource estimates on the generic graph, and the per-layer table.

FINN's analyses ``exp_cycles_per_layer`` and ``res_estimation`` only visit specialized
nodes (``*_hls``/``*_rtl``); on a generic node the LUT/DSP models are not defined
(the generic ``MVAU`` reports 0 LUT). So the estimates are computed by FINN's own
analyses on a specialized *copy* of the child (``SpecializeLayers`` for the board's
part, which picks ``MVAU_hls`` or ``MVAU_rtl`` exactly as the vendor flow would) and
written back onto the generic nodes as FINN's own annotation attributes
``cycles_estimate`` (int) and ``res_estimate`` (``str(dict)``, as ``AnnotateResources``
writes it). Nodes FINN does not specialize (codesign's own ops) are estimated by their
kernel (:meth:`~codesign.dataflow.kernels.Kernel.estimate`); a kernel whose hardware
differs from FINN's model of the specialized variant corrects FINN's figures
(:meth:`~codesign.dataflow.kernels.Kernel.finn_resources`: the MVAU's and VVAU's LUTs and
DSPs follow their ``resType`` and accumulator width). The part and the op type each
estimate refers to are recorded in the model metadata.
"""

from __future__ import annotations

import ast
import json
from dataclasses import asdict, dataclass, field, fields
from functools import partial
from typing import Any, cast

from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.dataflow.kernels import kernel_for
from codesign.dataflow.lower._graph import (
    FPGAPART_PROP,
    is_hw_node,
    is_own_node,
    specialized_copy,
)
from codesign.errors import LoweringError

IMPL_PROP = "codesign.dataflow.lower.estimate_impl"
"""Model metadata key: JSON {node name: op type (FINN's specialized one, or our own) the
estimate refers to}."""


def _finn_estimates(child: ModelWrapper, part: str) -> dict[str, tuple[int, Any, str]]:
    """FINN's estimates of its generic HW nodes, by output tensor: (cycles, resources,
    specialized op type), from its analyses on the specialized copy."""
    from finn.analysis.fpgadataflow.exp_cycles_per_layer import exp_cycles_per_layer
    from finn.analysis.fpgadataflow.res_estimation import res_estimation

    spec = specialized_copy(child, part)
    cycles = cast(dict[str, int], spec.analysis(exp_cycles_per_layer))
    resources = cast(
        dict[str, dict[str, Any]], spec.analysis(partial(res_estimation, fpgapart=part))
    )
    return {
        n.output[0]: (int(cycles[n.name]), resources[n.name], n.op_type)
        for n in spec.graph.node
        if n.name in cycles
    }


def annotate_estimates(child: ModelWrapper, part: str) -> ModelWrapper:
    """Annotate each generic HW node with its estimated cycles and resources: FINN's for
    FINN's nodes, the kernel's own for ours."""
    finn = _finn_estimates(child, part)
    impl: dict[str, str] = {}
    for node in child.graph.node:
        if not is_hw_node(node):
            continue
        if is_own_node(node):
            (cycles, res), impl[node.name] = kernel_for(node).estimate(node, part), node.op_type
        else:
            cycles, finn_res, impl[node.name] = finn[node.output[0]]
            res = kernel_for(node).finn_resources(child, node, part, finn_res)
        inst = getCustomOp(node)
        inst.set_nodeattr("cycles_estimate", cycles)
        inst.set_nodeattr("res_estimate", str(res))
    child.set_metadata_prop(FPGAPART_PROP, part)
    child.set_metadata_prop(IMPL_PROP, json.dumps(impl, sort_keys=True))
    return child


@dataclass(frozen=True)
class LayerInfo:
    """One HW node of the dataflow graph, as its attributes describe it.

    The common fields are read the same way for every node; the op-specific ones come
    from the node's kernel (:meth:`codesign.dataflow.kernels.Kernel.layer_facts`) and stay None
    where they do not apply.
    """

    name: str
    op_type: str
    kernel: str
    """Name of the registered kernel that implements the node."""
    pe: int | None
    simd: int | None
    input_dtype: str | None
    output_dtype: str | None
    cycles: int
    """Estimated cycles per frame at the current folding, the node's kernel's
    (:meth:`~codesign.dataflow.kernels.Kernel.cycles`): the same figure the stream graph's
    estimated II takes its maximum over."""
    lut: float | None
    bram18: float | None
    uram: float | None
    dsp: float | None
    estimate_impl: str | None
    """Specialized op type (e.g. MVAU_hls) FINN's resource estimate refers to."""
    mw: int | None = None
    """Matrix kernels: input features (rows of the weight matrix, MW x MH)."""
    mh: int | None = None
    channels: int | None = None
    """Output channels (MVAU: MH; Thresholding: NumChannels; LabelSelect: Labels)."""
    weight_dtype: str | None = None
    acc_dtype: str | None = None
    """Accumulating kernels: accDataType as left by FINN's MinimizeAccumulatorWidth."""
    weight_count: int | None = None
    """Accumulating kernels: integer weights stored."""
    no_activation: bool | None = None
    """True if the node outputs its accumulator (no thresholds)."""
    n_thresholds: int | None = None
    """Threshold steps per channel."""
    role: str = ""
    """The kernel's :attr:`~codesign.dataflow.kernels.Kernel.role` (e.g. ``attention``)."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Kernel-specific facts (a window's kernel and stride, a padding, ...)."""

    @property
    def input_bits(self) -> int | None:
        return _bits(self.input_dtype)

    @property
    def weight_bits(self) -> int | None:
        return _bits(self.weight_dtype)

    @property
    def output_bits(self) -> int | None:
        return _bits(self.output_dtype)

    @property
    def acc_bits(self) -> int | None:
        return _bits(self.acc_dtype)

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)
        row.update(row.pop("extra"))
        for key in ("input_bits", "weight_bits", "output_bits", "acc_bits"):
            row[key] = getattr(self, key)
        return row


_FACT_FIELDS = frozenset(
    {"mw", "mh", "channels", "weight_dtype", "acc_dtype", "weight_count", "no_activation",
     "n_thresholds"}
)
"""The facts a kernel reports that are LayerInfo fields; the others go to ``extra``."""


def _get(inst: Any, name: str) -> Any:
    try:
        return inst.get_nodeattr(name)
    except (AttributeError, KeyError):
        return None


def _bits(dtype: str | None) -> int | None:
    return None if not dtype else int(DataType[dtype].bitwidth())


def _num(res: dict[str, Any], key: str) -> float | None:
    value = res.get(key)
    return None if value is None else float(value)


def layer_table(child: ModelWrapper, include_infrastructure: bool = False) -> list[LayerInfo]:
    """Per-node facts of a dataflow child, read from node attributes; a loop's row is
    followed by those of its body's nodes.

    Kernels that only move words (FIFOs, width converters) are left out unless
    ``include_infrastructure``. Resource fields are None until the ``estimates`` step has
    annotated the graph.
    """
    impl_prop = child.get_metadata_prop(IMPL_PROP)
    impl = json.loads(impl_prop) if impl_prop else {}
    rows: list[LayerInfo] = []
    for node in child.graph.node:
        if not is_hw_node(node):
            continue
        kernel = kernel_for(node)
        if kernel.moves_words and not include_infrastructure:
            continue
        inst = getCustomOp(node)
        res_str = _get(inst, "res_estimate")
        res: dict[str, Any] = ast.literal_eval(res_str) if res_str else {}
        facts = kernel.layer_facts(child, node)
        clash = facts.keys() & {f.name for f in fields(LayerInfo)} - _FACT_FIELDS
        if clash:  # a kernel's fact would overwrite a common field in the row
            raise LoweringError(f"kernel {kernel.name} reports reserved facts {sorted(clash)}")
        common = {k: facts.pop(k) for k in _FACT_FIELDS & facts.keys()}
        rows.append(
            LayerInfo(
                name=node.name,
                op_type=node.op_type,
                kernel=kernel.name,
                role=kernel.role,
                pe=_get(inst, "PE"),
                simd=_get(inst, "SIMD"),
                input_dtype=inst.get_input_datatype(0).name,
                output_dtype=inst.get_output_datatype(0).name,
                cycles=kernel.cycles(node),
                lut=_num(res, "LUT"),
                bram18=_num(res, "BRAM_18K"),
                uram=_num(res, "URAM"),
                dsp=_num(res, "DSP"),
                estimate_impl=impl.get(node.name),
                extra=facts,
                **common,
            )
        )
        if (body := kernel.body_model(node)) is not None:
            rows += layer_table(body, include_infrastructure)
    return rows
