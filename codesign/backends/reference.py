"""Bit-accurate numpy execution of an :class:`Accelerator`, kernel by kernel.

It computes what the RTL computes, including accumulators that wrap at ``ACC_BITS``
(a baseline squeezed to P bits). For any accelerator whose accumulators hold every sum
it must equal FINN's Python execution of the dataflow graph; the flow checks that on
the whole test set before trusting it for a squeezed design.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from codesign.backends.accelerator import Accelerator, KernelInstance
from codesign.errors import LoweringError
from rtl_sim import golden

IntArray = npt.NDArray[np.int64]


def _mvau(k: KernelInstance, x: IntArray) -> IntArray:
    p = k.params
    vecs = x.reshape(-1, int(p["MW"]))
    w = k.memories["WEIGHT_FILE"].values
    thr = k.memories["THRESH_FILE"].values if int(p["N_THRES"]) else None
    y = golden.mvau(vecs, w, int(p["ACC_BITS"]), bool(p["ACC_SIGNED"]), thr, int(p["ACT_BIAS"]))
    return np.asarray(y, dtype=np.int64)


def _thresholding(k: KernelInstance, x: IntArray) -> IntArray:
    c = int(k.params["C"])
    y = golden.multithreshold(x.reshape(-1, c), k.memories["THRESH_FILE"].values,
                              int(k.params["ACT_BIAS"]))
    return np.asarray(y, dtype=np.int64)


def _label_select(k: KernelInstance, x: IntArray) -> IntArray:
    n = int(k.params["N_LABELS"])
    return np.asarray(golden.label_select(x.reshape(-1, n), int(k.params["K"])), np.int64)


def run_kernel(k: KernelInstance, x: IntArray) -> IntArray:
    """One kernel on a batch of frames ``x`` (frames, values per frame)."""
    frames = x.shape[0]
    if k.module in ("cs_fifo", "cs_dwc"):
        return x  # they move words, not values
    if k.module == "cs_mvau":
        y = _mvau(k, x)
    elif k.module == "cs_thresholding":
        y = _thresholding(k, x)
    elif k.module == "cs_label_select":
        y = _label_select(k, x)
    else:
        raise LoweringError(f"no reference model for kernel {k.module} (node {k.node})")
    return y.reshape(frames, -1)


def run_reference(acc: Accelerator, x: npt.ArrayLike) -> IntArray:
    """The accelerator's integer outputs for integer inputs ``x`` (one row per frame)."""
    data = np.asarray(x)
    if not np.array_equal(data, np.rint(data)):
        raise ValueError("accelerator inputs must be integers")
    y = np.rint(data).astype(np.int64).reshape(len(data), -1)
    for k in acc.kernels:
        y = run_kernel(k, y)
    return y
