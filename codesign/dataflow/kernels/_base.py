"""What every kernel kind provides, and the typed, backend-neutral values it reads.

A :class:`Kernel` is one kind of hardware block (MVAU, Thresholding, FIFO, ...). It is
registered by the op types it implements (FINN's, or ours in codesign's domain) and knows
everything op-specific: how its node comes to exist (its lowerings), how to read its node
(attributes and initializers) into a :class:`KernelInstance`, its golden numpy function,
its cycles and resources, its accumulator (where it accumulates), its legal folding and
its emission per backend. Nothing outside :mod:`codesign.dataflow.kernels` switches on op
type.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import numpy.typing as npt
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign import bounds
from codesign.backends.words import tdata_bits, write_thresh_mem, write_weight_mem
from codesign.dataflow.kernels._lowering import Lowering
from codesign.errors import LoweringError

if TYPE_CHECKING:
    from codesign.dataflow.graph import StreamGraph

Param = int | str
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class StreamFormat:
    """One AXI-Stream: ``elems`` elements of ``elem_bits`` per word, element 0 in the LSBs."""

    elem_bits: int
    elems: int
    signed: bool

    @property
    def tdata_bits(self) -> int:
        return tdata_bits(self.elem_bits * self.elems)


@dataclass(frozen=True)
class Memory:
    """An initialised ROM of a kernel: integer contents and how to lay them out."""

    kind: str  # "weights" | "thresholds"
    values: IntArray
    pe: int
    simd: int
    bits: int
    signed: bool

    @property
    def file_suffix(self) -> str:
        """Weights are one file; thresholds a base name (one file per stage and lane)."""
        return ".mem" if self.kind == "weights" else ""

    def write(self, path: Path) -> list[Path]:
        """Write the ROM files the kernel parameter ``path`` names; returns every file."""
        if self.kind == "weights":
            return [write_weight_mem(self.values, self.pe, self.simd, self.bits, path,
                                     self.signed)]
        return write_thresh_mem(self.values, self.pe, self.bits, path, signed=self.signed)


@dataclass(frozen=True)
class Accumulator:
    """What one accumulating kernel sums: per output channel, ``fan_in`` products of the
    integer weights ``weights[:, c]`` with inputs of the given type, in ``bits`` bits."""

    weights: IntArray
    """(fan_in, channels) integer weights, as one channel's accumulator sees them."""
    in_bits: int
    in_signed: bool
    bits: int
    signed: bool
    popcount: bool = False
    """An XNOR-popcount (binary 0/1 inputs and weights): it counts matches, 0 .. fan_in."""

    def sum_range(self) -> tuple[IntArray, IntArray]:
        """Smallest and largest exact sum per channel over every input of the input type."""
        if self.popcount:
            return bounds.popcount_range(self.weights)
        x_lo, x_hi = bounds.int_range(self.in_bits, self.in_signed)
        return bounds.channel_acc_range(self.weights, x_lo, x_hi)

    def extreme_inputs(self) -> tuple[IntArray, IntArray]:
        """Per channel (rows), the inputs giving its smallest and its largest sum."""
        if self.popcount:
            return bounds.popcount_extreme_inputs(self.weights)
        x_lo, x_hi = bounds.int_range(self.in_bits, self.in_signed)
        return bounds.extreme_inputs(self.weights, x_lo, x_hi)

    @property
    def fan_in(self) -> int:
        return int(self.weights.shape[0])

    @property
    def channels(self) -> int:
        return int(self.weights.shape[1])


@dataclass(frozen=True)
class ThresholdTensor:
    """A node's threshold initializer and the integer type its thresholds are compared
    with (the lowering rounds them exactly: :mod:`codesign.dataflow.lower.exact`)."""

    name: str
    compared: DataType
    dtype_attr: str = ""
    """The node attribute that records the thresholds' data type, if any."""


