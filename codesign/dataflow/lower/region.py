"""The dataflow region after ``convert_to_hw``: one run of HW layers, with only layout
ops on the host before it and only host ops after it; otherwise an error that names the
node at fault and why FINN did not lower it."""

from __future__ import annotations

from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper

from codesign.dataflow.lower._graph import is_hw_node
from codesign.dataflow.ops import HEAD_OPS, host_ops, intermediate_ops, lowered_ops
from codesign.errors import LoweringError


def _supported_ops_text() -> str:
    lowered = "; ".join(f"{op} -> {hw}" for op, hw in lowered_ops().items())
    host = ", ".join(sorted(host_ops()))
    return (
        f"supported in the dataflow region: {lowered}. Allowed on the host after the region: {host}"
    )


def _why_not_lowered(model: ModelWrapper, node: NodeProto, where: str) -> str:
    """Why ``node`` cannot stay where FINN left it (``where`` it is: "inside", "after" or
    "before" the dataflow region), for the lowering error."""
    lowerable, host = {**lowered_ops(), **intermediate_ops()}, host_ops()
    floats = [
        f"{name} is {model.get_tensor_datatype(name).name}"
        for name in node.input
        if name and model.get_initializer(name) is None
        and not model.get_tensor_datatype(name).is_integer()
    ]
    if node.op_type not in lowerable and node.op_type not in host:
        why = f"FINN has no HW layer for {node.op_type}"
    elif node.op_type == "Concat" and (scales := _join_scales(model, node)):
        why = (
            f"its inputs carry different scales ({scales}); FINN's MoveMulPastJoinConcat "
            "moves only equal scalar (or per-channel) scales past a Concat, so it does not "
            "join integer streams: quantize the joined tensors with one shared activation "
            "quantizer (one scale)"
        )
    elif node.op_type in lowerable and floats:
        why = f"FINN lowers {node.op_type} only on integer inputs, but {', '.join(floats)}"
    elif node.op_type in lowerable:
        why = f"FINN did not lower it (to {lowerable[node.op_type]})"
    else:
        why = f"{node.op_type} runs on the host" + (f" ({', '.join(floats)})" if floats else "")
    if where == "inside":
        return (
            f"{why}; FINN supports one dataflow partition, so no host op may sit between HW "
            "layers"
        )
    if where == "before":
        return (
            f"{why}; before the dataflow region only layout ops "
            f"({', '.join(sorted(HEAD_OPS))}) may stay on the host: the accelerator takes the "
            "graph's integer input"
        )
    return f"{why}; after the dataflow region only the host ops listed below may run"


def _join_scales(model: ModelWrapper, node: NodeProto) -> str:
    """The differing scalar scales (Muls) before a join's inputs, in words; "" if its
    inputs are not all scaled by scalar Muls, or the scales agree."""
    scales = []
    for name in node.input:
        producer = model.find_producer(name)
        value = None if producer is None or producer.op_type != "Mul" else (
            model.get_initializer(producer.input[1]))
        if value is None or value.size != 1:
            return ""
        scales.append((producer.name, float(value.item())))
    if len({s for _, s in scales}) < 2:
        return ""
    return ", ".join(f"{name} x {scale:.6g}" for name, scale in scales)


def _reach(model: ModelWrapper, start: list[NodeProto], forward: bool) -> set[str]:
    """Names of the nodes reachable from ``start`` (downstream, or upstream)."""
    seen: set[str] = set()
    todo = list(start)
    while todo:
        n = todo.pop()
        nxt = model.find_direct_successors(n) if forward else model.find_direct_predecessors(n)
        for m in nxt or []:
            if m.name not in seen:
                seen.add(m.name)
                todo.append(m)
    return seen


def host_nodes_inside(model: ModelWrapper) -> list[NodeProto]:
    """The non-HW nodes between HW layers (downstream of one and upstream of another)."""
    nodes = list(model.graph.node)
    hw = [n for n in nodes if is_hw_node(n)]
    after_hw = _reach(model, hw, forward=True)
    before_hw = _reach(model, hw, forward=False)
    return [n for n in nodes if not is_hw_node(n) and n.name in after_hw and n.name in before_hw]


def check_region(model: ModelWrapper) -> None:
    """Raise if a non-HW node sits inside the dataflow region (between HW layers), after
    it without being a host op, or before it without being a layout op."""
    nodes = list(model.graph.node)
    hw = [n for n in nodes if is_hw_node(n)]
    if not hw:
        found = ", ".join(f"{n.name} ({n.op_type})" for n in nodes)
        raise LoweringError(
            f"no node could be lowered to a HW layer; the graph has: {found}. "
            + _supported_ops_text()
        )
    after_hw = _reach(model, hw, forward=True)
    before_hw = _reach(model, hw, forward=False)
    host = [n for n in nodes if not is_hw_node(n)]
    inside = host_nodes_inside(model)
    tail = [n for n in host if n.name in after_hw and n not in inside]
    head = [n for n in host if n.name in before_hw and n not in inside]
    bad_tail = [n for n in tail if n.op_type not in host_ops()]
    bad_head = [n for n in head if n.op_type not in HEAD_OPS]
    known = set(lowered_ops()) | set(intermediate_ops()) | host_ops()
    for where, bad in (("inside", inside), ("after", bad_tail), ("before", bad_head)):
        if not bad:
            continue
        # lead with the ops FINN has no HW layer for at all (the cause, e.g. a Sin), then
        # a Concat of differently scaled streams; the Mul/MatMul they strand follow
        culprits = sorted(bad, key=lambda n: (n.op_type in known, not (
            n.op_type == "Concat" and _join_scales(model, n))))
        listed = ", ".join(f"{n.name} ({n.op_type})" for n in culprits)
        first = culprits[0]
        raise LoweringError(
            f"cannot lower node {first.name} (op type {first.op_type}): "
            f"{_why_not_lowered(model, first, where)}. Non-HW node(s) {where} the dataflow "
            f"region: {listed}. " + _supported_ops_text()
        )
