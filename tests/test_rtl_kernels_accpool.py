"""The pooling sums: GlobalAccPool (cs_global_acc_pool) and Pool with Function
QuantAvgPool (cs_avgpool, the ``maxpool`` kernel's average mode).

Each node comes from finn-plus's own lowering of a small ONNX graph (a GlobalAveragePool
on a quantized activation, Brevitas' QuantAvgPool2d) or is built as FINN's tests build
it; the golden functions are checked against FINN's Python execution, then each RTL
kernel runs under cocotb (rtl_sim.kernels.test_<kernel>) on random frames and the
extreme ones under random valid/ready stalls, and stall-free for the cycles per frame
against the kernel's estimate. Icarus runs every case, Verilator one per kernel.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core import data_layout as DataLayout
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

from codesign.backends.rtl import module_sources
from codesign.backends.words import value_range
from codesign.dataflow.kernels import KernelInstance, kernel_for, lowerings
from codesign.dataflow.kernels.pool import quant_avg_shift
from codesign.errors import LoweringError
from codesign.verify.simulators import rtl_dir, run_cocotb

FINN = "finn.custom_op.fpgadataflow"


# --------------------------------------------------------------------------- graphs
def _model(nodes: list[Any], ishape: list[int], oshape: list[int], dt: str,
           inp: str = "inp", out: str = "outp") -> ModelWrapper:
    graph = helper.make_graph(
        nodes, "accpool", [helper.make_tensor_value_info(inp, TensorProto.FLOAT, ishape)],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, oshape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    model.set_tensor_datatype(inp, DataType[dt])
    return model


def gap_model(*, c: int, pe: int, img: tuple[int, int], dt: str,
              vecs: list[int] | None = None) -> ModelWrapper:
    """One GlobalAccPool node as InferGlobalAccPoolLayer makes it (NHWC, one image)."""
    h, w = img
    node = helper.make_node(
        "GlobalAccPool", ["inp"], ["outp"], domain=FINN, backend="fpgadataflow",
        name="GlobalAccPool_0", NumChannels=c, PE=pe, inputDataType=dt,
        numInputVectors=vecs or [1, h, w],
    )
    return _model([node], [1, h, w, c], [1, 1, 1, c], dt)


def qavg_model(*, c: int, img: int, k: int, s: int, dt: str, obits: int,
               layout: str = "NHWC") -> ModelWrapper:
    """Brevitas' QuantAvgPool2d on ``dt`` (ibits its width) with ``obits`` outputs."""
    idt = DataType[dt]
    o = (img - k) // s + 1
    shape = (lambda hw, ch: [1, hw, hw, ch]) if layout == "NHWC" else (
        lambda hw, ch: [1, ch, hw, hw])
    node = helper.make_node(
        "QuantAvgPool2d", ["inp"], ["outp"], domain="qonnx.custom_op.general",
        name="QuantAvgPool2d_0", stride=s, kernel=k, ibits=idt.bitwidth(), obits=obits,
        signed=int(idt.signed()), data_layout=layout,
    )
    model = _model([node], shape(img, c), shape(o, c), dt)
    return model.transform(InferShapes()).transform(InferDataTypes())


def lower(model: ModelWrapper) -> ModelWrapper:
    """Every kernel's lowering in the registry's order (as the flow's convert-to-HW step
    applies them), then the Transpose pairs between HW layers cancelled."""
    from finn.transformation.streamline.absorb import AbsorbConsecutiveTransposes

    for lowering in lowerings():
        model = lowering.apply(model)
    return model.transform(AbsorbConsecutiveTransposes())


