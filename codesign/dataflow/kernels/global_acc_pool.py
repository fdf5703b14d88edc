"""GlobalAccPool: FINN's per-channel sum over every pixel of a frame, what finn-plus
1.6.1's ``InferGlobalAccPoolLayer`` makes of a GlobalAveragePool on an integer input
(GlobalAccPool, then a scalar Mul by 1/(H*W) that stays a float op of the graph; NCHW
Transposes around it, which cancel against the streamlined graph's).
RTL: ``cs_global_acc_pool``.

Its input is NHWC, (H*W, C/PE, PE) words per frame; its output one pixel, C/PE words.
The sums are FINN's output type (``get_output_datatype``: the smallest type holding
H*W times the input's extreme), so they never wrap. That is why the kernel declares no
:class:`~codesign.dataflow.kernels.Accumulator`: with weights all one and an exact
width there is nothing for the overflow proof to find, and no ovf monitor in the RTL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    int_dtype,
    refuse_unknown_params,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.errors import LoweringError


def global_acc_pool(x: np.ndarray, channels: int) -> IntArray:
    """Per frame (rows of ``x``, NHWC pixels of ``channels`` values), the sum of each
    channel over the pixels.

    >>> global_acc_pool(np.array([[1, -2, 3, 4, 5, 6]]), 2).tolist()
    [[9, 8]]
    """
    x = np.asarray(x, dtype=np.int64)
    return x.reshape(len(x), -1, channels).sum(axis=1)


#: cs::global_acc_pool's template parameters in declaration order.
_HLS_PARAMS = ("PE", "NF", "PIXELS", "IN_BITS", "SIGNED", "OUT_BITS")


def _infer_global_acc_pool() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.global_acc_pool import (
        InferGlobalAccPoolLayer,
    )

    return [InferGlobalAccPoolLayer()]


def _pixels(node: Any, inst: Any) -> int:
    """H*W of a node of one image per frame, numInputVectors = [1, H, W]; refuse others."""
    vecs = [int(v) for v in inst.get_nodeattr("numInputVectors")]
    if len(vecs) != 3 or vecs[0] != 1:
        raise LoweringError(
            f"node {node.name} (GlobalAccPool): numInputVectors={vecs} is not supported; "
            "accepted: [1, H, W] (one NHWC image per frame)"
        )
    return vecs[1] * vecs[2]


@register
class GlobalAccPool(Kernel):
    name = "global_acc_pool"
    op_types = ("GlobalAccPool",)
    lowerings = (
        Lowering(
            "InferGlobalAccPoolLayer", _infer_global_acc_pool, guard=("GlobalAveragePool",),
            # FINN's builder order: after the elementwise ops, so the float Mul by 1/(H*W)
            # it inserts is not offered to InferElementwiseBinaryOperation
            after=("InferElementwiseBinaryOperation",),
            lowers=(LoweredOp("GlobalAveragePool", "GlobalAccPool (integer input) + a scalar "
                              "Mul by 1/(H*W)", on_host=True),),
        ),
    )
    rtl_module = "cs_global_acc_pool"
    fold = (("PE", "NumChannels"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        pixels = _pixels(node, inst)
        pe = int(inst.get_nodeattr("PE"))
        nf = int(inst.get_nodeattr("NumChannels")) // pe
        bits, signed = int_dtype(inst, "inputDataType")
        out = inst.get_output_datatype()  # derived by FINN: holds every sum
        return self.instance(
            node,
            params={"PE": pe, "NF": nf, "PIXELS": pixels, "IN_BITS": bits,
                    "SIGNED": int(signed), "OUT_BITS": out.bitwidth()},
            inputs=(StreamFormat(bits, pe, signed),),
            outputs=(StreamFormat(out.bitwidth(), pe, out.signed()),),
            words_in=(pixels * nf,), words_out=(nf,),
            est_cycles=self.cycles(node),
        )

    def cycles(self, node: Any) -> int:
        """One input word per cycle, the sums leaving while the next frame streams in:
        H*W*C/PE (FINN's get_exp_cycles adds C/PE for the output)."""
        inst = getCustomOp(node)
        nf = int(inst.get_nodeattr("NumChannels")) // int(inst.get_nodeattr("PE"))
        return _pixels(node, inst) * nf

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        return (global_acc_pool(x, int(k.params["PE"]) * int(k.params["NF"])),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::global_acc_pool`` of hls/cs_global_acc_pool.hpp (one frame per call)."""
        refuse_unknown_params(k, _HLS_PARAMS, "hls/cs_global_acc_pool.hpp")
        args = tuple(int(k.params[n]) for n in _HLS_PARAMS)
        return HlsCall("cs_global_acc_pool.hpp", "cs::global_acc_pool", args)

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": int(inst.get_nodeattr("NumChannels")),
                "pixels": _pixels(node, inst),
                "out_dtype": inst.get_output_datatype().name}
