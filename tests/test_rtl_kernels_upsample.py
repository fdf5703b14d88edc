"""Nearest-neighbour upsampling (FINN UpsampleNearestNeighbour, cs_upsample).

The golden function against FINN's Python execution of the generic node on random shapes
(2D, 1D, non-square, folded channels); what finn-plus's InferUpsample makes of an ONNX
Resize through the kernel's own lowering; the refusals; then the RTL under cocotb with
random stalls (the single-node harness of tests/test_rtl_kernels_dws.py), its stall-free
cycles per frame equal to the estimate (FINN's get_exp_cycles: the output words).
Icarus runs every case, Verilator two.
Last, cs_upsample alone at bigframe_sr's size puts its row buffer in block RAM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import test_rtl_kernels_dws as dws
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.basic import qonnx_make_model

from codesign.backends.rtl import module_sources
from codesign.board.registry import get_board
from codesign.dataflow.kernels import kernel_named, lowerings
from codesign.errors import LoweringError
from codesign.synth.yosys import synthesize
from codesign.synth.yosys_script import flatten_flags

FINN = "finn.custom_op.fpgadataflow"


def upsample_model(*, hw_in: tuple[int, int], hw_out: tuple[int, int], c: int, simd: int,
                   idt: str, **extra: Any) -> ModelWrapper:
    """One generic UpsampleNearestNeighbour node, NHWC in and out."""
    (hi, wi), (ho, wo) = hw_in, hw_out
    node = helper.make_node(
        "UpsampleNearestNeighbour", ["inp"], ["outp"], name="UpsampleNearestNeighbour_0",
        domain=FINN, backend="fpgadataflow", HI=hi, WI=wi, HO=ho, WO=wo, NumChannels=c,
        SIMD=simd, inputDataType=idt, **extra,
    )
    model = dws._model([node], {"inp": [1, hi, wi, c]}, {"outp": [1, ho, wo, c]})
    model.set_tensor_datatype("inp", DataType[idt])
    model.set_tensor_datatype("outp", DataType[idt])
    return model


# (input HxW, output HxW, C, SIMD, data type): 2x and 3x, non-square images and scales,
# 1D (one row), scale 1 on an axis, every folding from SIMD = 1 to SIMD = C
SHAPES = [
    ((3, 3), (6, 6), 4, 2, "UINT4"),
    ((2, 4), (6, 12), 3, 1, "INT8"),
    ((1, 5), (1, 15), 2, 2, "INT3"),
    ((4, 2), (8, 2), 6, 3, "UINT2"),
    ((2, 3), (2, 3), 4, 4, "INT4"),
    ((5, 1), (20, 4), 1, 1, "UINT8"),
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}-{s[1]}-c{s[2]}-simd{s[3]}")
def test_golden_matches_finn(shape: tuple[Any, ...]) -> None:
    hw_in, hw_out, c, simd, idt = shape
    model = upsample_model(hw_in=hw_in, hw_out=hw_out, c=c, simd=simd, idt=idt)
    node, k = dws._only_node(model)
    frames = dws._random_frames(k, model, node, 3, np.random.default_rng(sum(hw_out) + c))
    (want,) = dws._finn_outputs(model, node, frames)
    (got,) = k.kernel.golden(k, frames)
    np.testing.assert_array_equal(got, want)
    assert k.words_out[0] == hw_out[0] * hw_out[1] * c // simd == k.est_cycles


def test_finn_lowers_resize_to_upsample() -> None:
    """A Resize (nearest, NHWC scales [1, 2, 3, 1]) of an integer NHWC tensor: the kernel's
    lowering (finn-plus's InferUpsample, guarded by Resize) makes an UpsampleNearestNeighbour
    that the kernel reads; its golden reproduces the Resize's ONNX execution."""
    h, w, c = 2, 3, 2
    resize = helper.make_node("Resize", ["inp", "", "scales"], ["outp"], mode="nearest",
                              name="Resize_0")
    graph = helper.make_graph(
        [resize], "upsample",
        [helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, h, w, c])],
        [helper.make_tensor_value_info("outp", TensorProto.FLOAT, [1, 2 * h, 3 * w, c])],
    )
    model = ModelWrapper(qonnx_make_model(graph, opset_imports=[helper.make_opsetid("", 13)]))
    model.set_initializer("scales", np.array([1, 2, 3, 1], dtype=np.float32))
    model.set_tensor_datatype("inp", DataType["INT4"])
    model.set_tensor_layout("inp", ["N", "H", "W", "C"])
    x = np.random.default_rng(7).integers(-8, 8, size=(1, h, w, c))
    ref = execute_onnx(model, {"inp": x.astype(np.float32)})["outp"]

    kern = kernel_named("upsample")
    (lowering,) = kern.lowerings
    assert lowering in lowerings()
    model = lowering.apply(model)
    (node,) = model.graph.node
    assert node.op_type == "UpsampleNearestNeighbour"
    k = kern.read(model, node)
    assert (k.params["SCALE_H"], k.params["SCALE_W"], k.params["IMG_W"]) == (2, 3, w)
    (y,) = kern.golden(k, [x.reshape(1, -1)])
    np.testing.assert_array_equal(y, np.rint(ref).reshape(1, -1))
    np.testing.assert_array_equal(execute_onnx(model, {"inp": x.astype(np.float32)})["outp"],
                                  ref)


