"""The checks of a lowered graph and an accelerator against the graph they come from:
predictions, accuracy, and the lowered graph's tolerance to rounding ties."""

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


def check_hw_graph(want: np.ndarray, got: np.ndarray) -> int:
    """Compare the lowered graph's outputs ``got`` with QONNX's ``want`` (images x
    logits); return how many images differ beyond float rounding.

    The per-channel float scale/bias after the last MVAU runs in another order than in
    QONNX, so logits agree to float rounding. Beyond that, an activation that lands
    exactly on a rounding tie is one step apart (QONNX rounds half to even, FINN's
    thresholds count x >= t): allowed on 1 % of the images (at least one), never changing
    a prediction (a graph ending in a TopK emits its predictions: those must all agree).
    The accelerator is checked bit-exactly against FINN's graph, not QONNX.

    >>> want = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    >>> check_hw_graph(want, want + [[0, 0], [0, 0], [0, 0.02]])
    1
    >>> try:
    ...     check_hw_graph(want, want + [[0, 0], [0, 0], [5, 0]])
    ... except VerificationError as err:
    ...     print(str(err).split(" (")[0], "/", str(err).split("), ")[1].split(";")[0])
    lowered FINN graph differs from QONNX on 1 of 3 test images / 1 with another prediction
    >>> try:
    ...     check_hw_graph(np.array([[3.0], [1.0]]), np.array([[3.0], [2.0]]))
    ... except VerificationError as err:
    ...     print(str(err).split("), ")[1].split(";")[0])
    1 with another prediction
    """
    flipped = np.flatnonzero(predictions(want) != predictions(got))
    differing = np.flatnonzero(~np.isclose(want, got, rtol=1e-5, atol=1e-5).all(axis=-1))
    allowed = max(1, len(want) // 100)
    if flipped.size or differing.size > allowed:
        first = int(flipped[0]) if flipped.size else int(differing[0])
        raise VerificationError(
            f"lowered FINN graph differs from QONNX on {differing.size} of {len(want)} "
            f"test images (at most {allowed} may differ by a rounding tie), "
            f"{flipped.size} with another prediction; first: image {first}, "
            f"max |diff| {float(np.abs(want[first] - got[first]).max()):.3g}"
        )
    return int(differing.size)
