"""The convolution kernels: sliding window (cs_swg), padding (cs_fmpadding), max pool
(cs_maxpool).

First each golden function against FINN's own Python execution of the generic node
(single-node graphs, as FINN's tests build them; the depthwise stream order against
``ConvolutionInputGenerator_rtl``'s, the max pool through finn-plus's own InferPool and
InferConvInpGen), then each RTL kernel under cocotb on random shapes and folding, with
random stalls. The simulated parameters come from reading FINN nodes through the kernel
registry. Icarus runs every case, Verilator (~25 s per build) one per kernel and a second
sliding window.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from codesign.backends.rtl import module_sources
from codesign.dataflow.kernels import KernelInstance, kernel_for
from codesign.dataflow.kernels.swg import (
    Window,
    depthwise_order,
    finn_rtl_cycles,
    swg_cycles,
    window_of,
)
from codesign.dataflow.lower import layer_table
from codesign.errors import LoweringError
from codesign.verify.simulators import rtl_dir, run_cocotb

FINN = "finn.custom_op.fpgadataflow"


# --------------------------------------------------------------------------- FINN graphs
def _graph(nodes: list[Any], ishape: tuple[int, ...], oshape: tuple[int, ...],
           dt: str, name: str = "conv") -> ModelWrapper:
    """A FINN graph of ``nodes`` from tensor "inp" to "outp" of FINN data type ``dt``."""
    inp = helper.make_tensor_value_info("inp", TensorProto.FLOAT, list(ishape))
    outp = helper.make_tensor_value_info("outp", TensorProto.FLOAT, list(oshape))
    model = ModelWrapper(qonnx_make_model(helper.make_graph(nodes, name, [inp], [outp])))
    for t in ("inp", "outp"):
        model.set_tensor_datatype(t, DataType[dt])
    return model


def _swg_node(w: Window, dt: str, out: str = "outp", **extra: Any) -> Any:
    return helper.make_node(
        "ConvolutionInputGenerator", ["inp"], [out], domain=FINN, backend="fpgadataflow",
        name="ConvolutionInputGenerator_0", ConvKernelDim=list(w.kernel),
        IFMChannels=w.channels, IFMDim=list(w.ifm), OFMDim=list(w.ofm), SIMD=w.simd,
        Stride=list(w.stride), Dilation=[1, 1], inputDataType=dt, outputDataType=dt,
        depthwise=int(w.depthwise), **extra,
    )


def _swg_model(w: Window, dt: str, **extra: Any) -> ModelWrapper:
    oh, ow = w.ofm
    k2 = w.kernel[0] * w.kernel[1]
    return _graph([_swg_node(w, dt, **extra)], (1, *w.ifm, w.channels),
                  (1, oh, ow, k2 * w.channels), dt)


def _pad_model(img: tuple[int, int], c: int, simd: int, pad: list[int], dt: str,
               **extra: Any) -> ModelWrapper:
    node = helper.make_node(
        "FMPadding", ["inp"], ["outp"], domain=FINN, backend="fpgadataflow",
        name="FMPadding_0", ImgDim=list(img), Padding=pad, NumChannels=c, SIMD=simd,
        inputDataType=dt, **extra,
    )
    oshape = (1, img[0] + pad[0] + pad[2], img[1] + pad[1] + pad[3], c)
    return _graph([node], (1, *img, c), oshape, dt)


def _pool_model(w: Window, dt: str, fxn: str = "MaxPool") -> ModelWrapper:
    """FINN's max-pool pair: a depthwise SWG (SIMD = PE) and Pool."""
    oh, ow = w.ofm
    k2 = w.kernel[0] * w.kernel[1]
    pool = helper.make_node(
        "Pool", ["win"], ["outp"], domain=FINN, backend="fpgadataflow", name="Pool_0",
        InputDataType=dt, OutputDataType=dt, Channels=w.channels, PE=w.simd,
        KernelSize=list(w.kernel), Function=fxn, OutImgDims=[oh, ow], BatchSize=1,
    )
    model = _graph([_swg_node(w, dt, out="win"), pool], (1, *w.ifm, w.channels),
                   (1, oh, ow, w.channels), dt)
    model.set_tensor_shape("win", [1, oh, ow, k2 * w.channels])
    model.set_tensor_datatype("win", DataType[dt])
    return model


