"""The checks of a lowered graph and an accelerator against the graph they come from:
the family's metric and agreement (:mod:`codesign.frontend.metrics`), and the lowered
graph's equality with the QONNX graph."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from codesign.errors import VerificationError
from codesign.frontend.metrics import Metric, differing_rows, predictions

if TYPE_CHECKING:
    from codesign.config import FlowConfig


def check_hw_graph(want: np.ndarray, got: np.ndarray) -> None:
    """Check the lowered graph's outputs ``got`` against the QONNX graph's ``want`` (its
    float64 execution, samples x outputs): every sample equal to float rounding.

    Streamlining's thresholds are exact (:mod:`codesign.dataflow.lower.exact`): half to
    even on ties, integers beyond float32 kept, so nothing may differ; a difference is
    an error that says how many samples differ, how many change their prediction, and
    by how much. The accelerator is then checked bit-exactly against the lowered graph.

    >>> want = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    >>> check_hw_graph(want, want + 1e-7)
    >>> try:
    ...     check_hw_graph(want, want + [[0, 0], [0, 0], [0, 0.25]])
    ... except VerificationError as err:
    ...     print(str(err).split(" on ")[1])
    1 of 3 test samples, 0 with another prediction; first: sample 2, max |diff| 0.25
    """
    differing = differing_rows(want, got)
    if differing.size:
        flipped = np.flatnonzero(predictions(want) != predictions(got))
        first = int(differing[0])
        raise VerificationError(
            f"lowered FINN graph differs from the QONNX graph (float64) on {differing.size} "
            f"of {len(want)} test samples, {flipped.size} with another prediction; "
            f"first: sample {first}, max |diff| {float(np.abs(want[first] - got[first]).max()):.3g}"
        )


def metric_of(cfg: FlowConfig) -> Metric:
    """The metric of the config's model family."""
    from codesign.frontend.models import family

    return family(cfg.model.kind).metric


def score(cfg: FlowConfig, outputs: np.ndarray, targets: np.ndarray | None) -> float | None:
    """The family's metric of ``outputs`` (None where the test set has no targets)."""
    if targets is None:
        return None
    return metric_of(cfg).score(outputs, targets, cfg.quant.input_bits)
