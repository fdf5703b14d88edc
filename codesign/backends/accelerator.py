"""The folded dataflow graph as a chain of parameterised kernel instances.

Everything here is read from FINN node attributes and initializers (PE, SIMD, data
types, accumulator type, FIFO depths, weights, thresholds); nothing is re-derived.
Every backend consumes :class:`Accelerator`; none reads the ONNX graph itself.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.backends.words import clip_thresholds, tdata_bits
from codesign.errors import LoweringError

Param = int | str


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
    values: npt.NDArray[np.int64]
    pe: int
    simd: int
    bits: int
    signed: bool


@dataclass(frozen=True)
class KernelInstance:
    """One kernel of the rtl/ library, instantiated for one FINN node."""

    node: str
    op_type: str
    module: str
    params: dict[str, Param]
    inp: StreamFormat
    out: StreamFormat
    words_in: int  # stream words per frame
    words_out: int
    est_cycles: int  # FINN's estimate for this node
    memories: dict[str, Memory] = field(default_factory=dict)
    has_ovf: bool = False

    @property
    def instance_name(self) -> str:
        return "u_" + re.sub(r"[^A-Za-z0-9_]", "_", self.node)


@dataclass(frozen=True)
class Accelerator:
    """A linear chain of kernels between one input and one output stream."""

    name: str
    kernels: tuple[KernelInstance, ...]

    @property
    def inp(self) -> StreamFormat:
        return self.kernels[0].inp

    @property
    def out(self) -> StreamFormat:
        return self.kernels[-1].out

    @property
    def words_in(self) -> int:
        return self.kernels[0].words_in

    @property
    def words_out(self) -> int:
        return self.kernels[-1].words_out

    @property
    def est_ii(self) -> int:
        """FINN's analytical initiation interval: the slowest node's cycles per frame."""
        return max(k.est_cycles for k in self.kernels)

    @property
    def monitored(self) -> tuple[KernelInstance, ...]:
        """Kernels with an accumulator overflow monitor, in order (bit i of ``ovf``)."""
        return tuple(k for k in self.kernels if k.has_ovf)


def _dtype(inst: Any, attr: str) -> tuple[int, bool]:
    from qonnx.core.datatype import DataType

    dt = DataType[inst.get_nodeattr(attr)]
    if not dt.is_integer():
        raise LoweringError(
            f"node {inst.onnx_node.name}: {attr}={dt.name} is not an integer type; "
            "the RTL kernels take integer streams only"
        )
    return dt.bitwidth(), dt.signed()


def _words(shape: Any) -> int:
    return int(np.prod(shape[:-1]))


def _int_array(model: ModelWrapper, name: str, node: str) -> npt.NDArray[np.int64]:
    arr = model.get_initializer(name)
    if arr is None:
        raise LoweringError(f"node {node}: initializer {name} is missing")
    ints = np.rint(arr).astype(np.int64)
    if not np.array_equal(ints, arr):
        raise LoweringError(f"node {node}: initializer {name} holds non-integer values")
    return ints


def _mvau(model: ModelWrapper, inst: Any) -> KernelInstance:
    node = inst.onnx_node
    if inst.get_nodeattr("binaryXnorMode"):
        raise LoweringError(f"node {node.name}: binaryXnorMode MVAUs are not supported")
    mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
    pe, simd = inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
    in_bits, in_signed = _dtype(inst, "inputDataType")
    w_bits, w_signed = _dtype(inst, "weightDataType")
    if not w_signed:
        w_bits += 1  # the kernel's weights are signed: an unsigned type needs one more bit
    acc_bits, acc_signed = _dtype(inst, "accDataType")
    out_bits, out_signed = _dtype(inst, "outputDataType")
    weights = _int_array(model, node.input[1], node.name)
    memories = {"WEIGHT_FILE": Memory("weights", weights, pe, simd, w_bits, True)}
    n_thres = 0
    if not inst.get_nodeattr("noActivation"):
        thr = _int_array(model, node.input[2], node.name)
        thr = np.broadcast_to(thr, (mh, thr.shape[-1])).copy()
        n_thres = thr.shape[1]
        # thresholds outside the accumulator's range never or always fire; clipping them
        # to [min, max + 1] keeps every comparison and fits ACC_BITS + 1 bits
        thr = clip_thresholds(thr, acc_bits, acc_signed)
        memories["THRESH_FILE"] = Memory("thresholds", thr, pe, 1, acc_bits + 1, acc_signed)
    params: dict[str, Param] = {
        "MW": mw, "MH": mh, "PE": pe, "SIMD": simd,
        "N_VECTORS": int(np.prod(inst.get_nodeattr("numInputVectors"))),
        "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "W_BITS": w_bits,
        "ACC_BITS": acc_bits, "ACC_SIGNED": int(acc_signed), "OUT_BITS": out_bits,
        "N_THRES": n_thres, "THR_BITS": acc_bits + 1, "ACT_BIAS": inst.get_nodeattr("ActVal"),
    }
    return KernelInstance(
        node=node.name, op_type="MVAU", module="cs_mvau", params=params,
        inp=StreamFormat(in_bits, simd, in_signed), out=StreamFormat(out_bits, pe, out_signed),
        words_in=_words(inst.get_folded_input_shape(0)),
        words_out=_words(inst.get_folded_output_shape(0)),
        est_cycles=int(inst.get_exp_cycles()), memories=memories, has_ovf=True,
    )


def _thresholding(model: ModelWrapper, inst: Any) -> KernelInstance:
    node = inst.onnx_node
    c, pe = inst.get_nodeattr("NumChannels"), inst.get_nodeattr("PE")
    in_bits, in_signed = _dtype(inst, "inputDataType")
    out_bits, out_signed = _dtype(inst, "outputDataType")
    thr = _int_array(model, node.input[1], node.name)
    thr = np.broadcast_to(thr, (c, thr.shape[-1])).copy()
    thr = clip_thresholds(thr, in_bits, in_signed)
    params: dict[str, Param] = {
        "C": c, "PE": pe, "N_THRES": thr.shape[1], "IN_BITS": in_bits,
        "IN_SIGNED": int(in_signed), "THR_BITS": in_bits + 1,
        "ACT_BIAS": inst.get_nodeattr("ActVal"), "OUT_BITS": out_bits,
    }
    return KernelInstance(
        node=node.name, op_type="Thresholding", module="cs_thresholding", params=params,
        inp=StreamFormat(in_bits, pe, in_signed), out=StreamFormat(out_bits, pe, out_signed),
        words_in=_words(inst.get_folded_input_shape(0)),
        words_out=_words(inst.get_folded_output_shape(0)),
        est_cycles=int(inst.get_exp_cycles()),
        memories={"THRESH_FILE": Memory("thresholds", thr, pe, 1, in_bits + 1, in_signed)},
    )


def _fifo(model: ModelWrapper, inst: Any) -> KernelInstance:
    bits, signed = _dtype(inst, "dataType")
    elems = int(inst.get_folded_output_shape(0)[-1])
    fmt = StreamFormat(bits, elems, signed)
    words = _words(inst.get_folded_output_shape(0))
    return KernelInstance(
        node=inst.onnx_node.name, op_type="StreamingFIFO", module="cs_fifo",
        params={"WIDTH": fmt.tdata_bits, "DEPTH": max(2, inst.get_nodeattr("depth"))},
        inp=fmt, out=fmt, words_in=words, words_out=words, est_cycles=words,
    )


def _dwc(model: ModelWrapper, inst: Any) -> KernelInstance:
    bits, signed = _dtype(inst, "dataType")
    in_elems = inst.get_nodeattr("inWidth") // bits
    out_elems = inst.get_nodeattr("outWidth") // bits
    return KernelInstance(
        node=inst.onnx_node.name, op_type="StreamingDataWidthConverter", module="cs_dwc",
        params={"IN_ELEMS": in_elems, "OUT_ELEMS": out_elems, "ELEM_BITS": bits},
        inp=StreamFormat(bits, in_elems, signed), out=StreamFormat(bits, out_elems, signed),
        words_in=_words(inst.get_folded_input_shape(0)),
        words_out=_words(inst.get_folded_output_shape(0)),
        est_cycles=int(inst.get_exp_cycles()),
    )


def _label_select(model: ModelWrapper, inst: Any) -> KernelInstance:
    in_bits, in_signed = _dtype(inst, "inputDataType")
    out_bits, _ = _dtype(inst, "outputDataType")
    pe, k = inst.get_nodeattr("PE"), inst.get_nodeattr("K")
    return KernelInstance(
        node=inst.onnx_node.name, op_type="LabelSelect", module="cs_label_select",
        params={"N_LABELS": inst.get_nodeattr("Labels"), "PE": pe, "K": k,
                "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "OUT_BITS": out_bits},
        inp=StreamFormat(in_bits, pe, in_signed), out=StreamFormat(out_bits, 1, False),
        words_in=_words(inst.get_folded_input_shape(0)), words_out=k,
        est_cycles=int(inst.get_exp_cycles()),
    )


KERNELS: dict[str, Callable[[ModelWrapper, Any], KernelInstance]] = {
    "MVAU": _mvau,
    "Thresholding": _thresholding,
    "StreamingFIFO": _fifo,
    "StreamingDataWidthConverter": _dwc,
    "LabelSelect": _label_select,
}


def read_accelerator(child: ModelWrapper, name: str = "accel") -> Accelerator:
    """Read the folded dataflow child graph into a chain of kernel instances.

    Raises :class:`LoweringError` naming any node with no kernel in rtl/ (and listing the
    supported ops), or a graph that is not a single chain.
    """
    kernels = []
    expected_input = child.graph.input[0].name
    for node in child.graph.node:
        if node.op_type not in KERNELS:
            raise LoweringError(
                f"node {node.name} ({node.op_type}) has no kernel in the RTL library; "
                f"supported ops: {', '.join(sorted(KERNELS))}"
            )
        if node.input[0] != expected_input:
            raise LoweringError(
                f"node {node.name} does not consume the previous node's output: the RTL "
                "backend supports a single chain of HW nodes"
            )
        kernels.append(KERNELS[node.op_type](child, getCustomOp(node)))
        expected_input = node.output[0]
    if not kernels:
        raise LoweringError("the dataflow graph has no nodes")
    for a, b in itertools.pairwise(kernels):
        if a.out.tdata_bits != b.inp.tdata_bits:
            raise LoweringError(
                f"stream width mismatch between {a.node} ({a.out.tdata_bits} bits) and "
                f"{b.node} ({b.inp.tdata_bits} bits): run InsertDWC when lowering"
            )
    return Accelerator(name=name, kernels=tuple(kernels))


def with_acc_bits(acc: Accelerator, bits: int) -> Accelerator:
    """The same accelerator (weights, folding, streams) with every MVAU accumulator
    ``bits`` wide and signed.

    Wider than FINN's minimized width gives the cost of conservative accumulators (e.g.
    32 bits) at the same folding; narrower squeezes them, and the RTL then wraps.
    Thresholds are clipped into the new range, which keeps every comparison of a value
    the accumulator can hold.
    """
    kernels = []
    for k in acc.kernels:
        if k.module != "cs_mvau":
            kernels.append(k)
            continue
        params = {**k.params, "ACC_BITS": bits, "ACC_SIGNED": 1, "THR_BITS": bits + 1}
        memories = dict(k.memories)
        if "THRESH_FILE" in memories:
            thr = memories["THRESH_FILE"]
            memories["THRESH_FILE"] = Memory(
                "thresholds", clip_thresholds(thr.values, bits, True), thr.pe, 1, bits + 1, True
            )
        kernels.append(dataclasses.replace(k, params=params, memories=memories))
    return Accelerator(name=f"{acc.name}_acc{bits}", kernels=tuple(kernels))
