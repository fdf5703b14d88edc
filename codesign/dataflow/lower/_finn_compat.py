"""Work-arounds for finn-plus 1.6.1 defects met on the generic (unspecialized) graph.

Imported by :mod:`codesign.dataflow.lower` before any lowering runs; each fix only adds what is
missing, so a FINN release that has it is left alone.
"""

from __future__ import annotations

import functools

from finn.custom_op.fpgadataflow.convolutioninputgenerator import ConvolutionInputGenerator


def _use_parallel_window_output(self: ConvolutionInputGenerator) -> bool:
    return bool(self.get_nodeattr("parallel_window"))


# The generic ConvolutionInputGenerator's get_folded_output_shape calls
# use_parallel_window_output, which only its _rtl subclass defines: InsertDWC,
# InsertFIFO and every reader of the generic graph's stream shapes fail without it.
# Its meaning is the generic node's own parallel_window attribute, as in the subclass.
if not hasattr(ConvolutionInputGenerator, "use_parallel_window_output"):
    ConvolutionInputGenerator.use_parallel_window_output = _use_parallel_window_output


def _vvau_python_exec_in_window_order() -> None:
    """VVAU.execute_node reads its input in the standard Im2Col order (kernel position
    major, channel minor: what the generic ConvolutionInputGenerator's Python execution
    emits) only when its producer node *is* that generator; behind any other producer
    (the StreamingFIFO that InsertFIFO puts between them) it expects the hardware's
    PE-interleaved order that only cppsim/rtlsim generators produce, and computes garbage
    on a Python-executed graph with PE < Channels. In a graph executed in Python every
    VVAU input is in the standard order, so the VVAU executes as if PE = Channels, which
    reads it that way whatever the producer (PE does not change the result)."""
    from finn.custom_op.fpgadataflow.vectorvectoractivation import VVAU

    original = VVAU.execute_node
    if hasattr(original, "__wrapped__"):
        return  # already wrapped

    @functools.wraps(original)
    def execute_node(self: VVAU, context: dict, graph: object) -> None:
        pe = self.get_nodeattr("PE")
        self.set_nodeattr("PE", self.get_nodeattr("Channels"))
        try:
            original(self, context, graph)
        finally:
            self.set_nodeattr("PE", pe)

    VVAU.execute_node = execute_node


_vvau_python_exec_in_window_order()


def _mvau_python_exec_thresholds_features() -> None:
    """MVAU.execute_node thresholds axis 1 of its accumulators unless they are 4-D (NHWC):
    on a 3-D (batch, tokens, features) input, a transformer's, it compares each token's
    sums with the thresholds of the channel numbered like the token (and fails where
    the counts differ). Flattening the token rows into one axis of vectors makes axis 1
    the features; the result takes the node's shape again. Other ranks are left to FINN."""
    import numpy as np
    from finn.custom_op.fpgadataflow.matrixvectoractivation import MVAU

    original = MVAU.execute_node
    if hasattr(original, "__wrapped__"):
        return  # already wrapped

    @functools.wraps(original)
    def execute_node(self: MVAU, context: dict, graph: object) -> None:
        vectors = list(self.get_nodeattr("numInputVectors"))
        if len(vectors) != 2 or self.get_nodeattr("noActivation"):
            original(self, context, graph)
            return
        self.set_nodeattr("numInputVectors", [int(np.prod(vectors))])
        try:
            original(self, context, graph)
        finally:
            self.set_nodeattr("numInputVectors", vectors)
        out = self.onnx_node.output[0]
        context[out] = context[out].reshape(*vectors, -1)

    MVAU.execute_node = execute_node


_mvau_python_exec_thresholds_features()
