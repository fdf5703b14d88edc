"""StreamingSplit: FINN's (finn.custom_op.fpgadataflow.split) split of one stream into 1..4
streams on the channel axis, what InferSplitLayer makes of a ``Split`` with constant split
sizes on the last axis of an NHWC tensor with an integer, non-constant input. Every
output has the input's data type. RTL: ``cs_split`` (one input word per cycle, FINN's
estimate exactly).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    KernelInstance,
    StreamFormat,
    int_dtype,
    refuse_unknown_params,
)
from codesign.dataflow.kernels._channels import ChannelStreams, split_channels
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering


def _infer_split() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.split import InferSplitLayer

    return [InferSplitLayer()]


@register
class StreamingSplit(ChannelStreams):
    name = "split"
    op_types = ("StreamingSplit",)
    lowerings = (
        Lowering(
            "InferSplitLayer", _infer_split, guard=("Split",),
            # FINN's builder order: right after the concat layers
            after=("InferConcatLayer",), before=("InferElementwiseBinaryOperation",),
            lowers=(LoweredOp("Split", "StreamingSplit (last axis, constant sizes, integer "
                              "stream)"),),
        ),
    )
    rtl_module = "cs_split"
    moves_words = True
    many = "outputs"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        lay = self.layout(node)
        bits, signed = int_dtype(getCustomOp(node), "inputDataType")
        fmt = StreamFormat(bits, lay.simd, signed)
        params: dict[str, int | str] = {"SIMD": lay.simd, "ELEM_BITS": bits,
                                        "N_OUT": len(lay.channels)}
        params |= {f"FOLD{i}": f for i, f in enumerate(lay.folds)}
        return self.instance(
            node, params=params,
            inputs=(fmt,), outputs=(fmt,) * len(lay.channels),
            words_in=(lay.pixels * sum(lay.folds),),
            words_out=tuple(lay.pixels * f for f in lay.folds),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        simd = int(k.params["SIMD"])
        return split_channels(x, [simd * int(k.params[f"FOLD{i}"])
                                  for i in range(int(k.params["N_OUT"]))])

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::split`` of hls/cs_split.hpp (one overload per output count): SIMD,
        ELEM_BITS, the pixels per frame, then the FOLD of each output."""
        n = int(k.params["N_OUT"])
        folds = [f"FOLD{i}" for i in range(n)]
        refuse_unknown_params(k, ("SIMD", "ELEM_BITS", "N_OUT", *folds), "hls/cs_split.hpp")
        per_pixel = sum(int(k.params[f]) for f in folds)
        args = (int(k.params["SIMD"]), int(k.params["ELEM_BITS"]), k.words_in[0] // per_pixel,
                *(int(k.params[f]) for f in folds))
        return HlsCall("cs_split.hpp", "cs::split", args)

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("s_axis",), tuple(f"m{i}_axis" for i in range(int(k.params["N_OUT"])))