def avg_pair(*, c: int, pe: int, img: int, k: int, s: int, dt: str,
             obits: int) -> ModelWrapper:
    """The depthwise SWG + Pool(QuantAvgPool) that InferPool and InferConvInpGen make of
    an NHWC QuantAvgPool2d, folded to PE channels per word."""
    model = lower(qavg_model(c=c, img=img, k=k, s=s, dt=dt, obits=obits))
    swg, pool = model.graph.node
    assert (swg.op_type, pool.op_type) == ("ConvolutionInputGenerator", "Pool")
    getCustomOp(swg).set_nodeattr("SIMD", pe)
    getCustomOp(pool).set_nodeattr("PE", pe)
    return model


def _read(model: ModelWrapper, op_type: str) -> KernelInstance:
    (node,) = model.get_nodes_by_op_type(op_type)
    return kernel_for(node).read(model, node)


def _random(dt: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    d = DataType[dt]
    return rng.integers(int(d.min()), int(d.max()) + 1, size=shape)


def _exec(model: ModelWrapper, x: np.ndarray, out: str = "outp") -> np.ndarray:
    shape = model.get_tensor_shape(model.graph.input[0].name)
    res = execute_onnx(model, {model.graph.input[0].name: x.reshape(shape).astype(np.float32)})
    return np.asarray(res[out])


# --------------------------------------------------------------------------- goldens
GAPS = [dict(c=6, pe=2, img=(3, 4), dt="INT4"), dict(c=4, pe=4, img=(1, 1), dt="UINT8"),
        dict(c=5, pe=1, img=(5, 3), dt="UINT3"), dict(c=8, pe=2, img=(7, 7), dt="INT2")]


@pytest.mark.parametrize("kw", GAPS, ids=lambda kw: f"c{kw['c']}-pe{kw['pe']}-{kw['dt']}")
def test_global_acc_pool_golden_is_finn(kw: dict[str, Any]) -> None:
    """The golden sums equal FINN's execution of the node, on random frames and on the
    extreme ones, which reach the ends of FINN's output type (no sum wraps)."""
    model = gap_model(**kw)
    k = _read(model, "GlobalAccPool")
    n = k.words_in[0] * k.inp.elems
    dt = DataType[kw["dt"]]
    x = np.concatenate([_random(kw["dt"], (3, n), np.random.default_rng(1)),
                        np.full((1, n), dt.min()), np.full((1, n), dt.max())])
    (got,) = k.kernel.golden(k, [x])
    finn = np.stack([np.rint(_exec(model, f)).astype(np.int64).reshape(-1) for f in x])
    np.testing.assert_array_equal(got, finn)
    pixels = kw["img"][0] * kw["img"][1]
    np.testing.assert_array_equal(got[-2:], [[pixels * dt.min()] * kw["c"],
                                             [pixels * dt.max()] * kw["c"]])
    odt = getCustomOp(model.graph.node[0]).get_output_datatype()
    assert (k.out.elem_bits, k.out.signed) == (odt.bitwidth(), odt.signed())
    assert odt.allowed(int(got.min())) and odt.allowed(int(got.max()))
    assert k.est_cycles == k.words_in[0]  # FINN's get_exp_cycles adds the NF output words


AVGS = [dict(c=4, pe=2, img=4, k=2, s=2, dt="UINT4", obits=4),
        dict(c=3, pe=3, img=5, k=3, s=1, dt="INT4", obits=3),
        dict(c=2, pe=1, img=4, k=2, s=2, dt="INT2", obits=8),  # shift 0, sign-extended
        dict(c=4, pe=2, img=6, k=3, s=3, dt="UINT8", obits=3)]


def _avg_id(kw: dict[str, Any]) -> str:
    return f"c{kw['c']}-pe{kw['pe']}-k{kw['k']}s{kw['s']}-{kw['dt']}-o{kw['obits']}"


@pytest.mark.parametrize("kw", AVGS, ids=_avg_id)
def test_avgpool_golden_is_finn(kw: dict[str, Any]) -> None:
    """The depthwise SWG's golden followed by the average pool's equals FINN's execution
    of its SWG + Pool pair and the QuantAvgPool2d it was made of (Brevitas' semantics:
    the window sum shifted right, floor), window extremes included."""
    rng = np.random.default_rng(2)
    src = qavg_model(c=kw["c"], img=kw["img"], k=kw["k"], s=kw["s"], dt=kw["dt"],
                     obits=kw["obits"])
    model = avg_pair(**kw)
    swg, pool = _read(model, "ConvolutionInputGenerator"), _read(model, "Pool")
    assert pool.module == "cs_avgpool" and pool.kind == "maxpool"
    assert pool.params["SHIFT"] == getCustomOp(model.graph.node[1]).get_nodeattr("Size")
    n = kw["img"] ** 2 * kw["c"]
    dt = DataType[kw["dt"]]
    x = np.concatenate([_random(kw["dt"], (3, n), rng), np.full((1, n), dt.min()),
                        np.full((1, n), dt.max())])
    (got,) = pool.kernel.golden(pool, swg.kernel.golden(swg, [x]))
    for graph in (model, src):
        want = np.stack([np.rint(_exec(graph, f)).astype(np.int64).reshape(-1) for f in x])
        np.testing.assert_array_equal(got, want)
    odt = DataType[getCustomOp(model.graph.node[1]).get_nodeattr("OutputDataType")]
    assert odt.min() <= got.min() and got.max() <= odt.max()
    assert pool.est_cycles == pool.words_in[0] == swg.words_out[0]


def test_quant_avg_shift_is_qonnx() -> None:
    """The shift equals QuantAvgPool2d's get_shifts (what InferPool puts in Size)."""
    for ib, ob, k in [(4, 4, 2), (8, 3, 3), (2, 8, 2), (3, 2, 1), (8, 8, 7)]:
        node = helper.make_node("QuantAvgPool2d", ["x"], ["y"], domain="qonnx.custom_op.general",
                                stride=k, kernel=k, ibits=ib, obits=ob, signed=0)
        assert quant_avg_shift(ib, ob, k * k) == getCustomOp(node).get_shifts()


# --------------------------------------------------------------------------- lowering
def test_finn_lowers_global_average_pool() -> None:
    """What finn-plus 1.6.1 makes of a GlobalAveragePool on a quantized NHWC activation
    (a MultiThreshold whose output streamlining left behind a Transpose to NCHW): through
    the registry's lowerings, Thresholding then GlobalAccPool, the inserted NCHW->NHWC
    Transpose cancelled against the graph's, and a float Mul by 1/(H*W) (plus the
    Transpose back to NCHW) after it; our kernel reads the node and reproduces the
    graph's output."""
    c, h, w = 4, 3, 5
    mt = helper.make_node("MultiThreshold", ["inp", "thr"], ["act"], name="MT_0",
                          domain="qonnx.custom_op.general", out_dtype="INT4", out_bias=-8.0,
                          data_layout="NHWC")
    tr = helper.make_node("Transpose", ["act"], ["act_nchw"], perm=[0, 3, 1, 2], name="Tr_0")
    gap = helper.make_node("GlobalAveragePool", ["act_nchw"], ["outp"], name="GAP_0")
    model = _model([mt, tr, gap], [1, h, w, c], [1, c, 1, 1], "INT8")
    rng = np.random.default_rng(5)
    model.set_initializer("thr", np.sort(rng.integers(-100, 100, size=(c, 15)), axis=1)
                          .astype(np.float32))
    model.set_tensor_layout("inp", DataLayout.NHWC)
    model = model.transform(InferShapes()).transform(InferDataTypes())
    model = model.transform(InferDataLayouts())
    x = _random("INT8", (1, h * w * c), rng)
    ref = _exec(model, x)
    low = lower(model)
    assert [n.op_type for n in low.graph.node] == [
        "Thresholding", "GlobalAccPool", "Mul", "Transpose"]
    thr, acc = _read(low, "Thresholding"), _read(low, "GlobalAccPool")
    assert (acc.module, acc.params["PIXELS"], acc.params["OUT_BITS"]) == (
        "cs_global_acc_pool", h * w, 8)  # 15 pixels of INT4: -120..105
    (sums,) = acc.kernel.golden(acc, thr.kernel.golden(thr, [x]))
    np.testing.assert_allclose(sums.reshape(ref.shape) / (h * w), ref, rtol=1e-6)
    np.testing.assert_allclose(_exec(low, x), ref, rtol=1e-6)


def test_finn_lowers_quant_avg_pool() -> None:
    """What finn-plus 1.6.1 makes of Brevitas' QuantAvgPool2d on an NCHW quantized input
    (InferPool, then InferConvInpGen, through the registry's lowerings): Transpose, a
    depthwise ConvolutionInputGenerator, Pool(QuantAvgPool), Transpose; our kernels read
    the pair (the Pool on cs_avgpool) and reproduce the graph."""
    c, img = 3, 6
    model = qavg_model(c=c, img=img, k=2, s=2, dt="UINT4", obits=4, layout="NCHW")
    x = _random("UINT4", (1, c * img * img), np.random.default_rng(6))
    ref = np.rint(_exec(model, x)).astype(np.int64)
    low = lower(model)
    assert [n.op_type for n in low.graph.node] == [
        "Transpose", "ConvolutionInputGenerator", "Pool", "Transpose"]
    swg, pool = _read(low, "ConvolutionInputGenerator"), _read(low, "Pool")
    assert (swg.module, pool.module, pool.params["SHIFT"]) == ("cs_swg", "cs_avgpool", 2)
    nhwc = x.reshape(1, c, img, img).transpose(0, 2, 3, 1).reshape(1, -1)
    (y,) = pool.kernel.golden(pool, swg.kernel.golden(swg, [nhwc]))
    o = img // 2
    np.testing.assert_array_equal(y.reshape(1, o, o, c).transpose(0, 3, 1, 2), ref)
    call = pool.kernel.hls_call(pool)
    assert (call.header, call.function) == ("cs_avgpool.hpp", "cs::avgpool")


def test_global_acc_pool_lowers_after_the_elementwise_ops() -> None:
    """FINN's builder order: InferGlobalAccPoolLayer after InferElementwiseBinaryOperation
    (so its float Mul is never offered to it), and so after the thresholds and pools."""
    names = [lw.name for lw in lowerings()]
    at = names.index("InferGlobalAccPoolLayer")
    assert names.index("InferElementwiseBinaryOperation") < at
    assert names.index("InferThresholdingLayer") < names.index("InferPool") < at


def test_refusals_name_the_node() -> None:
    model = gap_model(c=6, pe=4, img=(2, 2), dt="UINT4")
    with pytest.raises(LoweringError, match=r"GlobalAccPool_0.*PE=4 does not divide "
                       r"NumChannels=6.*1, 2, 3, 6"):
        _read(model, "GlobalAccPool")
    model = gap_model(c=4, pe=2, img=(2, 2), dt="UINT4", vecs=[2, 2, 2])
    with pytest.raises(LoweringError, match=r"GlobalAccPool_0.*numInputVectors=\[2, 2, 2\]"):
        _read(model, "GlobalAccPool")
    model = avg_pair(c=2, pe=1, img=4, k=2, s=2, dt="UINT4", obits=4)
    getCustomOp(model.graph.node[1]).set_nodeattr("Size", 3)
    with pytest.raises(LoweringError, match=r"Pool_QuantAvgPool2d_0.*Size=3.*is 2"):
        _read(model, "Pool")
    # INT2 over 3x3 shifted by 3 gives -3, which INT2 outputs cannot hold (FINN's Python
    # and QuantAvgPool2d's own execution give -3)
    model = avg_pair(c=2, pe=1, img=3, k=3, s=3, dt="INT2", obits=2)
    with pytest.raises(LoweringError, match=r"Pool_QuantAvgPool2d_0.*span -3\.\.1.*INT2"):
        _read(model, "Pool")


# --------------------------------------------------------------------------- RTL
@dataclass(frozen=True)
class Case:
    """One kernel instance to simulate: how to build its graph, which node to read."""

    kernel: str  # testbench module suffix (rtl_sim.kernels.test_<kernel>)
    name: str
    build: Callable[[], ModelWrapper]
    op_type: str
    seed: int
    verilator: bool = False


GAP_CASES = [
    Case("global_acc_pool", "c6-pe2-3x4-int4", lambda: gap_model(**GAPS[0]), "GlobalAccPool",
         81, verilator=True),
    Case("global_acc_pool", "c4-pe4-1x1-uint8", lambda: gap_model(**GAPS[1]), "GlobalAccPool",
         82),
    Case("global_acc_pool", "c5-pe1-5x3-uint3", lambda: gap_model(**GAPS[2]), "GlobalAccPool",
         83),
]
AVG_CASES = [
    Case("avgpool", _avg_id(AVGS[0]), lambda: avg_pair(**AVGS[0]), "Pool", 91,
         verilator=True),
    Case("avgpool", _avg_id(AVGS[1]), lambda: avg_pair(**AVGS[1]), "Pool", 92),
    Case("avgpool", _avg_id(AVGS[2]), lambda: avg_pair(**AVGS[2]), "Pool", 93),
]


def _sim_params(cases: list[Case]) -> list[Any]:
    return [pytest.param(c, sim, id=f"{c.kernel}-{c.name}-{sim}")
            for c in cases for sim in (["icarus", "verilator"] if c.verilator else ["icarus"])]


@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


def _frames(k: KernelInstance, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Stalled frames (3 random, all minima, all maxima) then 4 timed random ones; and
    how many are stalled."""
    n = k.words_in[0] * k.inp.elems
    lo, hi = value_range(k.inp.elem_bits, k.inp.signed)
    stalled = [rng.integers(lo, hi + 1, size=(3, n)), np.full((1, n), lo), np.full((1, n), hi)]
    return np.concatenate([*stalled, rng.integers(lo, hi + 1, size=(4, n))]), 5


def _sim(case: Case, simulator: str, root: Path) -> None:
    """Run the case's cocotb bench: every word checked inside it, then the measured
    stall-free cycles per frame against the kernel's estimate."""
    build = root / f"accpool-{case.kernel}-{case.name}-{simulator}"
    build.mkdir(parents=True, exist_ok=True)
    k = _read(case.build(), case.op_type)
    x, n_stall = _frames(k, np.random.default_rng(case.seed))
    (y,) = k.kernel.golden(k, [x])
    ports = []
    for kind, prefix, fmt, data, pause in (("in", "s_axis", k.inp, x, 0.3),
                                           ("out", "m_axis", k.out, y, 0.4)):
        np.save(build / f"{kind}.npy", data)
        ports.append({"prefix": prefix, "elem_bits": fmt.elem_bits, "elems": fmt.elems,
                      "frames": str(build / f"{kind}.npy"), "pause": pause})
    result = build / "result.json"
    result.unlink(missing_ok=True)
    tb = {"seed": case.seed, "stall_frames": n_stall, "result": str(result),
          "inputs": ports[:1], "outputs": ports[1:]}
    run_cocotb(
        toplevel=k.module, sources=[rtl_dir() / p.name for p in module_sources([k.module])],
        parameters=dict(k.params), test_module=f"rtl_sim.kernels.test_{case.kernel}",
        simulator=simulator, build_dir=build, extra_env={"CS_TB_CONFIG": json.dumps(tb)},
    )
    measured = float(json.loads(result.read_text())["cycles_per_frame"])
    assert measured == k.est_cycles, f"{measured} cycles per frame, estimate {k.est_cycles}"


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _sim_params(GAP_CASES + AVG_CASES))
def test_rtl_kernel(case: Case, simulator: str, cache_root: Path) -> None:
    _sim(case, simulator, cache_root)
