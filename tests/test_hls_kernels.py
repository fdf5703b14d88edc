"""The hls/ kernels in C-simulation (g++) against their golden functions: random shapes,
folding, bit widths and modes; each test compiles one binary that holds all its cases side
by side (codesign.verify.csim.run_kernels), cached by the digest of its sources."""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import hls_cases as hc
import numpy as np
import pytest

from codesign.backends.hls import emit_hls, library_dir, params_header
from codesign.dataflow.graph import chain, side_by_side
from codesign.dataflow.kernels import Kernel, KernelInstance, hls_ops, kernel_named
from codesign.dataflow.kernels._base import replace_params
from codesign.errors import LoweringError
from codesign.verify.csim import CXXFLAGS, ap_types_dir, run_kernels


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


def test_array_values_outside_their_bits_are_refused() -> None:
    k = hc.mvau(1, 4, 2, 1, 1, 4, False, 4)
    call = kernel_named("mvau").hls_call(k)
    bad = dataclasses.replace(call.arrays[0], values=call.arrays[0].values + 16)
    with pytest.raises(LoweringError, match=r"node mvau_1: HLS array weights holds values in "
                       r"\[.*\], outside the 4-bit signed range \[-8, 7\]"):
        params_header(k, dataclasses.replace(call, arrays=(bad,)))


