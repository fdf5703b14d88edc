"""The pooling sums' hls/ kernels in C-simulation (g++) against their golden functions:
cs::global_acc_pool and cs::avgpool, every instance read from a FINN node through the
registry (the RTL tests' graphs, tests/test_rtl_kernels_accpool.py), the shapes and
folding of the RTL cases plus random ones, all side by side in one cached compile
(codesign.verify.csim.run_kernels). Every instance's first two frames are the extremes
(every input at its type's minimum, then its maximum)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hls_cases as hc
import numpy as np
import pytest
import test_rtl_kernels_accpool as accpool

from codesign.backends.words import value_range
from codesign.dataflow.kernels import KernelInstance, hls_ops
from codesign.errors import LoweringError
from codesign.verify.csim import run_kernels

FRAMES = 4


@pytest.fixture(scope="session")
def csim_cache(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("csim"))


def _dtype(rng: np.random.Generator) -> str:
    return f"{'INT' if rng.integers(2) else 'UINT'}{int(rng.integers(2, 9))}"


def _random_gap(rng: np.random.Generator) -> KernelInstance:
    c = int(rng.integers(1, 13))
    img = (int(rng.integers(1, 8)), int(rng.integers(1, 8)))
    model = accpool.gap_model(c=c, pe=hc.divisor(rng, c), img=img, dt=_dtype(rng))
    return accpool._read(model, "GlobalAccPool")


def _random_avg(rng: np.random.Generator) -> KernelInstance:
    """A random QuantAvgPool2d lowered by FINN; signed ones with an output type too narrow
    for their shifted sums (which the reader refuses) are drawn again."""
    while True:
        c, k = int(rng.integers(1, 7)), int(rng.integers(1, 4))
        model = accpool.avg_pair(c=c, pe=hc.divisor(rng, c), img=k + int(rng.integers(0, 4)),
                                 k=k, s=int(rng.integers(1, k + 1)), dt=_dtype(rng),
                                 obits=int(rng.integers(2, 9)))
        try:
            return accpool._read(model, "Pool")
        except LoweringError:
            continue


def _frames(k: KernelInstance, seed: int) -> list[np.ndarray]:
    (x,) = hc.random_inputs(k, FRAMES, seed)
    lo, hi = value_range(k.inp.elem_bits, k.inp.signed)
    x[0], x[1] = lo, hi
    return [x]


def test_global_acc_pool_and_avgpool(tmp_path: Path, csim_cache: Path) -> None:
    rng = np.random.default_rng(21)
    ks = [accpool._read(accpool.gap_model(**kw), "GlobalAccPool") for kw in accpool.GAPS]
    ks += [_random_gap(rng) for _ in range(6)]
    ks += [accpool._read(accpool.avg_pair(**kw), "Pool") for kw in accpool.AVGS]
    ks += [_random_avg(rng) for _ in range(6)]
    ks = [dataclasses.replace(k, node=f"{k.kind}_{i}") for i, k in enumerate(ks)]
    assert {k.module for k in ks} == {"cs_global_acc_pool", "cs_avgpool"}
    inputs = [_frames(k, i) for i, k in enumerate(ks)]
    got = run_kernels(ks, inputs, tmp_path, csim_cache)
    for k, x, (y,) in zip(ks, inputs, got, strict=True):
        (want,) = k.kernel.golden(k, x)
        bad = np.argwhere(y != want)
        assert bad.size == 0, (
            f"{k.node} {k.params}: frame {bad[0][0]} value {bad[0][1]}: got "
            f"{y[tuple(bad[0])]}, golden {want[tuple(bad[0])]}"
        )
    assert {"GlobalAccPool", "Pool"} <= set(hls_ops())
