"""DuplicateStreams: FINN's fork of one stream into NumOutputStreams identical streams (the
skip and the conv path of a residual block). RTL: ``cs_duplicate_streams``.

Each output has its own small FIFO (DEPTH words, 2 by default) and a word is accepted when
every output FIFO has room, so a consumer that stalls for a few cycles does not stall the
others (no lock-step between the branches until its FIFO is full).
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
from codesign.dataflow.kernels._lowering import Lowering
from codesign.errors import LoweringError

MAX_OUTPUTS = 4
"""Output ports of cs_duplicate_streams (m0_axis .. m3_axis); N_OUT of them are used."""


def duplicate_streams(x: np.ndarray, n: int) -> tuple[IntArray, ...]:
    """``n`` copies of the stream ``x``.

    >>> [y.tolist() for y in duplicate_streams(np.array([[1, -2]]), 2)]
    [[[1, -2]], [[1, -2]]]
    """
    return tuple(np.array(x, dtype=np.int64) for _ in range(n))


def _infer_duplicate_streams() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.duplicate_streams import (
        InferDuplicateStreamsLayer,
    )

    return [InferDuplicateStreamsLayer()]


@register
class DuplicateStreams(Kernel):
    name = "duplicate_streams"
    op_types = ("DuplicateStreams",)
    # every fork of a HW layer's output (e.g. a residual input); last, once the other
    # lowerings made the layers on both sides
    lowerings = (Lowering("InferDuplicateStreamsLayer", _infer_duplicate_streams, last=True),)
    rtl_module = "cs_duplicate_streams"
    fold = (("PE", "NumChannels"),)
    moves_words = True

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        n_out = int(inst.get_nodeattr("NumOutputStreams"))
        if not 1 <= n_out <= MAX_OUTPUTS or n_out != len(node.output):
            raise LoweringError(
                f"node {node.name} (DuplicateStreams): NumOutputStreams={n_out} with "
                f"{len(node.output)} outputs; cs_duplicate_streams drives 1..{MAX_OUTPUTS} "
                "streams, one per node output"
            )
        bits, signed = int_dtype(inst, "inputDataType")
        pe = int(inst.get_nodeattr("PE"))
        fmt = StreamFormat(bits, pe, signed)
        words = stream_words(inst.get_folded_input_shape(0))
        return self.instance(
            node,
            params={"PE": pe, "ELEM_BITS": bits, "N_OUT": n_out, "DEPTH": 2},
            inputs=(fmt,), outputs=(fmt,) * n_out,
            words_in=(words,), words_out=(words,) * n_out,
            est_cycles=self.cycles(node),
        )

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        return duplicate_streams(x, int(k.params["N_OUT"]))

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::duplicate_streams`` of hls/cs_duplicate_streams.hpp (one overload per
        output count: the call passes N_OUT output streams). DEPTH, the RTL kernel's
        per-output FIFO, is the HLS top's stream depth there."""
        refuse_unknown_params(k, ("PE", "ELEM_BITS", "N_OUT", "DEPTH"),
                              "hls/cs_duplicate_streams.hpp")
        p = k.params
        return HlsCall("cs_duplicate_streams.hpp", "cs::duplicate_streams",
                       (int(p["PE"]), int(p["ELEM_BITS"]), k.words_in[0]))

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return ("s_axis",), tuple(f"m{i}_axis" for i in range(int(k.params["N_OUT"])))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": inst.get_nodeattr("NumChannels"),
                "outputs": inst.get_nodeattr("NumOutputStreams")}
