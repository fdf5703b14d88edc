"""UpsampleNearestNeighbour: FINN's nearest-neighbour upsampling of an NHWC feature map
(finn.custom_op.fpgadataflow.upsampler), what finn-plus 1.6.1's ``InferUpsample`` makes
of an ``Upsample`` or ``Resize`` (mode nearest) of an integer NHWC tensor.
RTL: ``cs_upsample`` (one output word per cycle, FINN's estimate exactly).

FINN's node has the input and output sizes per axis (HI, WI, HO, WO) and folds channels
by SIMD. Its Python execution resizes by ``round(HO/HI)`` and ``round(WO/WI)`` (an ONNX
Resize, half-pixel coordinates, rounding half down), which for an integer scale ``s``
takes output row ``o`` from input row ``o // s``; a non-integer ratio (which
InferUpsample can produce from a size or a fractional scale) is refused, naming the node.
A scale of 1 on one axis is a 1D upsampling (e.g. HI = HO = 1).
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
    stream_words,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.errors import LoweringError


def upsample_nn(x: np.ndarray, img_w: int, channels: int, scale: tuple[int, int]) -> IntArray:
    """Frames ``x`` (frames, H*W*C, NHWC) with every row repeated ``scale[0]`` times and
    every pixel ``scale[1]`` times (output pixel (y, x) is input pixel (y // sh, x // sw));
    NHWC rows out. The height follows from the frame length.

    >>> upsample_nn(np.array([[1, 2, 3, 4]]), 2, 1, (2, 2)).tolist()
    [[1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]]
    >>> upsample_nn(np.array([[1, -2, 3, -4]]), 2, 2, (1, 3)).tolist()
    [[1, -2, 1, -2, 1, -2, 3, -4, 3, -4, 3, -4]]
    """
    x = np.asarray(x, dtype=np.int64)
    img = x.reshape(len(x), -1, img_w, channels)
    y = np.repeat(np.repeat(img, scale[0], axis=1), scale[1], axis=2)
    return y.reshape(len(x), -1)


#: cs_upsample's parameters (and the first template parameters of cs::upsample, which
#: then takes the input rows of a frame).
_PARAMS = ("IMG_W", "C", "SIMD", "SCALE_H", "SCALE_W", "ELEM_BITS")


def _infer_upsample() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.upsample import InferUpsample

    return [InferUpsample()]


def _scale(node: Any, inst: Any, axis: str) -> int:
    """The integer scale of one axis (``H`` or ``W``): ``{axis}O / {axis}I``; a
    non-integer ratio is refused naming the node."""
    size_in, size_out = int(inst.get_nodeattr(f"{axis}I")), int(inst.get_nodeattr(f"{axis}O"))
    if size_in < 1 or size_out < size_in or size_out % size_in:
        raise LoweringError(
            f"node {node.name} (UpsampleNearestNeighbour): {axis}I={size_in}, {axis}O="
            f"{size_out} is not an integer scale; cs_upsample (and FINN's Python execution, "
            f"which resizes by round({axis}O/{axis}I)) takes {axis}O = s * {axis}I, s >= 1"
        )
    return size_out // size_in


@register
class Upsample(Kernel):
    name = "upsample"
    op_types = ("UpsampleNearestNeighbour",)
    lowerings = (
        Lowering(
            "InferUpsample", _infer_upsample, guard=("Upsample", "Resize"),
            # FINN's builder order; it needs the input's integer type and NHWC layout
            # (tensor annotations the earlier lowerings keep), not their HW layers
            after=("InferElementwiseBinaryOperation",),
            lowers=tuple(
                LoweredOp(op, "UpsampleNearestNeighbour (nearest-neighbour, integer scale, "
                          "NHWC)")
                for op in ("Upsample", "Resize")
            ),
        ),
    )
    rtl_module = "cs_upsample"
    fold = (("SIMD", "NumChannels"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        if int(inst.get_nodeattr("batchSize")) != 1:
            raise LoweringError(
                f"node {node.name} (UpsampleNearestNeighbour): batchSize="
                f"{inst.get_nodeattr('batchSize')} is not supported by cs_upsample; "
                "accepted: batchSize=1 (one image per frame)"
            )
        scale_h, scale_w = _scale(node, inst, "H"), _scale(node, inst, "W")
        c, simd = int(inst.get_nodeattr("NumChannels")), int(inst.get_nodeattr("SIMD"))
        bits, signed = int_dtype(inst, "inputDataType")
        fmt = StreamFormat(bits, simd, signed)
        return self.instance(
            node,
            params={"IMG_W": int(inst.get_nodeattr("WI")), "C": c, "SIMD": simd,
                    "SCALE_H": scale_h, "SCALE_W": scale_w, "ELEM_BITS": bits},
            inputs=(fmt,), outputs=(fmt,),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            words_out=(stream_words(inst.get_folded_output_shape(0)),),
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        p = k.params
        scale = (int(p["SCALE_H"]), int(p["SCALE_W"]))
        return (upsample_nn(x, int(p["IMG_W"]), int(p["C"]), scale),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::upsample`` of hls/cs_upsample.hpp: cs_upsample's parameters and the input
        rows of a frame (one frame per call; the RTL kernel needs no frame height)."""
        refuse_unknown_params(k, _PARAMS, "hls/cs_upsample.hpp")
        p = k.params
        rows = k.words_in[0] // (int(p["IMG_W"]) * int(p["C"]) // int(p["SIMD"]))
        return HlsCall("cs_upsample.hpp", "cs::upsample",
                       (*(int(p[n]) for n in _PARAMS), rows))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": int(inst.get_nodeattr("NumChannels")),
                "input_hw": [int(inst.get_nodeattr("HI")), int(inst.get_nodeattr("WI"))],
                "output_hw": [int(inst.get_nodeattr("HO")), int(inst.get_nodeattr("WO"))]}
