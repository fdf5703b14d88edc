"""The accelerator as a stream graph: kernel instances as nodes, AXI-Streams as edges.

Read from FINN's folded dataflow child: every HW node becomes a
:class:`~codesign.dataflow.kernels.KernelInstance` through the kernel registry, every tensor
between them a stream :class:`Edge` (format, words per frame). A node may have several
streamed inputs and outputs (DuplicateStreams, an elementwise add, attention's dynamic
matmul), so fan-out and joins are explicit nodes. Everything after lowering (reference
execution, top-level wiring, estimates, FIFO sizing, the overflow proof) walks this
graph in topological order; nothing re-reads the ONNX graph.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from qonnx.core.modelwrapper import ModelWrapper

from codesign.dataflow.kernels import IntArray, KernelInstance, StreamFormat, kernel_for
from codesign.errors import LoweringError


@dataclass(frozen=True)
class Port:
    """Streamed port ``index`` of node ``node`` (inputs and outputs counted apart)."""

    node: str
    index: int


@dataclass(frozen=True)
class Edge:
    """One AXI-Stream: produced by ``src`` (None: a graph input), consumed by ``dst``
    (None: a graph output)."""

    name: str
    fmt: StreamFormat
    words: int
    """Stream words per frame."""
    src: Port | None
    dst: Port | None


@dataclass(frozen=True)
class StreamGraph:
    """Kernel instances (in topological order) and the streams between them."""

    name: str
    nodes: tuple[KernelInstance, ...]
    edges: tuple[Edge, ...]

    # ------------------------------------------------------------- structure

    def node(self, name: str) -> KernelInstance:
        """The node called ``name``, in this graph or inside a loop's body."""
        for _, k in self.walk():
            if k.node == name:
                return k
        raise KeyError(name)

    def walk(self) -> Iterator[tuple[str, KernelInstance]]:
        """Every kernel instance with its hierarchical instance path, in order, a loop's
        body after the loop node (``u_loop_body.u_fifo``: the body is one module instance
        beside its loop controller, see :func:`body_instance`)."""
        for k in self.nodes:
            yield k.instance_name, k
            if k.body is not None:
                for path, inner in k.body.walk():
                    yield f"{body_instance(k)}.{path}", inner

    @property
    def inputs(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.src is None)

    @property
    def outputs(self) -> tuple[Edge, ...]:
        return tuple(e for e in self.edges if e.dst is None)

    def in_edges(self, node: str) -> tuple[Edge, ...]:
        """The node's input streams, by port index."""
        found = [e for e in self.edges if e.dst is not None and e.dst.node == node]
        return tuple(sorted(found, key=lambda e: e.dst.index if e.dst else 0))

    def out_edges(self, node: str) -> tuple[Edge, ...]:
        """The node's output streams, by port index."""
        found = [e for e in self.edges if e.src is not None and e.src.node == node]
        return tuple(sorted(found, key=lambda e: e.src.index if e.src else 0))

    @property
    def input_edge(self) -> Edge:
        """The one input stream (the test vectors and testbenches drive one)."""
        return self._single(self.inputs, "input")

    @property
    def output_edge(self) -> Edge:
        return self._single(self.outputs, "output")

    @property
    def inp(self) -> StreamFormat:
        return self.input_edge.fmt

    @property
    def out(self) -> StreamFormat:
        return self.output_edge.fmt

    @property
    def words_in(self) -> int:
        return self.input_edge.words

    @property
    def words_out(self) -> int:
        return self.output_edge.words

    def _single(self, edges: tuple[Edge, ...], what: str) -> Edge:
        if len(edges) != 1:
            names = ", ".join(e.name for e in edges)
            raise LoweringError(
                f"accelerator {self.name} has {len(edges)} {what} streams ({names}); the "
                "test vectors and testbenches drive one input and one output stream"
            )
        return edges[0]

    # ------------------------------------------------------------- estimates

    @property
    def est_ii(self) -> int:
        """FINN's analytical initiation interval: the slowest node's cycles per frame
        (every path of a feed-forward dataflow graph runs at that rate)."""
        return max(k.est_cycles for k in self.nodes)

    @property
    def critical_node(self) -> str:
        """The node that sets :attr:`est_ii`."""
        return max(self.nodes, key=lambda k: k.est_cycles).node

    @property
    def monitored(self) -> tuple[KernelInstance, ...]:
        """Kernels with an accumulator overflow monitor, in :meth:`walk` order (bit i of
        ``ovf``), those inside loop bodies included."""
        return tuple(k for _, k in self.walk() if k.has_ovf)

    # ------------------------------------------------------------- derived graphs

    def map_nodes(self, fn: Callable[[KernelInstance], KernelInstance], name: str) -> StreamGraph:
        """The same graph with every node replaced by ``fn(node)`` (same ports), inside
        loop bodies too; a stream takes its producer's new format, which its consumer
        must accept."""
        nodes: dict[str, KernelInstance] = {}
        for k in self.nodes:  # topological: every producer is mapped before its consumers
            if k.body is not None:
                k = dataclasses.replace(k, body=k.body.map_nodes(fn, k.body.name))
            new = fn(k)
            for e in self.in_edges(k.node):
                if e.src is not None and e.dst is not None:
                    fmt = nodes[e.src.node].outputs[e.src.index]
                    new = new.kernel.with_input_format(new, e.dst.index, fmt)
            nodes[k.node] = new
        edges = tuple(
            e if e.src is None
            else dataclasses.replace(e, fmt=nodes[e.src.node].outputs[e.src.index])
            for e in self.edges
        )
        return StreamGraph(name=name, nodes=tuple(nodes.values()), edges=edges)