def _exec(model: ModelWrapper, x: np.ndarray, out: str = "outp") -> np.ndarray:
    from qonnx.core.onnx_exec import execute_onnx

    ishape = model.get_tensor_shape("inp")
    ctx = execute_onnx(model, {"inp": x.reshape(ishape).astype(np.float32)},
                       return_full_exec_context=True)
    return np.rint(ctx[out]).astype(np.int64)


def _read(model: ModelWrapper, index: int = 0) -> KernelInstance:
    node = model.graph.node[index]
    return kernel_for(node).read(model, node)


def _random(shape: tuple[int, ...] | int, dt: str, rng: np.random.Generator) -> np.ndarray:
    d = DataType[dt]
    return rng.integers(int(d.min()), int(d.max()) + 1, size=shape)


# every (ifm, kernel, stride, C, SIMD, depthwise) the goldens and the RTL are checked on
WINDOWS = [
    Window((8, 8), (3, 3), (1, 1), 4, 2, False),
    Window((6, 6), (3, 3), (1, 1), 4, 1, True),
    Window((8, 8), (2, 2), (2, 2), 6, 3, True),
    Window((9, 7), (3, 3), (2, 2), 2, 1, False),
    Window((5, 5), (1, 1), (2, 2), 4, 4, False),
    Window((5, 4), (3, 1), (1, 1), 2, 2, False),
    Window((1, 10), (1, 3), (1, 1), 3, 1, True),
    Window((3, 3), (3, 3), (1, 1), 2, 1, False),
    Window((10, 10), (3, 3), (1, 1), 1, 1, False),
    Window((7, 5), (2, 3), (2, 1), 4, 2, True),
]


# --------------------------------------------------------------------------- goldens vs FINN
@pytest.mark.parametrize("w", WINDOWS, ids=lambda w: f"{w.ifm}-k{w.kernel}-s{w.stride}-"
                         f"c{w.channels}-simd{w.simd}-dw{int(w.depthwise)}")
def test_swg_golden_is_finn(w: Window) -> None:
    """The sliding-window golden (through the registry's read and golden) equals FINN's
    execution of the generic node; for depthwise=1 also the RTL SWG's stream order."""
    rng = np.random.default_rng(1)
    model = _swg_model(w, "INT4")
    k = _read(model)
    x = _random((2, w.ifm[0] * w.ifm[1] * w.channels), "INT4", rng)
    (got,) = k.kernel.golden(k, [x])
    finn = np.stack([_exec(model, f) for f in x]).reshape(2, -1)
    assert got.shape == (2, k.words_out[0] * w.simd)
    if not w.depthwise:
        np.testing.assert_array_equal(got, finn)
        return
    k2 = w.kernel[0] * w.kernel[1]
    np.testing.assert_array_equal(got, depthwise_order(finn.reshape(-1, k2 * w.channels), k2,
                                                       w.channels, w.simd).reshape(2, -1))
    rtl = copy.deepcopy(model)
    node = rtl.graph.node[0]
    node.op_type, node.domain = "ConvolutionInputGenerator_rtl", FINN + ".rtl"
    getCustomOp(node).set_nodeattr("exec_mode", "cppsim")  # Python, no compile
    np.testing.assert_array_equal(got, np.stack([_exec(rtl, f) for f in x]).reshape(2, -1))


@pytest.mark.parametrize(("img", "c", "simd", "pad", "dt"), [
    ((4, 4), 8, 4, [1, 1, 1, 1], "INT4"),
    ((5, 3), 3, 1, [2, 0, 1, 3], "UINT2"),
    ((3, 3), 2, 2, [0, 0, 0, 0], "INT8"),
])
def test_fmpadding_golden_is_finn(img: tuple[int, int], c: int, simd: int, pad: list[int],
                                  dt: str) -> None:
    rng = np.random.default_rng(2)
    model = _pad_model(img, c, simd, pad, dt)
    k = _read(model)
    x = _random((2, img[0] * img[1] * c), dt, rng)
    (got,) = k.kernel.golden(k, [x])
    finn = np.stack([_exec(model, f).reshape(-1) for f in x])
    np.testing.assert_array_equal(got, finn)
    assert k.est_cycles == k.words_out[0]


