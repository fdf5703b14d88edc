"""The checks of a lowered graph and an accelerator against the graph they come from:
predictions, accuracy, and the lowered graph's equality with the QONNX graph."""

from __future__ import annotations

import numpy as np

from codesign.errors import VerificationError


def predictions(out: np.ndarray) -> np.ndarray:
    """Class per sample of a graph's outputs: the argmax of its scores, or the value
    itself where the graph emits one (a top-1 label).

    >>> predictions(np.array([[0.1, 0.7, 0.2], [0.9, 0.0, 0.1]])).tolist()
    [1, 0]
    >>> predictions(np.array([[3.0], [7.0]])).tolist()
    [3, 7]
    """
    flat = out.reshape(len(out), -1)
    return flat[:, 0].astype(np.int64) if flat.shape[1] == 1 else flat.argmax(-1)


def accuracy(pred: np.ndarray, labels: np.ndarray | None) -> float | None:
    return None if labels is None else float((pred == labels).mean())


def differing_rows(want: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Indices of the samples whose outputs differ beyond float rounding (the float scale
    and bias after the last layer run in another order in the lowered graph).

    >>> differing_rows(np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [2.0, 0.5]]))
    array([1])
    """
    return np.flatnonzero(~np.isclose(want, got, rtol=1e-5, atol=1e-5).all(axis=-1))


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
