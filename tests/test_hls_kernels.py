"""The hls/ kernels in C-simulation (g++) against their golden functions: random shapes,
folding, bit widths and modes; each test compiles one binary that holds all its cases side
by side (codesign.csim.run_kernels), cached by the digest of its sources."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hls_cases as hc
import numpy as np
import pytest

from codesign.backends.hls import params_header
from codesign.csim import run_kernels
from codesign.errors import LoweringError
from codesign.kernels import Kernel, KernelInstance, hls_ops, kernel_named
from codesign.kernels._base import replace_params


@pytest.fixture(scope="session")
def csim_cache(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("csim"))


def _check(ks: list[KernelInstance], work: Path, cache: Path, frames: int = 6,
           seed: int = 0) -> None:
    inputs = [hc.random_inputs(k, frames, seed + i) for i, k in enumerate(ks)]
    got = run_kernels(ks, inputs, work, cache)
    for k, x, y in zip(ks, inputs, got, strict=True):
        want = hc.golden(k, x)
        for port, (a, b) in enumerate(zip(y, want, strict=True)):
            bad = np.argwhere(a != b)
            assert bad.size == 0, (
                f"{k.node} {k.params} output {port}: frame {bad[0][0]} value {bad[0][1]}: "
                f"got {a[tuple(bad[0])]}, golden {b[tuple(bad[0])]}"
            )


def test_mvau(tmp_path: Path, csim_cache: Path) -> None:
    ks = [
        # 255 thresholds on a squeezed signed accumulator; unsigned accumulator, PE = 8
        hc.mvau(1, 8, 8, 4, 4, 8, True, 4, squeeze=4, n_thres=255, act_bias=-128),
        hc.mvau(2, 4, 24, 8, 2, 4, False, 3, n_thres=255, nonneg_w=True, vectors=2),
        # no activation, fully parallel and fully folded
        hc.mvau(3, 4, 2, 2, 4, 8, True, 8),
        hc.mvau(4, 6, 3, 1, 1, 2, False, 3, squeeze=2),
        *hc.random_mvaus(5, 8),
    ]
    modes = {(bool(k.params["N_THRES"]), bool(k.params["ACC_SIGNED"])) for k in ks}
    assert modes == {(a, b) for a in (False, True) for b in (False, True)}
    _check(ks, tmp_path, csim_cache)


def test_no_hls_kernel_is_a_named_error() -> None:
    k = hc.mvau(1, 4, 2, 1, 1, 4, False, 4)
    with pytest.raises(LoweringError, match=r"node mvau_1 \(MVAU\) has no HLS kernel yet; ops "
                       r"with HLS kernels: .*MVAU"):
        Kernel().hls_call(k)
    assert "hls" in kernel_named("mvau").backends and "MVAU" in hls_ops()


def test_mvau_refuses_modes_it_does_not_implement() -> None:
    k = replace_params(hc.mvau(1, 4, 2, 1, 1, 4, False, 4), BINARY_XNOR=1)
    with pytest.raises(LoweringError, match="does not implement BINARY_XNOR=1"):
        kernel_named("mvau").hls_call(k)
    # a mode parameter that is off passes
    kernel_named("mvau").hls_call(replace_params(k, BINARY_XNOR=0))


def test_bad_partition_is_refused(tmp_path: Path) -> None:
    k = hc.mvau(1, 4, 2, 1, 1, 4, False, 4)
    call = kernel_named("mvau").hls_call(k)
    bad = dataclasses.replace(call.arrays[0], partition=((4, "complete"),))
    with pytest.raises(LoweringError, match="partition"):
        params_header(k, dataclasses.replace(call, arrays=(bad,)))