@pytest.mark.parametrize("w", [Window((8, 8), (2, 2), (2, 2), 6, 3, True),
                               Window((6, 6), (3, 3), (3, 3), 4, 1, True),
                               Window((6, 4), (2, 2), (2, 2), 2, 2, True)],
                         ids=lambda w: f"{w.ifm}-k{w.kernel}-c{w.channels}-pe{w.simd}")
def test_maxpool_golden_is_finn(w: Window) -> None:
    """The depthwise SWG's golden followed by the max pool's equals FINN's execution of
    its SWG + Pool pair (whose tensors are in im2col order, not stream order)."""
    rng = np.random.default_rng(3)
    model = _pool_model(w, "INT5")
    swg, pool = _read(model, 0), _read(model, 1)
    x = _random((2, w.ifm[0] * w.ifm[1] * w.channels), "INT5", rng)
    (win,) = swg.kernel.golden(swg, [x])
    (got,) = pool.kernel.golden(pool, [win])
    finn = np.stack([_exec(model, f).reshape(-1) for f in x])
    np.testing.assert_array_equal(got, finn)
    assert pool.est_cycles == pool.words_in[0]
    assert pool.words_in[0] == swg.words_out[0]


def test_finn_lowers_maxpool_to_swg_and_pool() -> None:
    """What finn-plus 1.6.1 makes of a 2x2 MaxPool on a quantized NCHW activation
    (InferPool, then InferConvInpGen): Transpose, a depthwise ConvolutionInputGenerator,
    Pool(MaxPool), Transpose; our kernels read those nodes and reproduce the graph."""
    from finn.transformation.fpgadataflow.convert_to_hw.conv_inp_gen import InferConvInpGen
    from finn.transformation.fpgadataflow.convert_to_hw.pool import InferPool
    from qonnx.transformation.infer_shapes import InferShapes

    c, h = 3, 6
    mp = helper.make_node("MaxPool", ["inp"], ["outp"], kernel_shape=[2, 2], strides=[2, 2],
                          name="MaxPool_0")
    model = _graph([mp], (1, c, h, h), (1, c, h // 2, h // 2), "UINT4", "maxpool")
    model = model.transform(InferShapes())
    rng = np.random.default_rng(4)
    x = _random((1, c, h, h), "UINT4", rng)
    ref = _exec(model, x)
    model = model.transform(InferPool()).transform(InferConvInpGen())
    ops = [n.op_type for n in model.graph.node]
    assert ops == ["Transpose", "ConvolutionInputGenerator", "Pool", "Transpose"], ops
    swg_node, pool_node = model.graph.node[1], model.graph.node[2]
    assert getCustomOp(swg_node).get_nodeattr("depthwise") == 1
    assert getCustomOp(pool_node).get_nodeattr("Function") == "MaxPool"
    swg = kernel_for(swg_node).read(model, swg_node)
    pool = kernel_for(pool_node).read(model, pool_node)
    assert (swg.module, pool.module) == ("cs_swg", "cs_maxpool")
    nhwc = x.transpose(0, 2, 3, 1).reshape(1, -1)
    (y,) = pool.kernel.golden(pool, swg.kernel.golden(swg, [nhwc]))
    np.testing.assert_array_equal(y.reshape(1, h // 2, h // 2, c).transpose(0, 3, 1, 2), ref)
    np.testing.assert_array_equal(_exec(model, x), ref)


def test_refusals_name_the_node() -> None:
    w = Window((6, 6), (3, 3), (1, 1), 2, 1, False)
    for extra, what in (({"Dilation": [2, 2]}, "Dilation"),
                        ({"parallel_window": 1}, "parallel_window")):
        model = _swg_model(w, "INT4")
        for key, value in extra.items():
            getCustomOp(model.graph.node[0]).set_nodeattr(key, value)
        with pytest.raises(LoweringError, match=rf"ConvolutionInputGenerator_0.*{what}"):
            _read(model)
    model = _swg_model(w, "INT4")
    getCustomOp(model.graph.node[0]).set_nodeattr("SIMD", 3)
    with pytest.raises(LoweringError, match="SIMD=3 does not divide IFMChannels=2"):
        _read(model)
    pool = _pool_model(Window((4, 4), (2, 2), (2, 2), 2, 1, True), "UINT4", fxn="AccPool")
    with pytest.raises(LoweringError, match=r"Pool_0.*Function=AccPool.*MaxPool"):
        _read(pool, 1)
    model = _pad_model((3, 3), 2, 1, [1, 1, 1, 1], "UINT4", numInputVectors=2)
    with pytest.raises(LoweringError, match=r"FMPadding_0.*numInputVectors"):
        _read(model)


# every window of the RTL cases and a CNN on 8x8 digits (padded 10x10, pooled 4x4)
CYCLE_WINDOWS = [*WINDOWS,
                 Window((10, 10), (3, 3), (1, 1), 1, 1, False),
                 Window((6, 6), (3, 3), (1, 1), 16, 4, False),
                 Window((6, 6), (3, 3), (1, 1), 16, 16, True),
                 Window((8, 8), (2, 2), (2, 2), 16, 4, True),
                 Window((12, 12), (3, 3), (2, 2), 8, 8, False)]


def test_swg_cycles_vs_finn() -> None:
    """cs_swg never takes more than FINN's estimate for ConvolutionInputGenerator_rtl
    (+5%); it is faster where FINN's counts a window's fill as dead time (it reads a
    window's first words while the last arrive) and for depthwise windows with stride
    > 1 (which FINN's RTL SWG replays per channel fold). Never below the stream words."""
    for w in CYCLE_WINDOWS:
        model = _swg_model(w, "UINT4")
        k = _read(model)
        finn = finn_rtl_cycles(model.graph.node[0])
        assert k.est_cycles == swg_cycles(window_of(getCustomOp(model.graph.node[0])))
        assert max(k.words_in[0], k.words_out[0]) <= k.est_cycles <= 1.05 * finn, (
            w, k.est_cycles, finn)


def test_layer_table_records_the_kernels_cycles() -> None:
    """The flow's layer table (results.json's ``layers``) takes each layer's cycles from
    its kernel, as the stream graph does: FINN's generic ConvolutionInputGenerator says 0,
    cs_swg's estimate is its replayed cycles; FINN's _rtl figure stays beside it."""
    w = Window((10, 10), (3, 3), (1, 1), 1, 1, False)  # the CNN's first, padded window
    model = _swg_model(w, "UINT8")
    node = model.graph.node[0]
    assert getCustomOp(node).get_exp_cycles() == 0
    (row,) = layer_table(model)
    assert row.cycles == swg_cycles(w) == _read(model).est_cycles > 0
    assert row.as_dict()["finn_rtl_cycles"] == finn_rtl_cycles(node) > 0


# --------------------------------------------------------------------------- RTL cases
@dataclass(frozen=True)
class Case:
    """One kernel parameter set: HDL parameters, testbench settings and data files."""

    kernel: str  # testbench module suffix (rtl_sim.kernels.test_<kernel>)
    name: str
    toplevel: str
    files: tuple[str, ...]  # rtl/ sources, dependencies first
    params: dict[str, int] = field(default_factory=dict)
    tb: dict[str, Any] = field(default_factory=dict)
    verilator: bool = False  # also run on Verilator


@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


def _run(case: Case, simulator: str, root: Path) -> None:
    build = root / f"{case.kernel}-{case.name}-{simulator}"
    run_cocotb(
        toplevel=case.toplevel,
        sources=[rtl_dir() / f for f in case.files],
        parameters=dict(case.params),
        test_module=f"rtl_sim.kernels.test_{case.kernel}",
        simulator=simulator,
        build_dir=build,
        extra_env={"CS_TB_CONFIG": json.dumps({**case.tb, **case.params})},
    )


def _cases_for(cases: list[Case]) -> list[Any]:
    out = []
    for c in cases:
        sims = ["icarus", "verilator"] if c.verilator else ["icarus"]
        out += [pytest.param(c, s, id=f"{c.name}-{s}") for s in sims]
    return out


PAUSES = {"in_pause": 0.3, "out_pause": 0.4}


def _instance_case(kernel: str, name: str, k: KernelInstance, seed: int, dt: str,
                   verilator: bool, **tb: Any) -> Case:
    params = {key: int(v) for key, v in k.params.items()}
    return Case(kernel, name, k.module, tuple(p.name for p in module_sources([k.module])), params,
                {"seed": seed, "signed": int(DataType[dt].signed()),
                 "est_cycles": k.est_cycles, **PAUSES, **tb}, verilator)


def _swg_case(seed: int, w: Window, dt: str, verilator: bool = False) -> Case:
    name = (f"{w.ifm[0]}x{w.ifm[1]}-k{w.kernel[0]}x{w.kernel[1]}-s{w.stride[0]}x"
            f"{w.stride[1]}-c{w.channels}-simd{w.simd}-dw{int(w.depthwise)}-{dt.lower()}")
    return _instance_case("swg", name, _read(_swg_model(w, dt)), seed, dt, verilator,
                          n_frames=2)


SWG_CASES = [
    _swg_case(51, WINDOWS[0], "UINT4", verilator=True),
    _swg_case(52, WINDOWS[1], "INT3"),
    _swg_case(53, WINDOWS[2], "UINT8", verilator=True),  # the 2x2 max-pool window
    _swg_case(54, WINDOWS[3], "INT4"),  # trailing row and column
    _swg_case(55, WINDOWS[4], "UINT2"),  # 1x1 kernel, stride 2
    _swg_case(56, WINDOWS[5], "INT8"),  # 3x1 kernel
    _swg_case(57, WINDOWS[6], "UINT3"),  # 1D
    _swg_case(58, WINDOWS[7], "INT2"),  # window = image
    _swg_case(59, WINDOWS[8], "UINT8"),  # first conv of a digits CNN
    _swg_case(60, WINDOWS[9], "INT4"),  # 2x3 kernel, 2x1 stride, depthwise
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(SWG_CASES))
def test_swg(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root)


def _pad_case(seed: int, img: tuple[int, int], c: int, simd: int, pad: list[int], dt: str,
              verilator: bool = False) -> Case:
    name = f"{img[0]}x{img[1]}-c{c}-simd{simd}-p{''.join(map(str, pad))}-{dt.lower()}"
    return _instance_case("fmpadding", name, _read(_pad_model(img, c, simd, pad, dt)), seed,
                          dt, verilator, n_frames=3)


PAD_CASES = [
    _pad_case(61, (8, 8), 1, 1, [1, 1, 1, 1], "UINT8", verilator=True),
    _pad_case(62, (4, 4), 8, 4, [1, 1, 1, 1], "INT4"),
    _pad_case(63, (5, 3), 3, 1, [2, 0, 1, 3], "UINT2"),
    _pad_case(64, (3, 3), 2, 2, [0, 0, 0, 0], "INT8"),
    _pad_case(65, (6, 6), 16, 8, [0, 2, 2, 0], "INT3"),
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(PAD_CASES))
def test_fmpadding(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root)


def _pool_case(seed: int, w: Window, dt: str, verilator: bool = False) -> Case:
    name = (f"{w.ifm[0]}x{w.ifm[1]}-k{w.kernel[0]}x{w.kernel[1]}-c{w.channels}-pe{w.simd}"
            f"-{dt.lower()}")
    k = _read(_pool_model(w, dt), 1)
    return _instance_case("maxpool", name, k, seed, dt, verilator, n_frames=3,
                          words_out=k.words_out[0])


POOL_CASES = [
    _pool_case(71, Window((8, 8), (2, 2), (2, 2), 8, 2, True), "UINT4", verilator=True),
    _pool_case(72, Window((4, 4), (2, 2), (2, 2), 6, 6, True), "INT8"),
    _pool_case(73, Window((6, 6), (3, 3), (3, 3), 4, 1, True), "INT3"),
    _pool_case(74, Window((3, 3), (1, 1), (1, 1), 4, 2, True), "UINT2"),
]


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _cases_for(POOL_CASES))
def test_maxpool(case: Case, simulator: str, cache_root: Path) -> None:
    _run(case, simulator, cache_root)