@dataclass(frozen=True)
class HlsArray:
    """A constant array an HLS kernel takes after its streams (weights, thresholds): the
    top level emits it as ``const cs::rom<bits, signed>::type name[d0][d1]...`` of exactly
    ``values``' shape (hls/cs_common.hpp: ``ap_int<bits>`` / ``ap_uint<bits>`` in synthesis,
    the smallest native integer in C-simulation; the kernel reads it as the former)."""

    name: str
    """C identifier, unique within the call (the top prefixes the instance name)."""
    bits: int
    """Element width: every value fits ``bits`` bits of this signedness."""
    signed: bool
    values: IntArray
    partition: tuple[tuple[int, str], ...] = ()
    """``(dim, how)``: ``#pragma HLS ARRAY_PARTITION`` of dimension ``dim`` (1-based),
    ``how`` one of ``complete``, ``cyclic factor=N``, ``block factor=N``."""


@dataclass(frozen=True)
class HlsCall:
    """How the HLS top calls one kernel: ``function<template_args>(streams..., arrays...)``
    with the streams in the instance's input then output order."""

    header: str
    """File of the hls/ library that defines ``function``, e.g. ``cs_mvau.hpp``."""
    function: str
    """Qualified C++ function, e.g. ``cs::mvau``."""
    template_args: tuple[int, ...]
    """In the order of the C++ template's declaration."""
    arrays: tuple[HlsArray, ...] = ()
    depth: int = 2
    """FIFO depth (words) of the streams this call writes: a StreamingFIFO's depth, which
    the HLS top gives the stream out of its (pass-through) kernel; 2 elsewhere."""


@dataclass(frozen=True)
class KernelInstance:
    """One kernel of the rtl/ library, instantiated for one FINN node.

    ``inputs``/``outputs`` are the node's *streamed* ports in order (a FIFO has one of
    each, DuplicateStreams one in and two out, an elementwise add two in and one out);
    ``words_in``/``words_out`` the stream words per frame on each.
    """

    node: str
    kind: str
    """Name of the registered :class:`Kernel` that reads, simulates and emits it."""
    op_type: str
    module: str
    params: dict[str, Param]
    inputs: tuple[StreamFormat, ...]
    outputs: tuple[StreamFormat, ...]
    words_in: tuple[int, ...]
    words_out: tuple[int, ...]
    est_cycles: int
    """The kernel's estimate of this node's cycles per frame (:meth:`Kernel.cycles`)."""
    memories: dict[str, Memory] = field(default_factory=dict)
    has_ovf: bool = False
    """The module has an overflow monitor: an ``ovf`` output and an ``OVF_MONITOR``
    parameter, which the generated top sets to 0 where it leaves ``ovf`` unconnected."""
    body: StreamGraph | None = None
    """A loop's body: the stream graph the kernel iterates (None for other kernels); the
    graph walks (reference, wiring, FIFO sizing, overflow proof, synthesis) look inside."""

    @property
    def instance_name(self) -> str:
        return "u_" + re.sub(r"[^A-Za-z0-9_]", "_", self.node)

    @property
    def inp(self) -> StreamFormat:
        return self.inputs[0]

    @property
    def out(self) -> StreamFormat:
        return self.outputs[0]

    @property
    def kernel(self) -> Kernel:
        from codesign.dataflow.kernels import kernel_named

        return kernel_named(self.kind)


