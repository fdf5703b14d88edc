"""cs::elementwise_binary and cs::elementwise_const (hls/cs_elementwise_binary.hpp) in
C-simulation (g++) against the golden function, one cached binary: every op on two
streams (every signedness mix, one that wraps to a narrower out_dtype) and on one stream
and a constant (scalar, per-channel, per pixel column, the whole frame; on the lhs of a
Sub and a Max). Every instance is read from a FINN node through the registry (the RTL
tests' lowered single-node graphs)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hls_cases as hc
import numpy as np
import pytest
import test_rtl_kernels_eltwise as ew

from codesign.dataflow.kernels import KernelInstance, hls_ops, kernel_named
from codesign.verify.csim import run_kernels

FRAMES = 3


@pytest.fixture(scope="session")
def csim_cache(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("csim"))


def _instances() -> list[KernelInstance]:
    two = [ew.eltwise_model(op, [1, 3, 4], pe, lhs, rhs)
           for op, pe, lhs, rhs in [("Add", 4, "INT6", "UINT2"), ("Sub", 2, "UINT3", "INT5"),
                                    ("Mul", 1, "INT4", "INT4"), ("Max", 2, "UINT4", "INT3"),
                                    ("AbsDiff", 4, "INT8", "UINT8")]]
    models = [case.build() for case in ew.SIM_CASES + ew.GOLDEN_CASES] + two
    ks = [ew.dws._only_node(m)[1] for m in models]
    return [dataclasses.replace(k, node=f"{k.kind}_{i}") for i, k in enumerate(ks)]


def test_elementwise_binary(tmp_path: Path, csim_cache: Path) -> None:
    ks = _instances()
    modes = {(int(k.params["OP"]), int(k.params.get("LHS_CONST", 0)),
              int(k.params.get("RHS_CONST", 0))) for k in ks}
    # every op on two streams and with a constant rhs; Sub and Max with a constant lhs
    assert {(op, 0, 0) for op in range(5)} | {(op, 0, 1) for op in range(4)} | {
        (1, 1, 0), (3, 1, 0)} <= modes
    inputs = [hc.random_inputs(k, FRAMES, seed=i) for i, k in enumerate(ks)]
    got = run_kernels(ks, inputs, tmp_path, csim_cache)
    for k, x, (y,) in zip(ks, inputs, got, strict=True):
        (want,) = kernel_named(k.kind).golden(k, x)
        np.testing.assert_array_equal(y, want, err_msg=f"{k.node} {k.params}")


def test_every_op_has_hls() -> None:
    for op in ("ElementwiseAdd", "ElementwiseSub", "ElementwiseMul", "ElementwiseMax",
               "ElementwiseAbsDiff"):
        assert op in hls_ops()
    assert "hls" in kernel_named("elementwise_binary").backends
