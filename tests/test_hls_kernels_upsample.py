"""cs::upsample in C-simulation (g++) against the golden function: the RTL test's shapes
(2x and 3x, non-square, 1D, one-pixel rows) and random ones, each read from a FINN node
through the registry; all instances side by side in one cached compile
(codesign.verify.csim.run_kernels)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hls_cases as hc
import numpy as np
import pytest
import test_rtl_kernels_dws as dws
import test_rtl_kernels_upsample as ups

from codesign.dataflow.kernels import KernelInstance, hls_ops, kernel_named
from codesign.verify.csim import run_kernels

FRAMES = 3


@pytest.fixture(scope="session")
def csim_cache(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("csim"))


def _random_instance(rng: np.random.Generator) -> KernelInstance:
    hi, wi = (int(v) for v in rng.integers(1, 6, size=2))
    sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
    c = int(rng.integers(1, 9))
    idt = f"{'INT' if rng.integers(2) else 'UINT'}{int(rng.integers(2, 9))}"
    model = ups.upsample_model(hw_in=(hi, wi), hw_out=(hi * sh, wi * sw), c=c,
                               simd=hc.divisor(rng, c), idt=idt)
    return dws._only_node(model)[1]


def test_upsample(tmp_path: Path, csim_cache: Path) -> None:
    rng = np.random.default_rng(21)
    ks = [dws._only_node(case.build())[1] for case in ups.CASES]
    ks += [_random_instance(rng) for _ in range(6)]
    ks = [dataclasses.replace(k, node=f"{k.kind}_{i}") for i, k in enumerate(ks)]
    inputs = [hc.random_inputs(k, FRAMES, seed=i) for i, k in enumerate(ks)]
    got = run_kernels(ks, inputs, tmp_path, csim_cache)
    for k, x, (y,) in zip(ks, inputs, got, strict=True):
        (want,) = kernel_named(k.kind).golden(k, x)
        np.testing.assert_array_equal(y, want, err_msg=f"{k.node} {k.params}")


def test_upsample_has_hls() -> None:
    assert "UpsampleNearestNeighbour" in hls_ops()
    k = dws._only_node(ups.upsample_model(hw_in=(3, 2), hw_out=(6, 6), c=4, simd=2,
                                          idt="UINT4"))[1]
    call = kernel_named("upsample").hls_call(k)
    assert (call.header, call.function) == ("cs_upsample.hpp", "cs::upsample")
    assert call.template_args == (2, 4, 2, 2, 3, 4, 3)  # ..., ELEM_BITS, IMG_H