def _syntax_check(project_dir: Path, source: Path, *defines: str) -> None:
    gxx = shutil.which("g++")
    assert gxx, "g++ is installed by make setup"
    cmd = [gxx, *CXXFLAGS, "-fsyntax-only", *defines, "-I", str(library_dir()),
           "-I", str(project_dir), "-isystem", str(ap_types_dir()), str(source)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stderr[-3000:]


def test_arrays_are_native_in_csim_and_exact_in_synthesis(tmp_path: Path) -> None:
    """The const arrays are native integers for g++ (a fast compile), ap_int / ap_uint of
    their exact width in synthesis (the ROM widths; CS_EXACT_ROMS, as __SYNTHESIS__, which
    hls4ml's ap_types cannot take), and the top type-checks both ways."""
    mv = hc.mvau(1, 8, 4, 2, 2, 4, False, 5, n_thres=3)
    th = hc.thresholding(2, 4, 2, 2, 3, 6, False)
    project = emit_hls(side_by_side([mv, th], name="rom_types"), tmp_path / "hls")
    mv_thr = kernel_named("mvau").hls_call(mv).arrays[1]
    th_thr = kernel_named("thresholding").hls_call(th).arrays[0]
    checks = [(f"{mv.instance_name}_weights", 5, True),
              (f"{mv.instance_name}_thresholds", mv_thr.bits, mv_thr.signed),
              (f"{th.instance_name}_thresholds", th_thr.bits, th_thr.signed)]
    lines = ["#include <stdint.h>", "#include <type_traits>",
             *(f'#include "params/{k.instance_name}.hpp"' for k in (mv, th))]
    for name, bits, signed in checks:
        native = f"{'' if signed else 'u'}int{8 if bits <= 8 else 16 if bits <= 16 else 32}_t"
        exact = f"ap_{'' if signed else 'u'}int<{bits}>"
        elem = f"std::remove_cv<std::remove_all_extents<decltype({name})>::type>::type"
        lines += ["#ifdef CS_EXACT_ROMS",
                  f'static_assert(std::is_same<{elem}, {exact}>::value, "{name}");',
                  "#else",
                  f'static_assert(std::is_same<{elem}, {native}>::value, "{name}");',
                  "#endif"]
    check = tmp_path / "rom_types.cpp"
    check.write_text("\n".join(lines) + "\n")
    for defines in ((), ("-DCS_EXACT_ROMS",)):
        _syntax_check(project.out_dir, check, *defines)
        _syntax_check(project.out_dir, project.top_file, *defines)


def test_thresholding(tmp_path: Path, csim_cache: Path) -> None:
    rng = np.random.default_rng(7)
    ks = [
        hc.thresholding(1, 8, 2, 3, 7, 6, True, act_bias=-4),
        hc.thresholding(2, 6, 3, 2, 12, 4, False),
        hc.thresholding(3, 4, 4, 2, 1, 1, False),
        hc.thresholding(4, 24, 8, 2, 255, 8, True, act_bias=-128),
        hc.thresholding(5, 8, 4, 1, 255, 8, False),
    ]
    for i in range(4):  # random shapes and folding
        c = int(rng.integers(1, 13))
        n_thres = int(rng.choice([1, 2, 3, 7, 15]))
        ks.append(hc.thresholding(10 + i, c, hc.divisor(rng, c), int(rng.integers(1, 4)),
                                  n_thres, int(rng.integers(1, 9)), bool(rng.integers(2)),
                                  act_bias=int(rng.integers(-n_thres, 2))))
    _check(ks, tmp_path, csim_cache)


def test_fifo(tmp_path: Path, csim_cache: Path) -> None:
    ks = [hc.fifo(1, 8, 1, 5, 2), hc.fifo(2, 4, 16, 3, 37), hc.fifo(3, 3, 7, 64, 512)]
    _check(ks, tmp_path, csim_cache)


def test_fifo_depth_is_the_stream_depth(tmp_path: Path) -> None:
    """A FIFO's depth goes to the stream its kernel writes; other streams are 2 deep."""
    a, b = hc.fifo(2, 4, 16, 3, 37), hc.fifo(4, 4, 16, 3, 2)
    c = dataclasses.replace(hc.fifo(6, 4, 16, 3, 2), node="fifo_last")
    emit_hls(chain("fifos", [a, b, c]), tmp_path)
    top = (tmp_path / "accel_top.cpp").read_text()
    assert "#pragma HLS STREAM variable=e0 depth=37" in top
    assert "#pragma HLS STREAM variable=e1 depth=2" in top
    assert top.count("#pragma HLS DATAFLOW") == 1 and top.count("cs::fifo<") == 3


def test_dwc(tmp_path: Path, csim_cache: Path) -> None:
    ks = [
        hc.dwc(1, 2, 3, 8, 4), hc.dwc(2, 1, 4, 8, 3), hc.dwc(3, 6, 2, 3, 2), hc.dwc(4, 3, 2, 5, 5),
        hc.dwc(5, 4, 6, 4, 2), hc.dwc(6, 2, 2, 7, 3), hc.dwc(7, 8, 1, 1, 2),
        hc.dwc(8, 16, 5, 8, 1), hc.dwc(9, 64, 8, 8, 1),
    ]
    _check(ks, tmp_path, csim_cache)


def test_label_select(tmp_path: Path, csim_cache: Path) -> None:
    ks = [
        hc.label_select(1, 10, 2, 3, 8, True), hc.label_select(2, 12, 4, 1, 4, False),
        hc.label_select(3, 7, 1, 7, 3, True), hc.label_select(4, 16, 16, 4, 6, False),
        # 1-bit values: ties everywhere (the lowest index first)
        hc.label_select(5, 10, 5, 10, 1, False), hc.label_select(6, 9, 3, 4, 2, True),
    ]
    _check(ks, tmp_path, csim_cache, frames=12)


def test_missing_gxx_gives_the_doctors_message(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from codesign import tools
    from codesign.errors import ToolNotFoundError
    from codesign.verify.csim import compile_project

    project = emit_hls(chain("one", [hc.fifo(1, 8, 1, 5, 2)]), tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path))
    tools.clear_cache()
    try:
        with pytest.raises(ToolNotFoundError, match=r"g\+\+ not found; to get it: apt-get "
                           r"install g\+\+ .*codesign doctor"):
            compile_project(project, tmp_path / "cache")
    finally:
        monkeypatch.undo()
        tools.clear_cache()
