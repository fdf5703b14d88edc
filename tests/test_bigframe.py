"""Real image sizes (issue 23): the large-frame path end to end on a scaled-down
``examples/bigframe`` network (one frame through RTL, bit-exact), and the vectorised
functions that make full-size frames fast, each equal to what it replaced on small inputs.

The full-size run (128x128x3, 64 channels, ~1e7 cycles per frame, Yosys for the ZCU104 and
the ULX3S) is ``bench/bigframe.py``; its figures are in ``bench/results/bigframe.json``.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest
from qonnx.core.datatype import DataType
from qonnx.util.basic import sanitize_quant_values

from codesign.backends.words import exact_matmul, wrap
from codesign.config import parse_config
from codesign.dataflow.executor import sanitize
from codesign.dataflow.kernels.swg import Window, swg_cycles
from codesign.flow.runner import run_flow
from codesign.flow.steps.fifos import SIZING_FRAMES, sizing_frames

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "bigframe"


def _make_model() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bigframe_make_model",
                                                  EXAMPLE / "make_model.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ------------------------------------------------------------------- the shipped example

def test_shipped_config_names_the_full_size_model() -> None:
    """configs/bigframe.yaml: the committed 128x128 RGB model, 3 -> 64 -> 64 -> 3 channels
    of 3x3 convolutions, folded for ~1e7 cycles, one frame simulated."""
    import onnx

    from codesign.config import load_config

    cfg = load_config(EXAMPLE.parents[1] / "configs" / "bigframe.yaml")
    assert cfg.fold.target_cycles == 10_000_000 and cfg.sim.frames == 1
    model = onnx.load(str(cfg.model.path))  # type: ignore[union-attr]
    dims = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, 3, 128, 128]
    inits = {t.name: tuple(t.dims) for t in model.graph.initializer}
    assert (64, 64, 3, 3) in inits.values() and (3, 64, 3, 3) in inits.values()
    x = np.load(EXAMPLE / "test.npz")["x"]
    assert x.shape[1:] == (3, 128, 128) and x.dtype == np.uint8


# ------------------------------------------------------------------- the flow, scaled down

@pytest.mark.sim
@pytest.mark.slow
def test_small_bigframe_through_rtl(tmp_path: Path) -> None:
    """32x32 RGB, 16 channels, one frame: lowered, FIFOs sized by simulation, generated,
    simulated bit-exactly on Verilator with the II measured over two frames."""
    net, data = _make_model().build(tmp_path / "model", size=32, channels=16, count=2)
    cfg = parse_config({
        "name": "bigframe_small",
        "model": {"kind": "onnx", "path": str(net)},
        "data": {"kind": "npz", "path": str(data), "input_type": "UINT8"},
        "fold": {"target_cycles": 40_000},
        "sim": {"frames": 1},
        "synth": {"enabled": False},
    })
    r = run_flow(cfg, tmp_path / "build", until="sim").results
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == 1 and ver["mismatches"] == 0, ver
    assert ver["words_compared"] == 32 * 32 * 3  # the output frame, one channel a word
    cycles = r["cycles"]
    assert cycles["ii_error"] <= 0.05, cycles  # one frame-end gap of the stall-free run
    meta = json.loads((tmp_path / "build" / "vectors" / "meta.json").read_text())
    assert meta["frames"] == 1
    assert r["fifos"]["simulated_cycles"] > 0


# ------------------------------------------------------------ vectorised = what it replaced

def _swg_cycles_by_word(w: Window, frames: int = 3) -> int:
    """The word-by-word replay swg_cycles replaced (codesign before issue 23)."""
    frame_words = w.ifm[0] * w.ifm[1] * w.cf
    depth = w.buffer_words
    offs = w.offsets()
    starts = np.concatenate([w.starts() + f * frame_words for f in range(frames)])
    written: list[int] = []
    win_start = [0]
    blocker = 0
    t = -1
    frame_end: list[int] = []
    per_frame = len(w.starts())
    for i, s in enumerate(starts):
        for o in offs:
            need = int(s + o)
            while len(written) <= need:
                n = len(written)
                while starts[blocker] <= n - depth:
                    blocker += 1
                written.append(max(written[-1] + 1 if written else 0, win_start[blocker]))
            t = max(t + 1, written[need] + 1)
        win_start.append(t + 1)
        if (i + 1) % per_frame == 0:
            frame_end.append(t)
    return frame_end[-1] - frame_end[-2]


def _windows(n: int, seed: int = 0) -> list[Window]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        kh, kw = (int(v) for v in rng.integers(1, 4, 2))
        sh, sw = (int(v) for v in rng.integers(1, 3, 2))
        h, wd = int(rng.integers(kh, 9)), int(rng.integers(kw, 9))
        c = int(rng.choice([1, 2, 3, 4, 6, 8]))
        simd = int(rng.choice([d for d in range(1, c + 1) if c % d == 0]))
        out.append(Window((h, wd), (kh, kw), (sh, sw), c, simd, bool(rng.integers(0, 2))))
    return out


@pytest.mark.parametrize("frames", [2, 3])
def test_swg_cycles_equals_word_by_word_replay(frames: int) -> None:
    for w in _windows(120, seed=frames):
        assert swg_cycles(w, frames) == _swg_cycles_by_word(w, frames), w


def test_swg_cycles_of_a_full_size_window_is_fast() -> None:
    import time

    w = Window((130, 130), (3, 3), (1, 1), 64, 1, False)  # 576 words per window
    swg_cycles.cache_clear()
    t0 = time.perf_counter()
    assert swg_cycles(w) == 9_453_377
    assert time.perf_counter() - t0 < 30  # word by word: ~1 min on an idle core


@pytest.mark.parametrize("xbits,wbits,mw", [(4, 4, 576), (8, 8, 27), (24, 16, 64),
                                            (40, 30, 4)])
def test_exact_matmul_equals_python_integers(xbits: int, wbits: int, mw: int) -> None:
    rng = np.random.default_rng(xbits)
    x = rng.integers(-(1 << (xbits - 1)), 1 << (xbits - 1), (50, mw))
    w = rng.integers(-(1 << (wbits - 1)), 1 << (wbits - 1), (mw, 7))
    want = np.asarray(x, dtype=object) @ np.asarray(w, dtype=object)
    got = exact_matmul(x, w)
    assert [[int(v) for v in row] for row in got] == want.tolist()


@pytest.mark.parametrize("bits,signed", [(8, True), (8, False), (17, True), (62, False),
                                         (64, True)])
def test_wrap_int64_equals_python_integers(bits: int, signed: bool) -> None:
    rng = np.random.default_rng(bits)
    x = rng.integers(-(1 << 62), 1 << 62, 1000)
    a = np.asarray(x, dtype=object) % (1 << bits)
    if signed:
        a = np.where(a >= (1 << (bits - 1)), a - (1 << bits), a)
    assert wrap(x, bits, signed).tolist() == [int(v) for v in a]


class _Model:
    def __init__(self, table: dict[str, Any]) -> None:
        self.table = table

    def get_tensor_datatype(self, name: str) -> Any:
        return self.table[name]


def test_sanitize_equals_qonnx() -> None:
    rng = np.random.default_rng(0)
    dtypes = {"a": DataType["INT4"], "b": DataType["UINT8"], "f": DataType["FLOAT32"]}
    ctx = {"a": rng.integers(-8, 8, (2, 5)) + rng.uniform(-1e-7, 1e-7, (2, 5)),
           "b": rng.integers(0, 256, 9).astype(np.float32), "f": rng.uniform(size=3)}
    ours, theirs = {k: v.copy() for k, v in ctx.items()}, {k: v.copy() for k, v in ctx.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sanitize(dtypes, ["a", "b", "f"], ours)
        sanitize_quant_values(_Model(dtypes), ["a", "b", "f"], theirs)  # type: ignore[arg-type]
    for k in ctx:
        assert np.array_equal(ours[k], theirs[k]), k
    bad = {"a": np.array([0.4])}
    with pytest.raises(Exception, match="Rounding error is too high"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sanitize(dtypes, ["a"], bad)


def test_sizing_frames_budget() -> None:
    assert sizing_frames(100) == SIZING_FRAMES
    assert sizing_frames(9_453_377) == 2  # a 128x128 frame: two frames, ~19 M cycles
    assert sizing_frames(10**9) == 2


def test_block_ram_assertion_found_beyond_the_log_tail(tmp_path: Path) -> None:
    """The fast Xilinx run stops at NO_BLOCK_RAM when a memory went to block RAM; Yosys
    then lists every selected cell, 105 for a 140 k-word FIFO: the check reads the whole
    log (a tail of it once missed the line and failed the synthesis)."""
    from codesign.synth.yosys import _chose_block_ram

    cells = "\n".join(f"accel_top/u_fifo.mem.0.{i}" for i in range(105))
    log = tmp_path / "yosys.log"
    log.write_text("...\nERROR: Assertion failed: selection is not empty: t:$__* "
                   f"t:$__XILINX_LUTRAM* %d\nSelection contains:\n{cells}\n")
    assert _chose_block_ram(1, log, "")
    assert not _chose_block_ram(0, log, "")
    log.write_text("ERROR: syntax error\n")
    assert not _chose_block_ram(1, log, "")


def _pack_words_by_element(values: np.ndarray, bits: int, per_word: int) -> list[int]:
    """The element-by-element packing pack_words replaced."""
    mask, words = (1 << bits) - 1, []
    flat = values.reshape(-1)
    for i in range(0, flat.size, per_word):
        w = 0
        for j in range(per_word):
            w |= (int(flat[i + j]) & mask) << (j * bits)
        words.append(w)
    return words


@pytest.mark.parametrize("bits,per_word", [(1, 8), (4, 1), (4, 16), (8, 3), (17, 5),
                                           (24, 9), (31, 2), (62, 3), (64, 2)])
def test_pack_words_equals_element_by_element(bits: int, per_word: int) -> None:
    from codesign.backends.words import pack_words

    rng = np.random.default_rng(bits * 100 + per_word)
    lo = -(1 << (bits - 1))
    hi = (1 << bits) - 1 if bits < 64 else (1 << 63) - 1
    x = rng.integers(lo, hi, 12 * per_word, endpoint=True, dtype=np.int64)
    assert pack_words(x, bits, per_word) == _pack_words_by_element(x, bits, per_word)
