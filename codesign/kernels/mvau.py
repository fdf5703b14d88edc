"""MVAU: FINN's matrix-vector-activation unit (fully connected layers, and convolutions
lowered to a matrix product over the sliding window's im2col stream).

RTL: ``cs_mvau`` (PE rows x SIMD columns per cycle, ACC_BITS accumulators that wrap,
thresholds by binary search, a sticky overflow monitor).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.backends.words import clip_thresholds, value_range, wrap
from codesign.errors import LoweringError
from codesign.kernels import register
from codesign.kernels._base import (
    Accumulator,
    HlsArray,
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    Memory,
    StreamFormat,
    hls_ctype,
    int_dtype,
    int_initializer,
    refuse_unknown_params,
    stream_words,
)
from codesign.kernels.thresholding import hls_thresholds, multithreshold, threshold_memory
from codesign.quant import bounds


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
    exact = np.asarray(x, dtype=object) @ np.asarray(w, dtype=object)
    acc = wrap(exact, acc_bits, acc_signed)
    if thr is None:
        return acc
    return multithreshold(acc, thr, act_bias)


def mvau_overflows(x: np.ndarray, w: np.ndarray, simd: int, acc_bits: int,
                   acc_signed: bool = True) -> bool:
    """Whether the cs_mvau overflow monitor fires: some partial sum, taken after each SIMD
    fold (input columns ``0 .. (sf+1)*SIMD-1``), of some output falls outside the
    ``acc_bits`` range.

    >>> x = np.array([[100, 100]]); w = np.array([[1], [1]])
    >>> mvau_overflows(x, w, 1, 8), mvau_overflows(x, w, 1, 9)
    (True, False)
    """
    x = np.asarray(x, dtype=object)
    w = np.asarray(w, dtype=object)
    mw = w.shape[0]
    lo, hi = value_range(acc_bits, acc_signed)
    for end in range(simd, mw + 1, simd):
        part = x[:, :end] @ w[:end, :]
        if part.size and (part.min() < lo or part.max() > hi):
            return True
    return False


@register
class Mvau(Kernel):
    name = "mvau"
    op_types = ("MVAU",)
    rtl_module = "cs_mvau"
    fold = (("PE", "MH"), ("SIMD", "MW"))
    has_accumulator = True

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        if inst.get_nodeattr("binaryXnorMode"):
            raise LoweringError(f"node {node.name}: binaryXnorMode MVAUs are not supported")
        mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
        pe, simd = inst.get_nodeattr("PE"), inst.get_nodeattr("SIMD")
        in_bits, in_signed = int_dtype(inst, "inputDataType")
        w_bits, w_signed = int_dtype(inst, "weightDataType")
        if not w_signed:
            w_bits += 1  # the kernel's weights are signed: an unsigned type needs one more bit
        acc_bits, acc_signed = int_dtype(inst, "accDataType")
        out_bits, out_signed = int_dtype(inst, "outputDataType")
        weights = int_initializer(model, node.input[1], node.name)
        memories = {"WEIGHT_FILE": Memory("weights", weights, pe, simd, w_bits, True)}
        n_thres = 0
        if not inst.get_nodeattr("noActivation"):
            thr = threshold_memory(model, node, 2, mh, pe, acc_bits, acc_signed)
            memories["THRESH_FILE"] = thr
            n_thres = thr.values.shape[1]
        return self.instance(
            node,
            params={
                "MW": mw, "MH": mh, "PE": pe, "SIMD": simd,
                "N_VECTORS": int(np.prod(inst.get_nodeattr("numInputVectors"))),
                "IN_BITS": in_bits, "IN_SIGNED": int(in_signed), "W_BITS": w_bits,
                "ACC_BITS": acc_bits, "ACC_SIGNED": int(acc_signed), "OUT_BITS": out_bits,
                "N_THRES": n_thres, "THR_BITS": acc_bits + 1,
                "ACT_BIAS": inst.get_nodeattr("ActVal"),
            },
            inputs=(StreamFormat(in_bits, simd, in_signed),),
            outputs=(StreamFormat(out_bits, pe, out_signed),),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=int(inst.get_exp_cycles()), memories=memories, has_ovf=True,
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        p = k.params
        w = k.memories["WEIGHT_FILE"].values
        thr = k.memories["THRESH_FILE"].values if int(p["N_THRES"]) else None
        y = mvau(x.reshape(-1, int(p["MW"])), w, int(p["ACC_BITS"]), bool(p["ACC_SIGNED"]),
                 thr, int(p["ACT_BIAS"]))
        return (np.asarray(y, dtype=np.int64).reshape(len(x), -1),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::mvau`` (thresholds) or ``cs::mvau_noact`` of hls/cs_mvau.hpp."""
        refuse_unknown_params(k, _HLS_PARAMS, "hls/cs_mvau.hpp")
        p = {n: int(v) for n, v in k.params.items() if n in _HLS_PARAMS}
        pe, simd = p["PE"], p["SIMD"]
        w = k.memories["WEIGHT_FILE"]
        # tiles[nf*SF + sf, p, s] = w[sf*SIMD + s, nf*PE + p]: PE x SIMD weights per step
        mw, mh = w.values.shape
        tiles = w.values.reshape(mw // simd, simd, mh // pe, pe).transpose(2, 0, 3, 1)
        arrays = [HlsArray("weights", hls_ctype(w.bits, True),
                           tiles.reshape(-1, pe, simd),
                           partition=((2, "complete"), (3, "complete")))]
        args = [p[n] for n in _HLS_PARAMS[:11]]
        if p["N_THRES"]:
            thr = k.memories["THRESH_FILE"]
            if thr.signed != bool(p["ACC_SIGNED"]) or thr.bits != p["THR_BITS"]:
                raise LoweringError(
                    f"node {k.node}: thresholds are {thr.bits}-bit "
                    f"{'signed' if thr.signed else 'unsigned'}, the accumulator compares "
                    f"{p['THR_BITS']}-bit {'signed' if p['ACC_SIGNED'] else 'unsigned'}"
                )
            arrays.append(hls_thresholds(thr))
            return HlsCall("cs_mvau.hpp", "cs::mvau", (*args, *(p[n] for n in _HLS_PARAMS[11:])),
                           tuple(arrays))
        return HlsCall("cs_mvau.hpp", "cs::mvau_noact", tuple(args), tuple(arrays))

    def accumulator(self, k: KernelInstance) -> Accumulator:
        p = k.params
        return Accumulator(
            weights=k.memories["WEIGHT_FILE"].values, in_bits=int(p["IN_BITS"]),
            in_signed=bool(p["IN_SIGNED"]), bits=int(p["ACC_BITS"]),
            signed=bool(p["ACC_SIGNED"]),
        )

    def with_acc_bits(self, k: KernelInstance, bits: int) -> KernelInstance:
        params = {**k.params, "ACC_BITS": bits, "ACC_SIGNED": 1, "THR_BITS": bits + 1}
        outputs = k.outputs
        if not int(k.params["N_THRES"]) and bits > int(k.params["OUT_BITS"]):
            # without activation the output is the accumulator: a wider one is emitted
            # whole (else synthesis would drop the bits the output cannot carry)
            params["OUT_BITS"] = bits
            outputs = (StreamFormat(bits, k.out.elems, True),)
        memories = dict(k.memories)
        if "THRESH_FILE" in memories:
            thr = memories["THRESH_FILE"]
            memories["THRESH_FILE"] = dataclasses.replace(
                thr, values=clip_thresholds(thr.values, bits, True), bits=bits + 1, signed=True
            )
        return dataclasses.replace(k, params=params, memories=memories, outputs=outputs)

    def overflow_probe(self, k: KernelInstance) -> IntArray:
        acc = self.accumulator(k)
        x_lo, x_hi = bounds.int_range(acc.in_bits, acc.in_signed)
        lo_x, hi_x = bounds.extreme_inputs(acc.weights, x_lo, x_hi)
        return whole_frames(np.concatenate([hi_x, lo_x]), int(k.params["N_VECTORS"]))

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
            "n_thresholds": None if thr is None else int(thr.shape[1]),
            "weight_count": int(w.size),
        }


#: cs::mvau's template parameters in declaration order (cs::mvau_noact: the first 11).
_HLS_PARAMS = (
    "MW", "MH", "PE", "SIMD", "N_VECTORS", "IN_BITS", "IN_SIGNED", "W_BITS", "ACC_BITS",
    "ACC_SIGNED", "OUT_BITS", "N_THRES", "THR_BITS", "ACT_BIAS",
)


def whole_frames(vectors: IntArray, per_frame: int) -> IntArray:
    """Probe vectors grouped into frames of ``per_frame`` vectors, the last frame filled up
    by repeating the first vectors (a kernel consumes whole frames)."""
    n = -(-len(vectors) // per_frame) * per_frame
    idx = np.arange(n) % len(vectors)
    return vectors[idx].reshape(n // per_frame, -1)
