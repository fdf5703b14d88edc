"""Each accumulating layer's own P, from the config's layer plan: what the lower step
records, the overflow proof checks and a squeezed baseline is built with. Kept apart from
the graph loaders so that the steps reading it take none of their imports."""

from __future__ import annotations

from typing import TYPE_CHECKING

from codesign.errors import LoweringError

if TYPE_CHECKING:
    from codesign.config import FlowConfig
    from codesign.dataflow.graph import StreamGraph


def layer_targets(cfg: FlowConfig, graph: StreamGraph) -> dict[str, int | None]:
    """Each accumulating layer's P by node name, in graph order (loop bodies included):
    the config's layer plan (:meth:`FlowConfig.layer_plan`), whose entries follow the
    model's weighted layers; None: unconstrained (and always for a user's model). A plan
    that differs between layers needs one accumulating layer per weighted layer."""
    nodes = [k.node for _, k in graph.walk() if k.kernel.has_accumulator]
    plan = cfg.layer_plan()
    if plan is None:
        return dict.fromkeys(nodes)
    targets = [q.acc_bits for q in plan]
    if len(set(targets)) == 1:
        return dict.fromkeys(nodes, targets[0])
    if len(nodes) != len(targets):
        raise LoweringError(
            f"the model's {len(targets)} weighted layers have their own P (quant.acc_bits, "
            f"quant.layer_policy), but the dataflow graph has {len(nodes)} accumulating "
            f"layers ({', '.join(nodes)}); give one P for every layer"
        )
    return dict(zip(nodes, targets, strict=True))


def squeezed(cfg: FlowConfig, graph: StreamGraph) -> dict[str, int]:
    """A squeezed baseline's accumulators: each layer with a P, squeezed to it (its
    accumulator then wraps); empty for any other method."""
    if cfg.user_model or cfg.quant.method != "baseline":
        return {}
    return {n: p for n, p in layer_targets(cfg, graph).items() if p is not None}
