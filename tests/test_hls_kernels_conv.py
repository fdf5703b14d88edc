"""The convolution-path hls/ kernels in C-simulation (g++) against their golden functions:
cs::swg, cs::fmpadding, cs::maxpool (one binary), cs::vvau (another), cs::duplicate_streams
(a third; the residual join, cs::elementwise_binary, is in tests/test_hls_kernels_eltwise.py).
Every instance is read from a FINN node through the registry (the RTL kernel tests'
single-node graphs): the shapes and folding of the RTL cases, plus random ones; all of a
test's instances side by side in one cached compile (codesign.verify.csim.run_kernels)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import hls_cases as hc
import numpy as np
import pytest
import test_rtl_kernels_conv as conv
import test_rtl_kernels_dws as dws

from codesign.dataflow.kernels import KernelInstance, hls_ops, kernel_named
from codesign.dataflow.kernels.swg import Window
from codesign.verify.csim import run_kernels

FRAMES = 3


@pytest.fixture(scope="session")
def csim_cache(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("csim"))


def _named(ks: list[KernelInstance]) -> list[KernelInstance]:
    """The instances under distinct node names (one top holds them all)."""
    return [dataclasses.replace(k, node=f"{k.kind}_{i}") for i, k in enumerate(ks)]


def _check(ks: list[KernelInstance], inputs: list[list[np.ndarray]], work: Path,
           cache: Path) -> None:
    got = run_kernels(ks, inputs, work, cache)
    for k, x, y in zip(ks, inputs, got, strict=True):
        want = kernel_named(k.kind).golden(k, x)
        assert len(y) == len(want) == len(k.outputs)
        for port, (a, b) in enumerate(zip(y, want, strict=True)):
            assert a.shape == b.shape, (k.node, port, a.shape, b.shape)
            bad = np.argwhere(a != b)
            assert bad.size == 0, (
                f"{k.node} {k.params} output {port}: frame {bad[0][0]} value {bad[0][1]}: "
                f"got {a[tuple(bad[0])]}, golden {b[tuple(bad[0])]}"
            )


def _random_window(rng: np.random.Generator) -> Window:
    h, w = (int(v) for v in rng.integers(1, 10, size=2))
    kh, kw = int(rng.integers(1, h + 1)), int(rng.integers(1, w + 1))
    c = int(rng.integers(1, 9))
    return Window((h, w), (kh, kw), (int(rng.integers(1, 4)), int(rng.integers(1, 4))), c,
                  hc.divisor(rng, c), bool(rng.integers(2)))


def _dtype(rng: np.random.Generator) -> str:
    return f"{'INT' if rng.integers(2) else 'UINT'}{int(rng.integers(2, 9))}"


def test_swg_fmpadding_maxpool(tmp_path: Path, csim_cache: Path) -> None:
    """Every sliding window of the RTL tests (both stream orders, strides, 1D, window =
    image) and random ones; padding of every side; max pools behind depthwise windows."""
    rng = np.random.default_rng(11)
    windows = [*conv.CYCLE_WINDOWS, *(_random_window(rng) for _ in range(10))]
    ks = [conv._read(conv._swg_model(w, _dtype(rng))) for w in windows]
    for _ in range(6):
        img = (int(rng.integers(1, 7)), int(rng.integers(1, 7)))
        c = int(rng.integers(1, 9))
        pad = [int(v) for v in rng.integers(0, 3, size=4)]
        ks.append(conv._read(conv._pad_model(img, c, hc.divisor(rng, c), pad, _dtype(rng))))
    ks.append(conv._read(conv._pad_model((3, 3), 2, 2, [0, 0, 0, 0], "INT8")))
    pools = [Window((8, 8), (2, 2), (2, 2), 8, 2, True), Window((6, 6), (3, 3), (3, 3), 4, 1, True),
             Window((3, 3), (1, 1), (1, 1), 4, 2, True), Window((5, 7), (2, 3), (1, 2), 6, 3, True)]
    ks += [conv._read(conv._pool_model(w, dt), 1)
           for w, dt in zip(pools, ["UINT4", "INT3", "UINT2", "INT8"], strict=True)]
    ks = _named(ks)
    inputs = [hc.random_inputs(k, FRAMES, seed=i) for i, k in enumerate(ks)]
    _check(ks, inputs, tmp_path, csim_cache)


def _random_vvau(rng: np.random.Generator, seed: int) -> tuple[KernelInstance, int]:
    c = int(rng.integers(1, 9))
    k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
    n_thres = int(rng.choice([0, 1, 3, 15]))
    idt, wdt = _dtype(rng), f"INT{int(rng.integers(2, 6))}"
    model = dws.vvau_model(seed, c=c, k=k, dim=(int(rng.integers(1, 4)), int(rng.integers(1, 4))),
                           pe=hc.divisor(rng, c), simd=hc.divisor(rng, k[0] * k[1]), idt=idt,
                           wdt=wdt, n_thres=n_thres,
                           act_bias=int(rng.integers(-2, 1)) if n_thres else 0)
    return dws._only_node(model)[1], int(rng.integers(0, 3)) if n_thres else 0


def test_vvau(tmp_path: Path, csim_cache: Path) -> None:
    """The RTL test's VVAUs (255 thresholds, unsigned accumulator, shared threshold row, no
    activation, squeezed accumulators that wrap), an unsigned accumulator without
    activation and random ones; each frame set starts
    with the overflow probe (every channel's accumulator at its extremes)."""
    rng = np.random.default_rng(12)
    cases: list[tuple[KernelInstance, int]] = [
        (dws._only_node(case.build())[1], case.squeeze) for case in dws.VVAU_CASES
    ]
    # no activation on an unsigned accumulator (the RTL cases have a signed one)
    uacc = dws.vvau_model(13, c=6, k=(2, 2), dim=(2, 1), pe=3, simd=2, idt="UINT5",
                          wdt="UINT3", nonneg_w=True)
    cases.append((dws._only_node(uacc)[1], 0))
    cases += [_random_vvau(rng, 200 + i) for i in range(8)]
    ks = []
    for k, squeeze in cases:
        kern = kernel_named(k.kind)
        ks.append(kern.with_acc_bits(k, int(k.params["ACC_BITS"]) - squeeze) if squeeze else k)
    ks = _named(ks)
    modes = {(bool(k.params["N_THRES"]), bool(k.params["ACC_SIGNED"])) for k in ks}
    assert modes == {(a, b) for a in (False, True) for b in (False, True)}
    inputs = []
    for i, k in enumerate(ks):
        (x,) = hc.random_inputs(k, FRAMES, seed=i)
        probe = kernel_named(k.kind).overflow_probe(k)[:FRAMES]
        x[: len(probe)] = probe
        inputs.append([x])
    _check(ks, inputs, tmp_path, csim_cache)


def test_duplicate_streams(tmp_path: Path, csim_cache: Path) -> None:
    """Forks into 1..4 streams (pad bits in the words)."""
    ks = [dws._only_node(dws.dup_model(c=c, pe=pe, n_out=n, idt=dt, vecs=v))[1]
          for c, pe, n, dt, v in [(8, 2, 2, "INT4", [1, 3, 3]), (3, 1, 3, "UINT8", [1, 4, 4]),
                                  (8, 4, 4, "UINT2", [1, 2, 5]), (6, 3, 1, "INT3", [1, 2])]]
    ks = _named(ks)
    assert {len(k.outputs) for k in ks} == {1, 2, 3, 4}
    inputs = [hc.random_inputs(k, FRAMES, seed=i) for i, k in enumerate(ks)]
    _check(ks, inputs, tmp_path, csim_cache)


def test_conv_kernels_have_hls() -> None:
    for op in ("ConvolutionInputGenerator", "FMPadding", "Pool", "VVAU", "DuplicateStreams"):
        assert op in hls_ops()
    for kind in ("swg", "fmpadding", "maxpool", "vvau", "duplicate_streams"):
        assert "hls" in kernel_named(kind).backends
    # the VVAU has its own C++ kernel, not the MVAU's it would inherit
    k = dws._only_node(dws.vvau_model(1, c=4, k=(3, 3), dim=(2, 2), pe=2, simd=3,
                                      idt="UINT4", wdt="INT4", n_thres=3))[1]
    call = kernel_named("vvau").hls_call(k)
    assert (call.header, call.function) == ("cs_vvau.hpp", "cs::vvau")
    assert [a.values.shape for a in call.arrays] == [(2 * 3, 2, 3), (2, 2, 3)]