class Kernel:
    """A kernel kind. Subclasses set the class attributes and implement :meth:`read` and
    :meth:`golden`; accumulating kernels also :meth:`accumulator`, :meth:`with_acc_bits`
    and :meth:`overflow_probe`."""

    name: ClassVar[str]
    """Registry name (also :attr:`KernelInstance.kind`)."""
    op_types: ClassVar[tuple[str, ...]]
    """The generic op types this kernel implements (FINN's, or ours in :attr:`custom_ops`)."""
    lowerings: ClassVar[tuple[Lowering, ...]] = ()
    """The transformations of ``convert_to_hw`` that create this kernel's nodes."""
    created_by: ClassVar[str] = ""
    """For a kernel without lowerings: what inserts its nodes (a later lowering step, or
    another kernel's lowering)."""
    custom_ops: ClassVar[tuple[type[Any], ...]] = ()
    """Our own ops: their qonnx CustomOp classes (FINN ``HWCustomOp`` subclasses, named as
    their op type), registered in codesign's domain. Empty for FINN's ops."""
    rtl_module: ClassVar[str]
    """Module of the rtl/ library."""
    fold: ClassVar[tuple[tuple[str, str], ...]] = ()
    """(folding attribute, the size attribute it must divide) pairs, e.g. (PE, MH)."""
    has_accumulator: ClassVar[bool] = False
    """True for kernels that sum weighted inputs (matrix and vector units): they are the
    layers ``fold.layers`` folds, and :meth:`accumulator` describes them."""
    moves_words: ClassVar[bool] = False
    """True for kernels that carry values unchanged (FIFOs, width converters)."""
    role: ClassVar[str] = ""
    """The part of a model the kernel computes, which reports total over (``attention``:
    the attention core between the Q/K/V projections and the output projection)."""
    frames_held: ClassVar[int] = 0
    """Frames of one input this kernel takes in whole before its first output word (an
    attention's keys): the lowering's deep FIFOs hold that many more frames per such
    kernel, for the branches beside it."""

    # ----------------------------------------------------------------- reading

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        """The node's backend-neutral instance; raise LoweringError naming the node for an
        attribute combination the kernel does not implement."""
        raise NotImplementedError

    def instance(self, node: Any, **fields: Any) -> KernelInstance:
        """A :class:`KernelInstance` of this kernel for ``node`` (fills node, kind, op
        type and module)."""
        return KernelInstance(
            node=node.name, kind=self.name, op_type=node.op_type, module=self.rtl_module,
            **fields,
        )

    # ----------------------------------------------------------------- reference

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        """Bit-accurate outputs for a batch of frames: one (frames, values per frame)
        array per streamed input, in stream order; one such array per output."""
        raise NotImplementedError

    # ----------------------------------------------------------------- accumulators

    def accumulator(self, k: KernelInstance) -> Accumulator | None:
        """The accumulator this kernel sums into, None if it does not accumulate."""
        return None

    def with_acc_bits(self, k: KernelInstance, bits: int) -> KernelInstance:
        """The same instance with its accumulator ``bits`` wide and signed (unchanged if
        it does not accumulate)."""
        return k

    def overflow_probe(self, k: KernelInstance) -> IntArray:
        """Input frames that drive every output channel's accumulator to its largest and
        smallest possible value (see :meth:`Accumulator.extreme_inputs`)."""
        raise LoweringError(f"node {k.node} ({k.op_type}) has no accumulator to probe")

    def thresholds(self, model: ModelWrapper, node: Any) -> ThresholdTensor | None:
        """The node's thresholds, None if it has none."""
        return None

    def correct_datatypes(self, model: ModelWrapper, node: Any) -> None:
        """After FINN's MinimizeAccumulatorWidth: set the node's accumulator (and derived
        output) data type where this kernel's accumulator differs from FINN's sizing;
        the default keeps FINN's."""

    def with_input_format(self, k: KernelInstance, port: int, fmt: StreamFormat) -> KernelInstance:
        """``k`` taking stream ``fmt`` on input ``port`` (a wider producer upstream); only
        kernels that carry words unchanged can follow, the others refuse naming the node."""
        if k.inputs[port].tdata_bits == fmt.tdata_bits:
            return k
        raise LoweringError(
            f"node {k.node} ({k.op_type}) takes {k.inputs[port].tdata_bits}-bit words on input "
            f"{port}, its producer now emits {fmt.tdata_bits}"
        )

    # ----------------------------------------------------------------- buffering

    sized_by_simulation: ClassVar[bool] = False
    """True for buffers (FIFOs) whose depth the flow sets from simulated occupancy."""
    peak_signal: ClassVar[str] = ""
    """Buffers: the RTL register holding the most words held at once since reset."""

    def with_depth(self, k: KernelInstance, depth: int) -> KernelInstance:
        """The buffer ``k`` holding ``depth`` words."""
        raise LoweringError(f"node {k.node} ({k.op_type}) is not a buffer with a depth")

    # ----------------------------------------------------------------- estimates

    def cycles(self, node: Any) -> int:
        """Estimated cycles per frame of this kernel's hardware for ``node`` at its
        folding: the one estimate the stream graph's II, the flow's layer table and the
        report use. By default the generic custom op's ``get_exp_cycles``; a kernel whose
        generic op does not model its cycles (FINN's generic ConvolutionInputGenerator
        says 0) or whose RTL differs from FINN's model overrides it."""
        return int(getCustomOp(node).get_exp_cycles())

    def estimate(self, node: Any, part: str) -> tuple[int, dict[str, float]]:
        """Cycles per frame (:meth:`cycles`) and resources (FINN's keys: ``LUT``,
        ``BRAM_18K``, ``URAM``, ``DSP``...) of a node FINN does not specialize (an op of
        codesign's domain), from its custom op's own models; FINN's nodes are estimated by
        FINN's analyses on their ``_hls``/``_rtl`` variant instead."""
        res = getCustomOp(node).node_res_estimation(part)
        return self.cycles(node), {key: float(value) for key, value in res.items()}

    def finn_resources(self, model: ModelWrapper, node: Any, part: str,
                       finn: dict[str, float]) -> dict[str, float]:
        """The resources of a FINN node, given FINN's estimate ``finn`` of its specialized
        variant: a kernel whose hardware differs from that variant's model corrects it
        (default: FINN's)."""
        return finn

    # ----------------------------------------------------------------- MAC resource

    def mac_resource(self, node: Any) -> str | None:
        """Where the node's multipliers go, as FINN's ``resType`` says (``lut``, ``dsp``,
        or ``auto``: not decided yet); None for a kernel without multipliers to place."""
        return None

    def set_mac_resource(self, node: Any, mode: str) -> None:
        """Put the node's multipliers in ``mode`` (``lut`` or ``dsp``)."""
        raise LoweringError(
            f"node {node.name} ({node.op_type}) has no multipliers to put in LUTs or DSPs"
        )

    # ----------------------------------------------------------------- folding

    def fold_to_target(self, node: Any, target_cycles: int) -> None:
        """Fold a node FINN does not specialize (FINN's SetFolding skips it): the least
        parallel legal folding whose cycles (its custom op's ``get_exp_cycles``) meet
        ``target_cycles``, else the most parallel one."""
        inst = getCustomOp(node)
        legal = self.legal_folding(inst)
        for values in sorted(itertools.product(*legal.values()), key=lambda v: (math.prod(v), v)):
            for attr, value in zip(legal, values, strict=True):
                inst.set_nodeattr(attr, value)
            if int(inst.get_exp_cycles()) <= target_cycles:
                return

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        """Every legal value of each folding attribute of a node (FINN custom op)."""
        return {a: divisors(int(inst.get_nodeattr(size))) for a, size in self.fold}

    def check_folding(self, node: Any) -> None:
        """Raise LoweringError naming the node and the allowed values if a folding
        attribute does not divide its size."""
        inst = getCustomOp(node)
        sizes = dict(self.fold)
        dims = ", ".join(f"{s}={int(inst.get_nodeattr(s))}" for s in sizes.values())
        for attr, allowed in self.legal_folding(inst).items():
            value = int(inst.get_nodeattr(attr))
            if value not in allowed:
                size = sizes[attr]
                raise LoweringError(
                    f"illegal folding for node {node.name} ({node.op_type}, {dims}): "
                    f"{attr}={value} does not divide {size}={int(inst.get_nodeattr(size))}; "
                    f"allowed {attr} values: {', '.join(map(str, allowed))}"
                )

    # ----------------------------------------------------------------- reporting

    def body_model(self, node: Any) -> ModelWrapper | None:
        """A loop node's body graph (its per-layer facts are reported with the loop's),
        None for other kernels."""
        return None

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        """Per-layer facts for results.json beyond the common ones (shape, dtypes, ...)."""
        return {}

    # ----------------------------------------------------------------- backends

    @property
    def backends(self) -> tuple[str, ...]:
        """The backends that implement this kernel: rtl always, hls where the kind
        overrides :meth:`hls_call` (it has a kernel in hls/)."""
        return ("rtl", "hls") if self.has_hls else ("rtl",)

    @property
    def has_hls(self) -> bool:
        return type(self).hls_call is not Kernel.hls_call

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """The call of this kernel's hls/ function for ``k``; raise LoweringError naming
        the node for a mode the C++ kernel does not implement."""
        from codesign.dataflow.kernels import hls_ops

        raise LoweringError(
            f"node {k.node} ({k.op_type}) has no HLS kernel yet; ops with HLS kernels: "
            f"{', '.join(hls_ops()) or 'none'}"
        )

    # ----------------------------------------------------------------- RTL emission

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """AXI-Stream port prefixes of the module: (inputs, outputs)."""
        return ("s_axis",), ("m_axis",)


