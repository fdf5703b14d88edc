"""What FINN's StreamingConcat and StreamingSplit share: channels of NHWC pixels spread over
several streams, ``ChannelsPerStream[i]`` channels on stream i, every stream folded by one
SIMD (``numInputVectors`` pixels per frame). The golden functions, the stream-count limit
of their rtl/ and hls/ kernels, and their folding (SIMD divides every stream's channels).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qonnx.custom_op.registry import getCustomOp

from codesign.dataflow.kernels._base import IntArray, Kernel, divisors
from codesign.errors import LoweringError

MAX_STREAMS = 4
"""Streams of cs_concat's inputs (s0_axis .. s3_axis) and cs_split's outputs (m0_axis ..
m3_axis), and of the hls/ overloads."""


def concat_channels(xs: Sequence[np.ndarray], channels: Sequence[int]) -> IntArray:
    """Frames ``xs[i]`` (frames, pixels * channels[i]) joined pixel by pixel: each output
    pixel is input 0's channels, then input 1's, ... (FINN's ``np.concatenate`` on the last
    axis).

    >>> concat_channels([np.array([[1, 2, 3, 4]]), np.array([[-5, -6]])], [2, 1]).tolist()
    [[1, 2, -5, 3, 4, -6]]
    """
    frames = len(xs[0])
    parts = [np.asarray(x, dtype=np.int64).reshape(frames, -1, c)
             for x, c in zip(xs, channels, strict=True)]
    return np.concatenate(parts, axis=-1).reshape(frames, -1)


def split_channels(x: np.ndarray, channels: Sequence[int]) -> tuple[IntArray, ...]:
    """Frames ``x`` (frames, pixels * sum(channels)) cut pixel by pixel: output i holds
    each pixel's ``channels[i]`` channels after those of the outputs before it (FINN's
    ``np.split`` on the last axis).

    >>> [y.tolist() for y in split_channels(np.array([[1, 2, -5, 3, 4, -6]]), [2, 1])]
    [[[1, 2, 3, 4]], [[-5, -6]]]
    """
    frames = len(x)
    pix = np.asarray(x, dtype=np.int64).reshape(frames, -1, sum(channels))
    cuts = np.cumsum(channels)[:-1]
    return tuple(part.reshape(frames, -1) for part in np.split(pix, cuts, axis=-1))


@dataclass(frozen=True)
class ChannelLayout:
    """How a node's channels are spread over its streams."""

    simd: int
    channels: tuple[int, ...]
    pixels: int

    @property
    def folds(self) -> tuple[int, ...]:
        """Words per pixel on each stream."""
        return tuple(c // self.simd for c in self.channels)


class ChannelStreams(Kernel):
    """A kernel whose node has ``ChannelsPerStream``, ``SIMD`` and ``numInputVectors``:
    one stream per entry of ``ChannelsPerStream`` on the side :attr:`many` names."""

    many: str
    """``inputs`` (concat) or ``outputs`` (split): the side with one stream per entry."""

    def layout(self, node: Any) -> ChannelLayout:
        """The node's channels per stream, SIMD and pixels; refuse, naming the node, a
        stream count the kernels do not take or a SIMD that does not divide."""
        inst = getCustomOp(node)
        channels = tuple(int(c) for c in inst.get_nodeattr("ChannelsPerStream"))
        ports = len(node.input if self.many == "inputs" else node.output)
        if not 1 <= len(channels) <= MAX_STREAMS or len(channels) != ports or min(channels) < 1:
            raise LoweringError(
                f"node {node.name} ({node.op_type}): ChannelsPerStream={list(channels)} with "
                f"{ports} {self.many}; {self.rtl_module} takes 1..{MAX_STREAMS} streams of at "
                f"least one channel, one per node {self.many[:-1]}"
            )
        self.check_folding(node)
        pixels = math.prod(int(v) for v in inst.get_nodeattr("numInputVectors"))
        return ChannelLayout(int(inst.get_nodeattr("SIMD")), channels, pixels)

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        """SIMD divides every stream's channels (FINN's SetFolding: their common divisors)."""
        channels = [int(c) for c in inst.get_nodeattr("ChannelsPerStream")]
        return {"SIMD": divisors(math.gcd(*channels))}

    def check_folding(self, node: Any) -> None:
        inst = getCustomOp(node)
        channels = [int(c) for c in inst.get_nodeattr("ChannelsPerStream")]
        simd = int(inst.get_nodeattr("SIMD"))
        allowed = self.legal_folding(inst)["SIMD"]
        if simd not in allowed:
            raise LoweringError(
                f"illegal folding for node {node.name} ({node.op_type}): SIMD={simd} does not "
                f"divide every entry of ChannelsPerStream={channels}; allowed SIMD values: "
                f"{', '.join(map(str, allowed))}"
            )

    def layer_facts(self, model: Any, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        channels = [int(c) for c in inst.get_nodeattr("ChannelsPerStream")]
        return {"channels": sum(channels), "channels_per_stream": channels}
