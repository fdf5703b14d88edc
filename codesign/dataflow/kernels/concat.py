"""StreamingConcat: FINN's (finn.custom_op.fpgadataflow.concat) concatenation of 1..4
streams on the channel axis, what InferConcatLayer makes of a ``Concat`` on the last axis
of NHWC tensors with integer, non-constant inputs. RTL: ``cs_concat`` (one output word per
cycle, FINN's estimate exactly).

FINN takes one data type per input (``inputDataTypes``) and derives the output type as the
smallest that holds them all (UINT3 and INT4 give INT4, UINT8 and INT2 give INT9); each
element keeps its value, i.e. it is sign- or zero-extended by its own input's signedness.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsCall,
    IntArray,
    KernelInstance,
    StreamFormat,
    refuse_unknown_params,
)
from codesign.dataflow.kernels._channels import ChannelStreams, concat_channels
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.errors import LoweringError


def _infer_concat() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.concat import InferConcatLayer

    return [InferConcatLayer()]


def _input_dtypes(node: Any, n: int) -> list[tuple[int, bool]]:
    """(bits, signed) of each input, from ``inputDataTypes`` (one per input)."""
    inst = getCustomOp(node)
    names = list(inst.get_nodeattr("inputDataTypes"))
    if len(names) != n:
        raise LoweringError(
            f"node {node.name} (StreamingConcat): inputDataTypes={names} for {n} inputs; "
            "cs_concat takes one data type per input"
        )
    out = []
    for name in names:
        dt = DataType[name]
        if not dt.is_integer() or dt == DataType["BIPOLAR"]:
            raise LoweringError(
                f"node {node.name} (StreamingConcat): inputDataTypes holds {name}, not a "
                "two's-complement integer type; cs_concat takes integer streams only"
            )
        out.append((dt.bitwidth(), dt.signed()))
    return out


@register
class StreamingConcat(ChannelStreams):
    name = "concat"
    op_types = ("StreamingConcat",)
    lowerings = (
        Lowering(
            "InferConcatLayer", _infer_concat, guard=("Concat",),
            # FINN's builder order: after the sliding windows, before elementwise ops
            after=("InferConvInpGen",), before=("InferElementwiseBinaryOperation",),
            lowers=(LoweredOp("Concat", "StreamingConcat (last axis, integer streams)"),),
        ),
    )
    rtl_module = "cs_concat"
    moves_words = True
    many = "inputs"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        lay = self.layout(node)
        n = len(lay.channels)
        dtypes = _input_dtypes(node, n)
        odt = getCustomOp(node).get_output_datatype()  # FINN's: holds every input type
        params: dict[str, int | str] = {"SIMD": lay.simd, "N_IN": n, "OUT_BITS": odt.bitwidth()}
        for i, (fold, (bits, signed)) in enumerate(zip(lay.folds, dtypes, strict=True)):
            params |= {f"FOLD{i}": fold, f"BITS{i}": bits, f"SIGNED{i}": int(signed)}
        return self.instance(
            node, params=params,
            inputs=tuple(StreamFormat(b, lay.simd, s) for b, s in dtypes),
            outputs=(StreamFormat(odt.bitwidth(), lay.simd, odt.signed()),),
            words_in=tuple(lay.pixels * f for f in lay.folds),
            words_out=(lay.pixels * sum(lay.folds),),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        simd = int(k.params["SIMD"])
        channels = [simd * int(k.params[f"FOLD{i}"]) for i in range(int(k.params["N_IN"]))]
        return (concat_channels(inputs, channels),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::concat`` of hls/cs_concat.hpp (one overload per input count): SIMD,
        OUT_BITS, the pixels per frame, then FOLD, BITS, SIGNED of each input."""
        n = int(k.params["N_IN"])
        per = [f"{p}{i}" for i in range(n) for p in ("FOLD", "BITS", "SIGNED")]
        refuse_unknown_params(k, ("SIMD", "N_IN", "OUT_BITS", *per), "hls/cs_concat.hpp")
        folds = sum(int(k.params[f"FOLD{i}"]) for i in range(n))
        args = (int(k.params["SIMD"]), int(k.params["OUT_BITS"]), k.words_out[0] // folds,
                *(int(k.params[p]) for p in per))
        return HlsCall("cs_concat.hpp", "cs::concat", args)

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return tuple(f"s{i}_axis" for i in range(int(k.params["N_IN"]))), ("m_axis",)