# --------------------------------------------------------------------------- helpers


def divisors(n: int) -> list[int]:
    """Legal folding values for a dimension of size ``n``.

    >>> divisors(12)
    [1, 2, 3, 4, 6, 12]
    """
    return [d for d in range(1, n + 1) if n % d == 0]


def refuse_unknown_params(k: KernelInstance, known: Sequence[str], what: str) -> None:
    """Raise LoweringError naming the node when ``k`` sets a parameter its HLS kernel does
    not implement (``what`` names that kernel): a mode added to the reader later (e.g. a
    binary or bipolar variant) must not reach a C++ kernel that ignores it. Unknown
    parameters that are 0 (the mode off) pass."""
    extra = {n: v for n, v in k.params.items() if n not in known and v not in (0, "")}
    if extra:
        modes = ", ".join(f"{n}={v}" for n, v in sorted(extra.items()))
        raise LoweringError(
            f"node {k.node} ({k.op_type}): {what} does not implement {modes}; it takes "
            f"{', '.join(known)}"
        )


def int_dtype(inst: Any, attr: str) -> tuple[int, bool]:
    """(bits, signed) of the integer data type in attribute ``attr``; bipolar and float
    types are refused naming the node."""
    dt = DataType[inst.get_nodeattr(attr)]
    if not dt.is_integer() or dt == DataType["BIPOLAR"]:
        raise LoweringError(
            f"node {inst.onnx_node.name}: {attr}={dt.name} is not a two's-complement "
            "integer type; the RTL kernels take integer streams only"
        )
    return dt.bitwidth(), dt.signed()


def stream_words(shape: Sequence[int]) -> int:
    """Stream words of a folded shape (every dimension but the last)."""
    return int(np.prod(shape[:-1]))


def int_initializer(model: ModelWrapper, name: str, node: str) -> IntArray:
    """An initializer that must hold integers (weights, thresholds)."""
    arr = model.get_initializer(name)
    if arr is None:
        raise LoweringError(f"node {node}: initializer {name} is missing")
    ints = np.rint(arr).astype(np.int64)
    if not np.array_equal(ints, arr):
        raise LoweringError(f"node {node}: initializer {name} holds non-integer values")
    return ints


def replace_params(k: KernelInstance, **params: Param) -> KernelInstance:
    """``k`` with some parameters replaced."""
    return dataclasses.replace(k, params={**k.params, **params})
