"""ConvolutionInputGenerator: FINN's sliding-window generator (im2col over an NHWC
stream), in front of the MVAU of a convolution, the VVAU of a depthwise convolution and
the Pool of a max-pool.

Stream order (FINN's RTL SWG, ``ConvolutionInputGenerator_rtl``): for each output pixel
(row-major), the window's elements as (kh, kw, C) for ``depthwise=0`` (the order of
FINN's Im2Col); for ``depthwise=1`` channel-fold-major, (C/SIMD, kh, kw, SIMD), which
the VVAU and Pool consume. The generic node's Python execution returns (kh, kw, C) in
both cases; for ``depthwise=1`` the stream is that tensor with the channel folds moved
out (:func:`depthwise_order`). Either way SIMD elements per word.

RTL: ``cs_swg``, a circular line buffer read once per input word (see its header for the
buffer depth and timing); :func:`swg_cycles` is its exact cycle count per frame.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Window:
    """The geometry of one sliding window: input (H, W, C), kernel, stride, folding."""

    ifm: tuple[int, int]
    kernel: tuple[int, int]
    stride: tuple[int, int]
    channels: int
    simd: int
    depthwise: bool

    @property
    def ofm(self) -> tuple[int, int]:
        return ((self.ifm[0] - self.kernel[0]) // self.stride[0] + 1,
                (self.ifm[1] - self.kernel[1]) // self.stride[1] + 1)

    @property
    def cf(self) -> int:
        """Channel folds: words per input pixel."""
        return self.channels // self.simd

    @property
    def window_words(self) -> int:
        """Words from a window's first to its last input word, inclusive."""
        return ((self.kernel[0] - 1) * self.ifm[1] + self.kernel[1]) * self.cf

    @property
    def buffer_words(self) -> int:
        """Depth of cs_swg's buffer: the window, plus (stride_h - 1) rows and stride_w
        pixels, so the next rows stream in while the current ones are read out."""
        return (self.window_words + (self.stride[0] - 1) * self.ifm[1] * self.cf
                + self.stride[1] * self.cf)

    def offsets(self) -> IntArray:
        """Input-word offsets of a window's output words from the window's first word, in
        stream order.

        >>> Window((3, 4), (2, 2), (1, 1), 2, 1, False).offsets().tolist()
        [0, 1, 2, 3, 8, 9, 10, 11]
        >>> Window((3, 4), (2, 2), (1, 1), 2, 1, True).offsets().tolist()
        [0, 2, 8, 10, 1, 3, 9, 11]
        """
        kh, kw = self.kernel
        cf, row = self.cf, self.ifm[1] * self.cf
        ky, kx, c = np.meshgrid(np.arange(kh), np.arange(kw), np.arange(cf),
                                indexing="ij")
        off = ky * row + kx * cf + c
        if self.depthwise:
            off = off.transpose(2, 0, 1)
        return off.reshape(-1).astype(np.int64)

    def starts(self) -> IntArray:
        """First input word of each window of a frame, in output order."""
        oh, ow = self.ofm
        oy, ox = np.meshgrid(np.arange(oh), np.arange(ow), indexing="ij")
        return ((oy * self.stride[0] * self.ifm[1] + ox * self.stride[1]) * self.cf).reshape(-1)


def sliding_window(x: np.ndarray, w: Window) -> IntArray:
    """The SWG's output stream for frames ``x`` (frames, H*W*C in NHWC order): one row of
    OH*OW*kh*kw*C values per frame, in stream order.

    >>> x = np.arange(3 * 3 * 2).reshape(1, -1)  # 3x3 pixels, 2 channels
    >>> sliding_window(x, Window((3, 3), (2, 2), (1, 1), 2, 1, False))[0, :8].tolist()
    [0, 1, 2, 3, 6, 7, 8, 9]
    >>> sliding_window(x, Window((3, 3), (2, 2), (1, 1), 2, 1, True))[0, :8].tolist()
    [0, 2, 6, 8, 1, 3, 7, 9]
    >>> sliding_window(x, Window((3, 3), (1, 1), (2, 2), 2, 2, False)).tolist()
    [[0, 1, 4, 5, 12, 13, 16, 17]]
    """
    (h, wd), (kh, kw), (sh, sw) = w.ifm, w.kernel, w.stride
    oh, ow = w.ofm
    img = np.asarray(x, dtype=np.int64).reshape(-1, h, wd, w.channels)
    iy = (np.arange(oh) * sh)[:, None, None, None] + np.arange(kh)[None, None, :, None]
    ix = (np.arange(ow) * sw)[None, :, None, None] + np.arange(kw)[None, None, None, :]
    win = img[:, iy, ix, :]  # (frames, oh, ow, kh, kw, C)
    if w.depthwise:
        win = depthwise_order(win.reshape(len(img), oh, ow, kh * kw * w.channels), kh * kw,
                              w.channels, w.simd)
    return win.reshape(len(img), -1)


