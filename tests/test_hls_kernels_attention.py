"""The attention hls/ kernels in C-simulation (g++) against their golden functions:
cs::int_softmax, cs::stream_matmul and cs::linear_attention, on the instances of the RTL
kernel tests (tests/test_rtl_kernels_attention.py), side by side in one cached compile,
with the first frame at the input types' extremes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import test_rtl_kernels_attention as attn

from codesign.dataflow.kernels import hls_ops, kernel_named
from codesign.verify.csim import run_kernels

FRAMES = 3


@pytest.fixture(scope="session")
def csim_cache(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("csim"))


def test_attention_kernels_in_csim(tmp_path: Path, csim_cache: Path) -> None:
    ks, inputs = [], []
    for i, case in enumerate(attn.CASES):
        model = case.build()
        _, k = attn._only(model)
        ks.append(dataclasses.replace(k, node=f"{k.kind}_{i}"))
        inputs.append(attn._frames(k, model, FRAMES, np.random.default_rng(case.seed)))
    got = run_kernels(ks, inputs, tmp_path, csim_cache)
    for k, x, y in zip(ks, inputs, got, strict=True):
        (want,) = kernel_named(k.kind).golden(k, x)
        bad = np.argwhere(y[0] != want)
        assert bad.size == 0, (
            f"{k.node} {k.params}: frame {bad[0][0]} value {bad[0][1]}: got "
            f"{y[0][tuple(bad[0])]}, golden {want[tuple(bad[0])]}"
        )


def test_attention_kernels_have_hls() -> None:
    for op in ("HWIntSoftmax", "HWStreamMatMul", "HWLinearAttention"):
        assert op in hls_ops()