def test_refusals_name_the_node() -> None:
    model = upsample_model(hw_in=(3, 3), hw_out=(7, 6), c=2, simd=1, idt="UINT4")
    with pytest.raises(LoweringError, match=r"UpsampleNearestNeighbour_0.*HI=3, HO=7.*integer"):
        dws._only_node(model)
    model = upsample_model(hw_in=(2, 2), hw_out=(4, 4), c=4, simd=3, idt="UINT4")
    with pytest.raises(LoweringError, match=r"UpsampleNearestNeighbour_0.*SIMD=3.*1, 2, 4"):
        dws._only_node(model)
    model = upsample_model(hw_in=(2, 2), hw_out=(4, 4), c=2, simd=1, idt="UINT4", batchSize=2)
    with pytest.raises(LoweringError, match=r"UpsampleNearestNeighbour_0.*batchSize=2"):
        dws._only_node(model)


# --------------------------------------------------------------------------- RTL
FILES = tuple(p.name for p in module_sources(["cs_upsample"]))


def _case(name: str, seed: int, verilator: bool = False, **kw: Any) -> dws.Case:
    return dws.Case("upsample", name, FILES, lambda: upsample_model(**kw), seed,
                    verilator=verilator)


CASES = [
    _case("3x3to6x6-c4-simd2-u4", 81, verilator=True, hw_in=(3, 3), hw_out=(6, 6), c=4,
          simd=2, idt="UINT4"),
    # 3x scale, non-square, one channel per word
    _case("2x4to6x12-c3-simd1-s8", 82, hw_in=(2, 4), hw_out=(6, 12), c=3, simd=1, idt="INT8"),
    # 1D: one row, 3x along the width, all channels in one word
    _case("1x5to1x15-c2-simd2-s3", 83, hw_in=(1, 5), hw_out=(1, 15), c=2, simd=2, idt="INT3"),
    # rows repeated only, one pixel per row (a one-word row buffer)
    _case("4x1to12x1-c1-simd1-u2", 84, hw_in=(4, 1), hw_out=(12, 1), c=1, simd=1,
          idt="UINT2"),
    # one word per pixel, both axes scaled: a pixel's next copy reads the buffer the
    # cycle after its word was written, and the next rows read the whole row back
    _case("3x4to6x12-c2-simd2-s5", 85, verilator=True, hw_in=(3, 4), hw_out=(6, 12), c=2,
          simd=2, idt="INT5"),
]


@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), dws._sim_params(CASES))
def test_rtl_upsample(case: dws.Case, simulator: str, cache_root: Path) -> None:
    res = dws._sim(case, simulator, cache_root)
    assert res["cycles_per_frame"] == res["est_cycles"], (
        f"{res['cycles_per_frame']:.2f} cycles per frame, estimate {res['est_cycles']}"
    )


@pytest.mark.synth
def test_row_buffer_maps_to_block_ram(tmp_path: Path) -> None:
    """configs/bigframe_sr.yaml's upsampler (128 pixels x 64 four-bit channels a row, 2x2):
    its 8192-word row buffer, one write and one read address, is one RAMB36 on the ZCU104
    (with one shared address Yosys took it for single-port LUT RAM and failed to map it)."""
    board = get_board("zcu104")
    params = {"IMG_W": 128, "C": 64, "SIMD": 1, "SCALE_H": 2, "SCALE_W": 2, "ELEM_BITS": 4}
    res = synthesize(list(module_sources(["cs_upsample"])), "cs_upsample", board, tmp_path,
                     params=params, flags=flatten_flags(board))
    assert res.totals["BRAM36"] == 1  # 8192 x 4 bits = 32 Kbit
    assert "LUTRAM" not in res.totals
    assert res.totals["LUT"] < 200  # counters and muxes only, no buffer in LUTs
