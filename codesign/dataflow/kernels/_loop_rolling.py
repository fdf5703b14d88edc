"""Rolling T identical copies of a stream sub-graph into one loop node (our ``ODELoop``).

A weight-shared block called T times (an ODE's Euler steps) is traced T times by the
export, and lowering makes T identical chains of HW nodes of it. Here the dataflow child
is read as a sequence of node *signatures* in topological order: the op, its attributes,
the values of its initializers, and for each streamed input the distance back to its
producer (translation-invariant, so two copies of one sub-graph have equal signatures
position by position). A run of T equal periods whose copies each take one stream in
and give one stream out is a loop (an input from before a copy counts as "outside", so
the first copy, fed by the graph's prefix, matches the others): the first copy becomes
the body, every copy leaves the graph, and one loop node with the body as a graph
attribute takes their place.

FINN's ``loop_rolling.py`` finds loops from the PyTorch module hierarchy kept in node
metadata (``pkg.torch.onnx.name_scopes``) and turns per-copy weights into streamed
parameters; here the copies' weights are equal, so the body keeps them as constants, and
the structure alone finds the loop, after folding and FIFO insertion made every copy's
nodes final.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from onnx import GraphProto, NodeProto, helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.transformation.general import RemoveUnusedTensors
from qonnx.util.basic import qonnx_make_model

from codesign.errors import LoweringError


@dataclass(frozen=True)
class Run:
    """``count`` copies of ``period`` nodes, the first starting at node ``start``."""

    start: int
    period: int
    count: int

    def copy(self, i: int) -> range:
        first = self.start + i * self.period
        return range(first, first + self.period)


@dataclass(frozen=True)
class Signatures:
    """Per node: a digest of its op, domain, attributes and initializers (values and
    data types), and for each streamed input its producer (node index, output slot;
    None for a graph input)."""

    own: list[str]
    producers: list[list[tuple[int, int] | None]]

    def window(self, start: int, length: int) -> tuple[object, ...]:
        """The signature of nodes ``start .. start + length - 1`` as a sub-graph: each
        node's own digest and its inputs as distances back to producers inside the
        window, or "outside" (translation-invariant, so equal copies compare equal)."""
        sig: list[object] = []
        for i in range(start, start + length):
            ins = tuple(
                "outside" if p is None or p[0] < start else (i - p[0], p[1])
                for p in self.producers[i]
            )
            sig.append((self.own[i], ins))
        return tuple(sig)


def signatures(model: ModelWrapper, nodes: Sequence[NodeProto]) -> Signatures:
    """The :class:`Signatures` of ``nodes`` (topologically sorted)."""
    index = {out: (i, slot) for i, n in enumerate(nodes) for slot, out in enumerate(n.output)}
    own, producers = [], []
    for node in nodes:
        h = hashlib.sha256(f"{node.domain}/{node.op_type}".encode())
        for attr in sorted(node.attribute, key=lambda a: a.name):
            h.update(attr.SerializeToString())
        streams: list[tuple[int, int] | None] = []
        for name in node.input:
            init = model.get_initializer(name)
            if init is not None:
                h.update(f"init:{init.dtype}:{init.shape}:{model.get_tensor_datatype(name)}"
                         .encode())
                h.update(init.tobytes())
            else:
                streams.append(index.get(name))
        own.append(h.hexdigest())
        producers.append(streams)
    return Signatures(own, producers)


def periodic_runs(sigs: Signatures) -> Iterator[Run]:
    """Every maximal run of at least two equal periods, most nodes covered first (then
    the shorter period, then the earlier start)."""
    n = len(sigs.own)
    runs = []
    for period in range(1, n // 2 + 1):
        for start in range(n - 2 * period + 1):
            first = sigs.window(start, period)
            count = 1
            while (start + (count + 1) * period <= n
                   and sigs.window(start + count * period, period) == first):
                count += 1
            if count >= 2:
                runs.append(Run(start, period, count))
    yield from sorted(runs, key=lambda r: (-r.period * r.count, r.period, r.start))


def _ports(model: ModelWrapper, nodes: Sequence[NodeProto]) -> tuple[list[str], list[str]]:
    """The streams into and out of a set of nodes (initializers are not streams)."""
    produced = {t for n in nodes for t in n.output}
    names = {n.name for n in nodes}
    graph_out = {t.name for t in model.graph.output}
    ins = [t for n in nodes for t in n.input
           if t not in produced and model.get_initializer(t) is None]
    outs = [t for n in nodes for t in n.output
            if t in graph_out or any(c.name not in names for c in model.find_consumers(t))]
    return list(dict.fromkeys(ins)), outs


def _body(model: ModelWrapper, nodes: Sequence[NodeProto], inp: str, out: str) -> GraphProto:
    """The copy ``nodes`` as a graph of its own: its initializers, shapes and data types."""
    tensors = {t for n in nodes for t in (*n.input, *n.output)}
    inits = [i for i in model.graph.initializer if i.name in tensors]
    infos = {vi.name: vi for vi in (*model.graph.input, *model.graph.output,
                                    *model.graph.value_info)}
    missing = [t for t in (inp, out) if t not in infos]
    if missing:
        raise LoweringError(f"loop rolling: no shape for stream(s) {', '.join(missing)}")
    inner = [infos[t] for t in sorted(tensors - {inp, out}) if t in infos]
    graph = helper.make_graph(
        [NodeProto.FromString(n.SerializeToString()) for n in nodes], "loop_body",
        [infos[inp]], [infos[out]], initializer=inits, value_info=inner,
    )
    body = ModelWrapper(qonnx_make_model(graph))
    for t in sorted(tensors):
        body.set_tensor_datatype(t, model.get_tensor_datatype(t))
    return body.model.graph


def roll_loops(
    model: ModelWrapper,
    iterations: int,
    make_node: Callable[[str, str, GraphProto, int], NodeProto],
) -> ModelWrapper:
    """Roll the run of ``iterations`` identical copies into one node made by
    ``make_node(input, output, body, iterations)``; a LoweringError says what was found
    when no such run exists."""
    nodes = list(model.graph.node)
    found = []
    for run in periodic_runs(signatures(model, nodes)):
        found.append(f"{run.count} copies of {run.period} nodes from {nodes[run.start].name}")
        if run.count != iterations:
            continue
        ports = [_ports(model, [nodes[i] for i in run.copy(c)]) for c in range(run.count)]
        if not all(len(ins) == 1 and len(outs) == 1 for ins, outs in ports):
            continue
        first = [nodes[i] for i in run.copy(0)]
        body = _body(model, first, ports[0][0][0], ports[0][1][0])
        loop = make_node(ports[0][0][0], ports[-1][1][0], body, iterations)
        for i in range(run.start, run.start + run.period * run.count):
            model.graph.node.remove(nodes[i])
        model.graph.node.insert(run.start, loop)
        return model.transform(RemoveUnusedTensors())
    seen = "; ".join(found[:3]) or "no repeated sub-graph"
    raise LoweringError(
        f"loop rolling: the dataflow graph has no {iterations} identical copies of a block "
        f"with one stream in and one out (found: {seen})"
    )
