"""The quality metric a model family is measured by: top-1 accuracy for a classifier,
PSNR for a family whose output is an image (super-resolution, denoising).

A family declares its metric (:attr:`codesign.frontend.models.registry.Family.metric`);
the flow trains with its loss, scores the float and quantized models, the lowered graph
and the accelerator with it, records the scores under its ``name`` (``accuracy`` or
``psnr``) and judges agreement its way: a classifier's predictions equal the graph's, an
image's output tensor equals the graph's. Numpy only (no torch): the report reads it too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FLOAT_RTOL = 1e-5
"""Outputs equal to float rounding: the float scale and bias after the last layer run in
another order in the lowered graph and on the host."""


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


def differing_rows(want: np.ndarray, got: np.ndarray) -> np.ndarray:
    """Indices of the samples whose outputs differ beyond float rounding.

    >>> differing_rows(np.array([[0.0, 1.0], [2.0, 0.0]]), np.array([[0.0, 1.0], [2.0, 0.5]]))
    array([1])
    """
    n = len(want)
    close = np.isclose(want.reshape(n, -1), got.reshape(n, -1), rtol=FLOAT_RTOL, atol=FLOAT_RTOL)
    return np.flatnonzero(~close.all(axis=-1))


def accuracy(outputs: np.ndarray, labels: np.ndarray, input_bits: int) -> float:
    """Share of samples whose prediction is the label.

    >>> accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), np.array([1, 1]), 8)
    0.5
    """
    return float((predictions(outputs) == labels).mean())


def psnr(outputs: np.ndarray, targets: np.ndarray, input_bits: int) -> float:
    """Peak signal-to-noise ratio in dB of output images against target images, both in
    pixel codes of ``input_bits`` (peak ``2**input_bits - 1``): the outputs as an image
    holds them (rounded half up, clipped to the code range), the mean squared error over
    the whole set (a per-patch mean would be infinite on any flat patch restored
    exactly); infinite where every code is equal.

    >>> psnr(np.array([[1.4, 300.0]]), np.array([[1, 255]]), 8)
    inf
    >>> round(psnr(np.array([[0.0, 0.0]]), np.array([[255, 0]]), 8), 3)
    3.01
    """
    peak = 2**input_bits - 1
    image = np.clip(np.floor(np.asarray(outputs, np.float64) + 0.5), 0, peak)
    target = np.asarray(targets, np.float64).reshape(image.shape)
    mse = float(np.mean((image - target) ** 2))
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def predictions_agree(want: np.ndarray, got: np.ndarray) -> float:
    """Share of samples whose prediction equals the reference's."""
    return float((predictions(got) == predictions(want)).mean())


def outputs_agree(want: np.ndarray, got: np.ndarray) -> float:
    """Share of samples whose whole output tensor equals the reference's (to float
    rounding of the host's final scale: the integer words are compared bit-exactly in
    simulation)."""
    return 1.0 - differing_rows(want, got).size / len(want)


@dataclass(frozen=True)
class Metric:
    name: str
    """Key of the scores in step summaries and ``results.json`` (``accuracy``, ``psnr``)."""
    label: str
    """Its name in tables and on axes."""
    unit: str
    """``%`` (a fraction shown as a percentage) or ``dB``."""
    classifies: bool
    """Targets are class labels (cross-entropy, argmax predictions), else images of
    pixel codes (mean squared error, whole output tensors)."""
    score: Callable[[np.ndarray, np.ndarray, int], float]
    """(outputs, targets, input bits) -> the score; higher is better."""
    agreement: Callable[[np.ndarray, np.ndarray], float]
    """(reference outputs, outputs) -> share of samples that agree."""

    def shown(self, value: float) -> float:
        """The value as tables and axes show it (a fraction in %).

        >>> ACCURACY.shown(0.975), PSNR.shown(27.5)
        (97.5, 27.5)
        """
        return 100.0 * value if self.unit == "%" else value


ACCURACY = Metric("accuracy", "accuracy", "%", True, accuracy, predictions_agree)
PSNR = Metric("psnr", "PSNR", "dB", False, psnr, outputs_agree)
METRICS = {m.name: m for m in (ACCURACY, PSNR)}


def metric(name: str | None) -> Metric:
    """The metric named ``name`` (None, from results without one: accuracy)."""
    return METRICS[name or ACCURACY.name]
