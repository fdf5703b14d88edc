"""MVAU: FINN's matrix-vector-activation unit (fully connected layers, and convolutions
lowered to a matrix product over the sliding window's im2col stream).

RTL: ``cs_mvau`` (PE rows x SIMD columns per cycle, ACC_BITS accumulators that wrap,
thresholds by binary search, a sticky overflow monitor). FINN's ``binaryXnorMode`` (the
bnn_pynq networks: bipolar inputs and weights carried as binary 0/1 codes) is the same
kernel with ``XNOR = 1``: each product is XNOR(x, w) and the accumulator a popcount.
FINN's ``resType`` places the products: ``USE_DSP = 1`` (``dsp``) multiplies for the
synthesis tool's DSP mapping, ``USE_DSP = 0`` (``lut``) codes them in LUTs
(:func:`mac_lanes_resources` models both).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign import bounds
from codesign.backends.words import exact_matmul, value_range, wrap
from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    Accumulator,
    HlsArray,
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    Memory,
    StreamFormat,
    ThresholdTensor,
    int_dtype,
    int_initializer,
    refuse_unknown_params,
    stream_words,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.dataflow.kernels.thresholding import (
    accumulator_thresholds,
    multithreshold,
    threshold_memory,
    threshold_rom,
)
from codesign.errors import LoweringError


def mvau(
    x: np.ndarray,
    w: np.ndarray,
    acc_bits: int,
    acc_signed: bool = True,
    thr: np.ndarray | None = None,
    act_bias: int = 0,
) -> IntArray:
    """Matrix-vector product ``x @ w`` in an ``acc_bits`` accumulator that wraps, then the
    optional MultiThreshold activation (applied to the wrapped accumulator).

    ``x``: (vectors, MW) integers; ``w``: (MW, MH) integers as FINN stores them.

    >>> x = np.array([[100, 100]]); w = np.array([[1], [1]])
    >>> mvau(x, w, acc_bits=16).tolist(), mvau(x, w, acc_bits=8).tolist()
    ([[200]], [[-56]])
    >>> mvau(x, w, acc_bits=16, thr=np.array([[0, 150, 250]])).tolist()
    [[2]]
    """
    exact = exact_matmul(x, w)
    acc = wrap(exact, acc_bits, acc_signed)
    if thr is None:
        return acc
    return multithreshold(acc, thr, act_bias)


def xnor_popcount(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """XNOR-popcount matrix product of binary codes: per output, the number of positions
    where input and weight agree. With bipolar values ``b = 2c - 1`` this is
    ``(b_x @ b_w + MW) / 2``, what FINN's binaryXnorMode MVAU computes (qonnx's
    ``xnorpopcountmatmul``).

    >>> xnor_popcount(np.array([[1, 0, 1]]), np.array([[1, 0], [0, 0], [1, 1]])).tolist()
    [[3, 2]]
    """
    x = np.asarray(x, dtype=object)
    w = np.asarray(w, dtype=object)
    return np.asarray(x @ w + (1 - x) @ (1 - w), dtype=object)


def mvau_xnor(
    x: np.ndarray,
    w: np.ndarray,
    acc_bits: int,
    thr: np.ndarray | None = None,
    act_bias: int = 0,
) -> IntArray:
    """binaryXnorMode MVAU: the XNOR-popcount of binary inputs ``x`` (vectors, MW) and
    weights ``w`` (MW, MH) in an unsigned ``acc_bits`` accumulator that wraps, then the
    optional MultiThreshold (FINN's streamlining expresses the thresholds in popcount
    terms: a bipolar threshold t becomes ``(t + MW) / 2``).

    >>> x = np.array([[1, 1, 0, 0]]); w = np.array([[1], [1], [0], [1]])
    >>> mvau_xnor(x, w, 3).tolist(), mvau_xnor(x, w, 3, thr=np.array([[4]])).tolist()
    ([[3]], [[0]])
    >>> mvau_xnor(np.array([[1, 1, 0, 0]]), np.array([[1], [1], [0], [0]]), acc_bits=2).tolist()
    [[0]]
    """
    acc = wrap(xnor_popcount(x, w), acc_bits, False)
    if thr is None:
        return acc
    return multithreshold(acc, thr, act_bias)


def popcount_acc_type(mw: int) -> DataType:
    """The accumulator of an XNOR-popcount over ``mw`` inputs: unsigned, holding 0..mw
    (see :func:`codesign.bounds.popcount_acc_bits`).

    >>> popcount_acc_type(64).name, popcount_acc_type(63).name
    ('UINT7', 'UINT6')
    """
    return DataType[f"UINT{bounds.popcount_acc_bits(mw)}"]


def mvau_overflows(x: np.ndarray, w: np.ndarray, simd: int, acc_bits: int,
                   acc_signed: bool = True, xnor: bool = False) -> bool:
    """Whether the cs_mvau overflow monitor fires: some partial sum (a partial popcount
    where ``xnor``), taken after each SIMD fold (input columns ``0 .. (sf+1)*SIMD-1``),
    of some output falls outside the ``acc_bits`` range.

    >>> x = np.array([[100, 100]]); w = np.array([[1], [1]])
    >>> mvau_overflows(x, w, 1, 8), mvau_overflows(x, w, 1, 9)
    (True, False)
    >>> b = np.array([[1, 1, 1]]); mvau_overflows(b, b.T, 3, 2, False, xnor=True)
    False
    >>> mvau_overflows(np.array([[1, 1, 1, 1]]), np.ones((4, 1), int), 2, 2, False, xnor=True)
    True
    """
    x = np.asarray(x, dtype=object)
    w = np.asarray(w, dtype=object)
    mw = w.shape[0]
    lo, hi = value_range(acc_bits, acc_signed)
    for end in range(simd, mw + 1, simd):
        part = xnor_popcount(x[:, :end], w[:end, :]) if xnor else x[:, :end] @ w[:end, :]
        if part.size and (part.min() < lo or part.max() > hi):
            return True
    return False


def _infer_binary_mvau() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.binary_matrix_vector_activation import (
        InferBinaryMatrixVectorActivation,
    )

    return [InferBinaryMatrixVectorActivation()]


def _infer_mvau() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.quantized_matrix_vector_activation import (
        InferQuantizedMatrixVectorActivation,
    )

    return [InferQuantizedMatrixVectorActivation()]


@register
class Mvau(Kernel):
    name = "mvau"
    op_types = ("MVAU",)
    # FINN's builder order: XNOR-popcount MatMuls (binaryXnorMode) before the dense ones;
    # each absorbs a following MultiThreshold
    lowerings: ClassVar[tuple[Lowering, ...]] = (
        Lowering(
            "InferBinaryMatrixVectorActivation", _infer_binary_mvau,
            guard=("XnorPopcountMatMul",),
            lowers=(LoweredOp("XnorPopcountMatMul", "MVAU in binaryXnorMode (binary inputs "
                              "and weights; a following MultiThreshold is absorbed)"),),
        ),
        Lowering(
            "InferQuantizedMatrixVectorActivation", _infer_mvau, guard=("MatMul",),
            after=("InferBinaryMatrixVectorActivation",),
            lowers=(LoweredOp("MatMul", "MVAU (integer input and weights; a following "
                              "MultiThreshold is absorbed)"),),
        ),
    )
    rtl_module = "cs_mvau"
    fold = (("PE", "MH"), ("SIMD", "MW"))
    has_accumulator = True

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        xnor = bool(inst.get_nodeattr("binaryXnorMode"))
        mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
        pe, simd = inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
        (in_bits, in_signed), (w_bits, w_signed) = operand_types(inst)
        acc_bits, acc_signed = int_dtype(inst, "accDataType")
        out_bits, out_signed = int_dtype(inst, "outputDataType")
        weights = int_initializer(model, node.input[1], node.name)
        memories = {"WEIGHT_FILE": Memory("weights", weights, pe, simd, w_bits, w_signed)}
        n_thres, thr_bits = 0, acc_bits + 1
        if not inst.get_nodeattr("noActivation"):
            thr = threshold_memory(model, node, 2, mh, pe, acc_bits, acc_signed)
            memories["THRESH_FILE"] = thr
            n_thres, thr_bits = thr.values.shape[1], thr.bits
        return self.instance(
            node,
            params={
                "MW": mw, "MH": mh, "PE": pe, "SIMD": simd,
                "N_VECTORS": int(np.prod(inst.get_nodeattr("numInputVectors"))),
                "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "W_BITS": w_bits,
                "ACC_BITS": acc_bits, "ACC_SIGNED": int(acc_signed), "OUT_BITS": out_bits,
                "N_THRES": n_thres, "THR_BITS": thr_bits,
                "ACT_BIAS": inst.get_nodeattr("ActVal"), "XNOR": int(xnor),
                "USE_DSP": use_dsp(inst),
            },
            inputs=(StreamFormat(in_bits, simd, in_signed),),
            outputs=(StreamFormat(out_bits, pe, out_signed),),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node), memories=memories, has_ovf=True,
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        p = k.params
        w = k.memories["WEIGHT_FILE"].values
        thr = k.memories["THRESH_FILE"].values if int(p["N_THRES"]) else None
        vectors = x.reshape(-1, int(p["MW"]))
        if int(p.get("XNOR", 0)):
            y = mvau_xnor(vectors, w, int(p["ACC_BITS"]), thr, int(p["ACT_BIAS"]))
        else:
            y = mvau(vectors, w, int(p["ACC_BITS"]), bool(p["ACC_SIGNED"]), thr,
                     int(p["ACT_BIAS"]))
        return (np.asarray(y, dtype=np.int64).reshape(len(x), -1),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::mvau`` (thresholds) or ``cs::mvau_noact`` of hls/cs_mvau.hpp, and their
        binaryXnorMode twins ``cs::mvau_xnor`` / ``cs::mvau_xnor_noact``."""
        refuse_unknown_params(k, (*_HLS_PARAMS, "XNOR", "USE_DSP"), "hls/cs_mvau.hpp")
        p = {n: int(v) for n, v in k.params.items() if n in (*_HLS_PARAMS, "XNOR")}
        pe, simd = p["PE"], p["SIMD"]
        w = k.memories["WEIGHT_FILE"]
        # tiles[nf*SF + sf, p, s] = w[sf*SIMD + s, nf*PE + p]: PE x SIMD weights per step
        mw, mh = w.values.shape
        tiles = w.values.reshape(mw // simd, simd, mh // pe, pe).transpose(2, 0, 3, 1)
        arrays = [HlsArray("weights", w.bits, w.signed, tiles.reshape(-1, pe, simd),
                           partition=((2, "complete"), (3, "complete")))]
        xnor = bool(p.get("XNOR", 0))
        # the XNOR kernels fix the operand types (1-bit unsigned codes, unsigned popcount)
        names = _HLS_XNOR_PARAMS if xnor else _HLS_PARAMS
        function = "cs::mvau_xnor" if xnor else "cs::mvau"
        args = [p[n] for n in names[:-3]]
        # the integer kernels place their products (cs::mac_lane's BIND_OP); XNOR has none
        tail = () if xnor else (int(k.params.get("USE_DSP", 1)),)
        if not p["N_THRES"]:
            return HlsCall("cs_mvau.hpp", f"{function}_noact", (*args, *tail), tuple(arrays))
        arrays.append(accumulator_thresholds(k))
        return HlsCall("cs_mvau.hpp", function, (*args, *(p[n] for n in names[-3:]), *tail),
                       tuple(arrays))

    def thresholds(self, model: ModelWrapper, node: Any) -> ThresholdTensor | None:
        inst = getCustomOp(node)
        if inst.get_nodeattr("noActivation") or len(node.input) < 3:
            return None
        return ThresholdTensor(node.input[2], DataType[inst.get_nodeattr("accDataType")])

    def accumulator(self, k: KernelInstance) -> Accumulator:
        p = k.params
        return Accumulator(
            weights=k.memories["WEIGHT_FILE"].values, in_bits=int(p["IN_BITS"]),
            in_signed=bool(p["IN_SIGNED"]), bits=int(p["ACC_BITS"]),
            signed=bool(p["ACC_SIGNED"]), popcount=bool(p.get("XNOR", 0)),
        )

    def with_acc_bits(self, k: KernelInstance, bits: int) -> KernelInstance:
        # a popcount is never negative: its accumulator stays unsigned
        signed = not int(k.params.get("XNOR", 0))
        params = {**k.params, "ACC_BITS": bits, "ACC_SIGNED": int(signed), "THR_BITS": bits + 1}
        outputs = k.outputs
        if not int(k.params["N_THRES"]) and bits > int(k.params["OUT_BITS"]):
            # without activation the output is the accumulator: a wider one is emitted
            # whole (else synthesis would drop the bits the output cannot carry)
            params["OUT_BITS"] = bits
            outputs = (StreamFormat(bits, k.out.elems, signed),)
        memories = dict(k.memories)
        if "THRESH_FILE" in memories:
            old = memories["THRESH_FILE"]
            memories["THRESH_FILE"] = thr = threshold_rom(old.values, old.pe, bits, signed)
            params["THR_BITS"] = thr.bits
        return dataclasses.replace(k, params=params, memories=memories, outputs=outputs)

    def overflow_probe(self, k: KernelInstance) -> IntArray:
        lo_x, hi_x = self.accumulator(k).extreme_inputs()
        return whole_frames(np.concatenate([hi_x, lo_x]), int(k.params["N_VECTORS"]))

    def correct_datatypes(self, model: ModelWrapper, node: Any) -> None:
        """A binaryXnorMode MVAU accumulates a popcount 0..MW: unsigned
        :func:`popcount_acc_type` (FINN sizes it as a signed sum of ±1 weights, which
        cannot hold MW); without activation the output is that count, rounded up to a
        multiple of 8 bits at the end of the graph as FINN does."""
        inst = getCustomOp(node)
        if not inst.get_nodeattr("binaryXnorMode"):
            return
        adt = popcount_acc_type(int(inst.get_nodeattr("MW")))
        inst.set_nodeattr("accDataType", adt.name)
        if inst.get_nodeattr("noActivation"):
            odt = adt
            if model.find_direct_successors(node) is None:
                odt = DataType[f"UINT{-(-adt.bitwidth() // 8) * 8}"]
            inst.set_nodeattr("outputDataType", odt.name)
            model.set_tensor_datatype(node.output[0], odt)

    def mac_resource(self, node: Any) -> str | None:
        inst = getCustomOp(node)
        if self.has_products(inst):
            return str(inst.get_nodeattr("resType"))
        return None

    def set_mac_resource(self, node: Any, mode: str) -> None:
        if self.mac_resource(node) is None:
            super().set_mac_resource(node, mode)  # refuses: an XNOR-popcount multiplies not
        getCustomOp(node).set_nodeattr("resType", mode)

    def has_products(self, inst: Any) -> bool:
        """Whether the node multiplies (an XNOR-popcount compares bits instead)."""
        return not inst.get_nodeattr("binaryXnorMode")

    def folds(self, k: KernelInstance) -> tuple[int, int]:
        """(NF, SF) of the instance: channel folds and steps per result."""
        p = k.params
        return int(p["MH"]) // int(p["PE"]), int(p["MW"]) // int(p["SIMD"])

    def finn_resources(self, model: ModelWrapper, node: Any, part: str,
                       finn: dict[str, float]) -> dict[str, float]:
        """FINN's estimate with LUT and DSP from :func:`mac_lanes_resources` (FINN models
        its own HLS or RTL MVU, whose RTL variant ignores resType); the weight ROM's
        LUTs where FINN's estimate gives it no block or ultra RAM."""
        k = self.read(model, node)
        nf, sf = self.folds(k)
        lut, dsp = mac_lanes_resources(k.params, nf, part)
        w = k.memories["WEIGHT_FILE"]
        if not finn.get("BRAM_18K") and not finn.get("URAM"):
            lut += w.pe * w.simd * w.bits * -(-nf * sf // LUT_ROM_WORDS)
        return {**finn, "LUT": float(lut), "DSP": float(dsp)}

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        w = model.get_initializer(node.input[1])
        no_act = bool(inst.get_nodeattr("noActivation"))
        thr = None if no_act else model.get_initializer(node.input[2])
        return {
            "mw": inst.get_nodeattr("MW"), "mh": inst.get_nodeattr("MH"),
            "channels": inst.get_nodeattr("MH"),
            "weight_dtype": inst.get_nodeattr("weightDataType"),
            "acc_dtype": inst.get_nodeattr("accDataType"),
            "no_activation": no_act,
            "binary_xnor": bool(inst.get_nodeattr("binaryXnorMode")),
            "n_thresholds": None if thr is None else int(thr.shape[1]),
            "weight_count": int(w.size),
            "mac_resource": self.mac_resource(node),
        }


def operand_types(inst: Any) -> tuple[tuple[int, bool], tuple[int, bool]]:
    """(bits, signed) of the kernel's input elements and weights.

    binaryXnorMode takes binary 0/1 codes of bipolar values for both, stored as 1 bit.
    Otherwise weights are signed: an unsigned type takes one more bit, bipolar weights
    (the values -1, +1) two; inputs must be integer (int_dtype refuses bipolar streams).
    """
    if inst.get_nodeattr("binaryXnorMode"):
        for attr in ("inputDataType", "weightDataType"):
            if inst.get_nodeattr(attr) != "BINARY":
                raise LoweringError(
                    f"node {inst.onnx_node.name}: binaryXnorMode needs BINARY (0/1 codes of "
                    f"bipolar values) {attr}, got {inst.get_nodeattr(attr)}"
                )
        return (1, False), (1, False)
    inp = int_dtype(inst, "inputDataType")
    if DataType[inst.get_nodeattr("weightDataType")] == DataType["BIPOLAR"]:
        return inp, (2, True)
    w_bits, w_signed = int_dtype(inst, "weightDataType")
    return inp, (w_bits + int(not w_signed), True)

#: cs::mvau's template parameters in declaration order (cs::mvau_noact: all but the last 3),
#: both followed by USE_DSP.
_HLS_PARAMS = (
    "MW", "MH", "PE", "SIMD", "N_VECTORS", "IN_BITS", "IN_SIGNED", "W_BITS", "ACC_BITS",
    "ACC_SIGNED", "OUT_BITS", "N_THRES", "THR_BITS", "ACT_BIAS",
)
#: cs::mvau_xnor's (cs::mvau_xnor_noact: all but the last 3).
_HLS_XNOR_PARAMS = (
    "MW", "MH", "PE", "SIMD", "N_VECTORS", "ACC_BITS", "OUT_BITS", "N_THRES", "THR_BITS",
    "ACT_BIAS",
)


def whole_frames(vectors: IntArray, per_frame: int) -> IntArray:
    """Probe vectors grouped into frames of ``per_frame`` vectors, the last frame filled up
    by repeating the first vectors (a kernel consumes whole frames)."""
    n = -(-len(vectors) // per_frame) * per_frame
    idx = np.arange(n) % len(vectors)
    return vectors[idx].reshape(n // per_frame, -1)


LUT_ROM_WORDS = 64
"""Words of one bit a LUT6 holds as ROM."""

#: Signed operand widths (A, B) of one multiplier of each of FINN's DSP blocks.
DSP_OPERANDS = {"DSP48E1": (25, 18), "DSP48E2": (27, 18), "DSP58": (27, 24)}


def use_dsp(inst: Any) -> int:
    """The kernel's USE_DSP of a node's ``resType``: 0 for ``lut``, 1 for ``dsp`` and
    for FINN's ``auto`` (undecided: the products are multiplications, which a synthesis
    tool maps to DSPs where its family has them; the fold step decides every weighted
    layer of a flow)."""
    return int(inst.get_nodeattr("resType") != "lut")


def mac_lanes_resources(params: dict[str, Any], nf: int, part: str) -> tuple[int, int]:
    """LUTs and DSP blocks of cs_mac_lanes and cs_act_tail for kernel parameters
    ``params`` with ``nf`` channel folds, on Xilinx ``part``.

    Per lane (PE of them), after FINN's MVAU model (FINN-R; the accumulator and
    threshold terms of FINN PRs #717/#767) but counting what the RTL builds:

    * products (``USE_DSP = 0``): SIMD shift-and-add multipliers of W_BITS rows, each
      row an adder as wide as the exact product PW = IN_BITS + 1 + W_BITS, so
      (W_BITS - 1) * PW LUTs a product; with ``USE_DSP = 1`` none, and one DSP per
      multiplier tile of the part's DSP block a product;
    * the SIMD adder tree, SIMD - 1 adders as wide as the accumulator (at most the exact
      dot product), and the accumulator's adder, ACC_BITS: the terms that follow P;
    * the threshold search: one THR_BITS comparator per binary-search stage, and the
      stages' ROMs (stage s holds NF * 2^s thresholds), THR_BITS LUTs per 64 words.

    An XNOR-popcount's products are one LUT each.

    >>> p = {"PE": 2, "SIMD": 4, "IN_BITS": 8, "IN_SIGNED": 0, "W_BITS": 4, "ACC_BITS": 16,
    ...      "N_THRES": 0, "THR_BITS": 17, "USE_DSP": 0}
    >>> mac_lanes_resources(p, 1, "xczu7ev-ffvc1156-2-e")
    (440, 0)
    >>> mac_lanes_resources({**p, "USE_DSP": 1}, 1, "xczu7ev-ffvc1156-2-e")
    (128, 8)
    >>> mac_lanes_resources({**p, "USE_DSP": 1, "ACC_BITS": 32}, 1, "xczu7ev-ffvc1156-2-e")
    (160, 8)
    """
    from finn.util.basic import get_dsp_block

    pe, simd = int(params["PE"]), int(params["SIMD"])
    in_bits, w_bits = int(params["IN_BITS"]), int(params["W_BITS"])
    acc_bits, thr_bits = int(params["ACC_BITS"]), int(params["THR_BITS"])
    a_bits = in_bits + int(not int(params["IN_SIGNED"]))  # the input made signed
    pw = in_bits + 1 + w_bits
    dsp = 0
    if int(params.get("XNOR", 0)):
        mult = simd
    elif int(params.get("USE_DSP", 1)):
        mult = 0
        a_max, b_max = DSP_OPERANDS[get_dsp_block(part)]
        wide, narrow = max(a_bits, w_bits), min(a_bits, w_bits)
        dsp = pe * simd * -(-wide // a_max) * -(-narrow // b_max)
    else:
        mult = simd * (w_bits - 1) * pw
    tree = (simd - 1) * min(acc_bits, pw + simd.bit_length())  # DW = PW + $clog2(SIMD+1)
    search = 0
    if n_thres := int(params.get("N_THRES", 0)):
        stages = n_thres.bit_length()  # $clog2(N_THRES + 1)
        search = stages * thr_bits + sum(
            thr_bits * -(-nf * 2**s // LUT_ROM_WORDS) for s in range(stages))
    return pe * (mult + tree + acc_bits + search), dsp