def depthwise_order(t: np.ndarray, k2: int, channels: int, simd: int) -> IntArray:
    """FINN's (..., kh*kw*C) im2col tensor in depthwise stream order (..., C/SIMD, kh*kw,
    SIMD), as ``ConvolutionInputGenerator_rtl`` interleaves it.

    >>> depthwise_order(np.arange(8).reshape(1, 8), 2, 4, 2).tolist()
    [[0, 1, 4, 5, 2, 3, 6, 7]]
    """
    t = np.asarray(t, dtype=np.int64)
    lead = t.shape[:-1]
    t = t.reshape(*lead, k2, channels // simd, simd)
    return np.moveaxis(t, -3, -2).reshape(*lead, -1)


@functools.lru_cache(maxsize=256)
def swg_cycles(w: Window, frames: int = 3) -> int:
    """Cycles per frame of cs_swg in steady state (input always valid, output always
    ready): its handshake rules replayed over ``frames`` frames, the last interval
    between the frames' final output words.

    cs_swg writes input word n in any cycle in which n - (first word of the current
    window) < buffer_words, and issues a window word in any cycle after that word's
    write; a window's first word issues the cycle after the previous window's last.

    Both rules are running maxima, so each window is replayed with numpy at once (its
    new input words, then its output words) rather than word by word: a 128x128x64
    window of 576 words per pixel takes a second, not minutes. Cached per window (the
    folding asks again for every candidate SIMD).

    >>> swg_cycles(Window((8, 8), (3, 3), (1, 1), 2, 1, False))  # 648 output words
    667
    >>> swg_cycles(Window((8, 8), (2, 2), (2, 2), 2, 1, True))  # 128 words in and out
    128
    """
    if frames < 2:
        raise ValueError(f"a frame interval needs two frames or more, not {frames}")
    frame_words = w.ifm[0] * w.ifm[1] * w.cf
    offs = w.offsets()
    starts = np.concatenate([w.starts() + f * frame_words for f in range(frames)])
    n_words = int(starts[-1] + offs.max()) + 1
    words = np.arange(n_words, dtype=np.int64)
    # the window whose start lets word n be written: the first with start > n - depth
    blocker = np.searchsorted(starts, words - w.buffer_words, side="right")
    written = np.empty(n_words, dtype=np.int64)  # cycle in which each input word is written
    win_start = np.zeros(len(starts) + 1, dtype=np.int64)  # cycle window i becomes current
    lag = -np.arange(len(offs), dtype=np.int64) + 1  # issue j waits for write + 1, minus j
    done, base, t = 0, 0, -1  # words written; written[n] - n floor; last issue cycle
    per_frame = len(w.starts())
    frame_end: list[int] = []
    for i, s in enumerate(starts.tolist()):
        need = offs + s
        hi = int(need.max()) + 1
        if hi > done:  # write[n] = max(write[n-1] + 1, win_start[blocker[n]])
            ahead = win_start[blocker[done:hi]] - words[done:hi]
            run = np.maximum.accumulate(np.maximum(ahead, base))
            written[done:hi] = run + words[done:hi]
            done, base = hi, int(run[-1])
        # issue[j] = max(issue[j-1] + 1, written[need[j]] + 1): the last one in closed form
        t = len(offs) - 1 + max(t + 1, int((written[need] + lag).max()))
        win_start[i + 1] = t + 1
        if (i + 1) % per_frame == 0:
            frame_end.append(t)
    return frame_end[-1] - frame_end[-2]


def window_of(inst: Any) -> Window:
    """The :class:`Window` of a ConvolutionInputGenerator custom op."""
    kh, kw = (int(v) for v in inst.get_nodeattr("ConvKernelDim"))
    h, wd = (int(v) for v in inst.get_nodeattr("IFMDim"))
    sh, sw = (int(v) for v in inst.get_nodeattr("Stride"))
    return Window((h, wd), (kh, kw), (sh, sw), int(inst.get_nodeattr("IFMChannels")),
                  int(inst.get_nodeattr("SIMD")), bool(inst.get_nodeattr("depthwise")))


def finn_rtl_cycles(node: Any) -> int:
    """FINN's cycle estimate for this node as ``ConvolutionInputGenerator_rtl`` (the only
    FINN implementation in finn-plus 1.6.1; the generic op estimates 0)."""
    spec = copy.deepcopy(node)
    spec.op_type = "ConvolutionInputGenerator_rtl"
    spec.domain = "finn.custom_op.fpgadataflow.rtl"
    return int(getCustomOp(spec).get_exp_cycles())


def _infer_conv_inp_gen() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.conv_inp_gen import InferConvInpGen
    from finn.transformation.move_reshape import RemoveCNVtoFCFlatten

    # then the CNV-to-FC flatten (Transpose + Reshape) is absorbed into the first FC MVAU
    return [InferConvInpGen(), RemoveCNVtoFCFlatten()]


@register
class Swg(Kernel):
    name = "swg"
    op_types = ("ConvolutionInputGenerator",)
    # every Im2Col (a lowered Conv's, or the MaxPool lowering's) becomes a sliding window,
    # with an FMPadding before it where the window is padded
    lowerings = (
        Lowering(
            "InferConvInpGen", _infer_conv_inp_gen, guard=("Im2Col",), after=("InferPool",),
            lowers=(LoweredOp("Conv", "FMPadding + ConvolutionInputGenerator + MVAU, or VVAU "
                              "if depthwise"),),
        ),
    )
    rtl_module = "cs_swg"
    fold = (("SIMD", "IFMChannels"),)

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        dil = [int(v) for v in inst.get_nodeattr("Dilation")]
        if dil != [1, 1]:
            raise LoweringError(
                f"node {node.name} (ConvolutionInputGenerator): Dilation={dil} is not "
                "supported by cs_swg; accepted: Dilation=[1, 1]"
            )
        if inst.get_nodeattr("parallel_window"):
            raise LoweringError(
                f"node {node.name} (ConvolutionInputGenerator): parallel_window=1 (a whole "
                "window per word) is not supported by cs_swg; accepted: parallel_window=0 "
                "(SIMD elements per word)"
            )
        if inst.get_nodeattr("dynamic_mode"):
            raise LoweringError(
                f"node {node.name} (ConvolutionInputGenerator): dynamic_mode=1 is not "
                "supported by cs_swg; accepted: dynamic_mode=0"
            )
        w = window_of(inst)
        ofm = tuple(int(v) for v in inst.get_nodeattr("OFMDim"))
        if ofm != w.ofm or min(w.ofm) < 1:
            raise LoweringError(
                f"node {node.name} (ConvolutionInputGenerator): OFMDim={list(ofm)} does not "
                f"follow from IFMDim={list(w.ifm)}, ConvKernelDim={list(w.kernel)}, "
                f"Stride={list(w.stride)} without padding; expected {list(w.ofm)}"
            )
        bits, signed = int_dtype(inst, "inputDataType")
        fmt = StreamFormat(bits, w.simd, signed)
        return self.instance(
            node,
            params={
                "IFM_H": w.ifm[0], "IFM_W": w.ifm[1], "C": w.channels, "SIMD": w.simd,
                "K_H": w.kernel[0], "K_W": w.kernel[1], "S_H": w.stride[0],
                "S_W": w.stride[1], "DEPTHWISE": int(w.depthwise), "ELEM_BITS": bits,
            },
            inputs=(fmt,), outputs=(fmt,),
            words_in=(stream_words(inst.get_folded_input_shape(0)),),
            # the generic op's get_folded_output_shape fails in finn-plus 1.6.1 (it calls
            # use_parallel_window_output, which only the _rtl subclass defines)
            words_out=(w.ofm[0] * w.ofm[1] * len(w.offsets()),),
            est_cycles=self.cycles(node),
        )

    def cycles(self, node: Any) -> int:
        """cs_swg's own cycles per frame (:func:`swg_cycles`). FINN's generic op says 0;
        FINN's estimate of its _rtl SWG counts a window's fill as dead time and, for
        depthwise stride > 1, a per-fold replay cs_swg does not do (up to 46 % slower than
        cs_swg on a max-pool window). FINN's figure stays a layer fact
        (``finn_rtl_cycles``)."""
        return swg_cycles(window_of(getCustomOp(node)))

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        (x,) = inputs
        return (sliding_window(x, window_params(k.params)),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::swg`` of hls/cs_swg.hpp, its template parameters cs_swg's."""
        refuse_unknown_params(k, _HLS_PARAMS, "hls/cs_swg.hpp")
        return HlsCall("cs_swg.hpp", "cs::swg", tuple(int(k.params[n]) for n in _HLS_PARAMS))

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        w = window_of(getCustomOp(node))
        return {"channels": w.channels, "window": list(w.kernel), "stride": list(w.stride),
                "depthwise": w.depthwise, "buffer_words": w.buffer_words,
                "finn_rtl_cycles": finn_rtl_cycles(node)}


#: cs::swg's template parameters in declaration order.
_HLS_PARAMS = ("IFM_H", "IFM_W", "C", "SIMD", "K_H", "K_W", "S_H", "S_W", "DEPTHWISE",
               "ELEM_BITS")


def window_params(p: dict[str, Any]) -> Window:
    """The :class:`Window` of cs_swg parameters (as :meth:`Swg.read` sets them)."""
    return Window((int(p["IFM_H"]), int(p["IFM_W"])), (int(p["K_H"]), int(p["K_W"])),
                  (int(p["S_H"]), int(p["S_W"])), int(p["C"]), int(p["SIMD"]),
                  bool(int(p["DEPTHWISE"])))
