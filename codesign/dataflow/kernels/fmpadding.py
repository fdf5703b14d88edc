"""FMPadding: FINN's zero padding of an NHWC feature map in the stream (in front of a
sliding window whose convolution pads). RTL: ``cs_fmpadding`` (one output word per
cycle, FINN's estimate exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp

from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    StreamFormat,
    int_dtype,
    refuse_unknown_params,
    stream_words,
)
from codesign.errors import LoweringError


def fm_padding(x: np.ndarray, img: tuple[int, int], channels: int,
               pad: tuple[int, int, int, int]) -> IntArray:
    """Frames ``x`` (frames, H*W*C, NHWC) padded with zeros by ``pad`` = (top, left,
    bottom, right) pixels, as FINN's ``Padding`` attribute orders them; NHWC rows out.

    >>> fm_padding(np.array([[1, 2, 3, 4]]), (2, 2), 1, (1, 0, 0, 1)).tolist()
    [[0, 0, 0, 1, 2, 0, 3, 4, 0]]
    """
    h, w = img
    t, left, b, r = pad
    x = np.asarray(x, dtype=np.int64).reshape(-1, h, w, channels)
    y = np.pad(x, ((0, 0), (t, b), (left, r), (0, 0)))
    return y.reshape(len(x), -1)


#: cs::fmpadding's template parameters in declaration order.
_HLS_PARAMS = ("IMG_H", "IMG_W", "C", "SIMD", "PAD_T", "PAD_L", "PAD_B", "PAD_R", "ELEM_BITS")


@register
class FmPadding(Kernel):
    name = "fmpadding"
    op_types = ("FMPadding",)
    created_by = "InferConvInpGen (the swg kernel's lowering), before a padded window"
    rtl_module = "cs_fmpadding"
    fold = (("SIMD", "NumChannels"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        if int(inst.get_nodeattr("numInputVectors")) != 1:
            raise LoweringError(
                f"node {node.name} (FMPadding): numInputVectors="
                f"{inst.get_nodeattr('numInputVectors')} is not supported by cs_fmpadding; "
                "accepted: numInputVectors=1 (one image per frame)"
            )
        h, w = (int(v) for v in inst.get_nodeattr("ImgDim"))
        pad = [int(v) for v in inst.get_nodeattr("Padding")]
        if len(pad) != 4 or min(pad) < 0:
            raise LoweringError(
                f"node {node.name} (FMPadding): Padding={pad} must be four non-negative "
                "pixel counts [top, left, bottom, right]"
            )
        c, simd = int(inst.get_nodeattr("NumChannels")), int(inst.get_nodeattr("SIMD"))
        bits, signed = int_dtype(inst, "inputDataType")
        fmt = StreamFormat(bits, simd, signed)
        return self.instance(
            node,
            params={
                "IMG_H": h, "IMG_W": w, "C": c, "SIMD": simd, "PAD_T": pad[0],
                "PAD_L": pad[1], "PAD_B": pad[2], "PAD_R": pad[3], "ELEM_BITS": bits,
            },
            inputs=(fmt,), outputs=(fmt,),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        p = k.params
        pad = (int(p["PAD_T"]), int(p["PAD_L"]), int(p["PAD_B"]), int(p["PAD_R"]))
        return (fm_padding(x, (int(p["IMG_H"]), int(p["IMG_W"])), int(p["C"]), pad),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::fmpadding`` of hls/cs_fmpadding.hpp, its template parameters
        cs_fmpadding's."""
        refuse_unknown_params(k, _HLS_PARAMS, "hls/cs_fmpadding.hpp")
        return HlsCall("cs_fmpadding.hpp", "cs::fmpadding",
                       tuple(int(k.params[n]) for n in _HLS_PARAMS))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": int(inst.get_nodeattr("NumChannels")),
                "padding": [int(v) for v in inst.get_nodeattr("Padding")]}