def body_instance(k: KernelInstance) -> str:
    """Instance name of a loop's body module in the module that holds the loop."""
    return f"{k.instance_name}_body"


def top_ports(graph: StreamGraph) -> tuple[dict[str, str], dict[str, str]]:
    """Top-level AXI-Stream port prefix of each graph input and output edge: ``s_axis``
    and ``m_axis`` for the usual one of each, else ``s{i}_axis`` / ``m{i}_axis`` (the same
    names in every backend's top, so one testbench drives any of them)."""

    def names(edges: tuple[Edge, ...], side: str) -> dict[str, str]:
        if len(edges) == 1:
            return {edges[0].name: f"{side}_axis"}
        return {e.name: f"{side}{i}_axis" for i, e in enumerate(edges)}

    return names(graph.inputs, "s"), names(graph.outputs, "m")


def stream_names(graph: StreamGraph) -> dict[str, str]:
    """An identifier per edge for a backend's top: its port prefix (:func:`top_ports`) for
    a graph port, ``e{i}`` for the i-th edge between two kernels."""
    s_names, m_names = top_ports(graph)
    names = {**s_names, **m_names}
    inner = (e for e in graph.edges if e.src is not None and e.dst is not None)
    for i, e in enumerate(inner):
        names[e.name] = f"e{i}"
    return names


def single_kernel(k: KernelInstance, name: str) -> StreamGraph:
    """A graph of one kernel alone, every streamed port a graph port (for per-kernel
    synthesis and the overflow proof)."""
    edges = [
        Edge(f"{k.node}_in{i}", fmt, k.words_in[i], None, Port(k.node, i))
        for i, fmt in enumerate(k.inputs)
    ] + [
        Edge(f"{k.node}_out{i}", fmt, k.words_out[i], Port(k.node, i), None)
        for i, fmt in enumerate(k.outputs)
    ]
    return StreamGraph(name=name, nodes=(k,), edges=tuple(edges))


def side_by_side(kernels: Sequence[KernelInstance], name: str) -> StreamGraph:
    """Independent kernels in one graph, every streamed port of each a graph port (one
    compile for many kernel unit tests); node names must differ."""
    names = [k.node for k in kernels]
    if len(set(names)) != len(names):
        raise LoweringError(f"side_by_side: node names repeat in {names}")
    edges = [e for k in kernels for e in single_kernel(k, name).edges]
    return StreamGraph(name=name, nodes=tuple(kernels), edges=tuple(edges))


def chain(name: str, kernels: Sequence[KernelInstance]) -> StreamGraph:
    """A linear graph of single-stream kernels, each feeding the next."""
    edges = [Edge("in", kernels[0].inp, kernels[0].words_in[0], None, Port(kernels[0].node, 0))]
    for a, b in itertools.pairwise(kernels):
        edges.append(Edge(f"{a.node}_out", a.out, a.words_out[0], Port(a.node, 0),
                          Port(b.node, 0)))
    last = kernels[-1]
    edges.append(Edge("out", last.out, last.words_out[0], Port(last.node, 0), None))
    return StreamGraph(name=name, nodes=tuple(kernels), edges=tuple(edges))


def with_acc_bits(graph: StreamGraph, bits: int) -> StreamGraph:
    """The same accelerator (weights, folding, streams) with every accumulator ``bits``
    wide and signed.

    Wider than FINN's minimized width gives the cost of conservative accumulators (e.g.
    32 bits) at the same folding; narrower squeezes them, and the RTL then wraps.
    """
    return graph.map_nodes(lambda k: k.kernel.with_acc_bits(k, bits), f"{graph.name}_acc{bits}")


def with_layer_acc_bits(graph: StreamGraph, bits: Mapping[str, int]) -> StreamGraph:
    """:func:`with_acc_bits` per layer: each node named in ``bits`` with its accumulator
    that wide and signed, the others as they are."""
    return graph.map_nodes(
        lambda k: k.kernel.with_acc_bits(k, bits[k.node]) if k.node in bits else k,
        f"{graph.name}_acc_layers",
    )


# --------------------------------------------------------------------------- reading


