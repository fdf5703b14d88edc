"""cs::concat and cs::split in C-simulation (g++) against their golden functions, in one
binary: the RTL tests' instances (2..4 streams, unequal channel counts, mixed input types),
one stream each and random ones, every instance read from a FINN node lowered by FINN's
own InferConcatLayer / InferSplitLayer (codesign.verify.csim.run_kernels)."""

from __future__ import annotations

from pathlib import Path

import hls_cases as hc
import numpy as np
import pytest
import test_rtl_kernels_concat as cat
import test_rtl_kernels_dws as dws
from test_hls_kernels_conv import _check, _dtype, _named

from codesign.dataflow.kernels import KernelInstance, hls_ops

FRAMES = 3


@pytest.fixture(scope="session")
def csim_cache(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("csim"))


def _random(rng: np.random.Generator, concat: bool) -> KernelInstance:
    """A concat or split of 1..4 streams, random channels, a random common SIMD."""
    n = int(rng.integers(1, 5))
    simd = int(rng.integers(1, 4))
    channels = [simd * int(rng.integers(1, 4)) for _ in range(n)]
    vecs = [1, int(rng.integers(1, 4)), int(rng.integers(1, 4))]
    if concat:
        model = cat.concat_model(vecs, channels, [_dtype(rng) for _ in range(n)], simd)
    else:
        model = cat.split_model(vecs, channels, _dtype(rng), simd)
    return dws._only_node(model)[1]


def test_concat_and_split(tmp_path: Path, csim_cache: Path) -> None:
    rng = np.random.default_rng(21)
    ks = [dws._only_node(case.build())[1] for case in cat.ALL_CASES]
    ks += [dws._only_node(cat.concat_model([1, 2], [3], ["INT3"], 3))[1],
           dws._only_node(cat.split_model([1, 3], [2], "UINT7", 1))[1]]
    ks += [_random(rng, concat=i % 2 == 0) for i in range(8)]
    ks = _named(ks)
    streams = {(k.kind, max(len(k.inputs), len(k.outputs))) for k in ks}
    assert streams == {(kind, n) for kind in ("concat", "split") for n in (1, 2, 3, 4)}
    inputs = [hc.random_inputs(k, FRAMES, seed=i) for i, k in enumerate(ks)]
    _check(ks, inputs, tmp_path, csim_cache)


def test_hls_calls() -> None:
    assert {"StreamingConcat", "StreamingSplit"} <= set(hls_ops())
    k = dws._only_node(cat.CONCAT_CASES[1].build())[1]  # channels 3, 1, 2; 6 pixels
    call = k.kernel.hls_call(k)
    assert (call.header, call.function) == ("cs_concat.hpp", "cs::concat")
    assert call.template_args == (1, 6, 6, 3, 2, 0, 1, 5, 0, 2, 3, 1)
    k = dws._only_node(cat.SPLIT_CASES[2].build())[1]  # channels 3, 6, 3, 9 at SIMD 3
    call = k.kernel.hls_call(k)
    assert call.template_args == (3, 2, 4, 1, 2, 1, 3)