def _streamed_inputs(k: KernelInstance, node: object) -> list[str]:
    return list(node.input[: len(k.inputs)])  # type: ignore[attr-defined]


def read_graph(child: ModelWrapper, name: str = "accel") -> StreamGraph:
    """Read FINN's folded dataflow child into a stream graph.

    Raises :class:`LoweringError` naming a node with no kernel (and listing the supported
    ops), a stream with several consumers (FINN's DuplicateStreams makes fan-out
    explicit), or a width mismatch between producer and consumer.
    """
    if not child.graph.node:
        raise LoweringError("the dataflow graph has no nodes")
    instances: dict[str, KernelInstance] = {}
    producers: dict[str, Port] = {}
    consumers: dict[str, Port] = {}
    for node in child.graph.node:
        k = kernel_for(node).read(child, node)
        instances[node.name] = k
        for i, tensor in enumerate(node.output[: len(k.outputs)]):
            producers[tensor] = Port(node.name, i)
        for i, tensor in enumerate(_streamed_inputs(k, node)):
            if tensor in consumers:
                other = consumers[tensor].node
                raise LoweringError(
                    f"stream {tensor} feeds both {other} and {node.name}; a stream has one "
                    "consumer (convert_to_hw puts a duplicating HW layer at every fork)"
                )
            consumers[tensor] = Port(node.name, i)
    graph_in = {t.name for t in child.graph.input}
    graph_out = {t.name for t in child.graph.output}
    edges = []
    for tensor in sorted(set(producers) | set(consumers)):
        src, dst = producers.get(tensor), consumers.get(tensor)
        if src is None and tensor not in graph_in:
            raise LoweringError(f"stream {tensor} into {dst.node if dst else '?'} has no producer")
        if dst is None and tensor not in graph_out:
            raise LoweringError(f"stream {tensor} out of {src.node if src else '?'} is never read")
        fmt, words = _edge_format(instances, tensor, src, dst)
        edges.append(Edge(tensor, fmt, words, src, dst))
    nodes = _topological(instances, edges)
    return StreamGraph(name=name, nodes=nodes, edges=tuple(edges))


def _edge_format(
    instances: dict[str, KernelInstance], tensor: str, src: Port | None, dst: Port | None
) -> tuple[StreamFormat, int]:
    ends = []
    if src is not None:
        k = instances[src.node]
        ends.append((k.node, k.outputs[src.index], k.words_out[src.index]))
    if dst is not None:
        k = instances[dst.node]
        ends.append((k.node, k.inputs[dst.index], k.words_in[dst.index]))
    (first, fmt, words), *rest = ends
    for other, ofmt, owords in rest:
        if ofmt.tdata_bits != fmt.tdata_bits or owords != words:
            raise LoweringError(
                f"stream {tensor} mismatch between {first} ({fmt.tdata_bits} bits x {words} "
                f"words) and {other} ({ofmt.tdata_bits} bits x {owords} words): run InsertDWC "
                "when lowering"
            )
    return fmt, words


def _topological(instances: dict[str, KernelInstance], edges: Sequence[Edge]) -> tuple[
        KernelInstance, ...]:
    """Kahn's order (ties in graph order); a cycle is an error naming its nodes."""
    preds: dict[str, set[str]] = {n: set() for n in instances}
    for e in edges:
        if e.src is not None and e.dst is not None:
            preds[e.dst.node].add(e.src.node)
    order: list[str] = []
    ready = [n for n in instances if not preds[n]]
    while ready:
        n = ready.pop(0)
        order.append(n)
        for m in instances:
            if n in preds[m]:
                preds[m].discard(n)
                if not preds[m] and m not in order and m not in ready:
                    ready.append(m)
    if len(order) != len(instances):
        stuck = ", ".join(n for n in instances if n not in order)
        raise LoweringError(f"the dataflow graph has a cycle through: {stuck}")
    return tuple(instances[n] for n in order)


# --------------------------------------------------------------------------- reference


def run_reference(graph: StreamGraph, x: npt.ArrayLike) -> IntArray:
    """The accelerator's integer outputs for integer inputs ``x`` (one row per frame),
    each kernel's golden function applied in topological order.

    It computes what the RTL computes, including accumulators that wrap (a baseline
    squeezed to P bits); for accumulators that hold every sum it must equal FINN's
    execution of the dataflow graph, which the flow checks on the whole test set.
    """
    data = np.asarray(x)
    if not np.array_equal(data, np.rint(data)):
        raise ValueError("accelerator inputs must be integers")
    values = {graph.input_edge.name: np.rint(data).astype(np.int64).reshape(len(data), -1)}
    for k in graph.nodes:
        ins = [values.pop(e.name) for e in graph.in_edges(k.node)]
        outs = k.kernel.golden(k, ins)
        for e, y in zip(graph.out_edges(k.node), outs, strict=True):
            values[e.name] = np.asarray(y, dtype=np.int64).reshape(len(data), -1)
    return values[graph.output_edge.name]
