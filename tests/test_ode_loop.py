"""The ODE loop node: rolling T identical copies of a residual block into it, its Python
execution and golden, its errors, and the RTL engine (cs_ode_loop beside one body
instance) bit-exact under random stalls for random T, shapes and folding.

The body is a small residual block of FINN HW nodes, h -> sat(h + f(h)) with f a
Thresholding (INT8 -> INT4) and sat the saturating requantization to INT8 (a
Thresholding with the 255 integer steps), the shape of an Euler step in the ODE family.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from onnx import NodeProto, TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

from codesign.backends.hls import emit_hls
from codesign.backends.rtl import emit_rtl
from codesign.backends.vectors import write_vectors
from codesign.dataflow.graph import read_graph, run_reference
from codesign.dataflow.kernels._loop_rolling import Signatures, periodic_runs
from codesign.dataflow.kernels.ode_loop import make_loop_node, roll
from codesign.errors import LoweringError
from codesign.verify.csim import run_csim
from codesign.verify.sim import simulate_accelerator

FINN = "finn.custom_op.fpgadataflow"


def _block(t: int, inp: str, out: str, *, c: int, pe: int, hw: int, f_thr: np.ndarray,
           skip_depth: int) -> tuple[list[NodeProto], dict[str, np.ndarray], dict[str, str]]:
    """Copy ``t`` of the residual block from stream ``inp`` to ``out``: its nodes, its
    initializers and the data types of its tensors."""
    vecs = [1, hw, hw]
    n = {k: f"{k}_{t}" for k in ("a", "b", "s", "f", "sum", "thr_f", "thr_q")}
    nodes = [
        helper.make_node("DuplicateStreams", [inp], [n["a"], n["b"]], name=f"Dup_{t}",
                         domain=FINN, backend="fpgadataflow", NumChannels=c, PE=pe,
                         NumOutputStreams=2, inputDataType="INT8", numInputVectors=vecs),
        helper.make_node("StreamingFIFO", [n["a"]], [n["s"]], name=f"FIFO_{t}", domain=FINN,
                         backend="fpgadataflow", depth=skip_depth,
                         folded_shape=[1, hw, hw, c // pe, pe], normal_shape=[1, hw, hw, c],
                         dataType="INT8"),
        helper.make_node("Thresholding", [n["b"], n["thr_f"]], [n["f"]], name=f"F_{t}",
                         domain=FINN, backend="fpgadataflow", NumChannels=c, PE=pe,
                         numSteps=15, inputDataType="INT8", weightDataType="INT9",
                         outputDataType="INT4", numInputVectors=vecs, ActVal=-8),
        helper.make_node("ElementwiseAdd", [n["s"], n["f"]], [n["sum"]], name=f"Add_{t}",
                         domain=FINN, backend="fpgadataflow", lhs_dtype="INT8",
                         rhs_dtype="INT4", out_dtype="INT9", lhs_shape=[1, hw, hw, c],
                         rhs_shape=[1, hw, hw, c], out_shape=[1, hw, hw, c], PE=pe),
        helper.make_node("Thresholding", [n["sum"], n["thr_q"]], [out], name=f"Q_{t}",
                         domain=FINN, backend="fpgadataflow", NumChannels=c, PE=pe,
                         numSteps=255, inputDataType="INT9", weightDataType="INT9",
                         outputDataType="INT8", numInputVectors=vecs, ActVal=-128),
    ]
    sat = np.tile(np.arange(-127, 128, dtype=np.float32), (c, 1))
    inits = {n["thr_f"]: f_thr, n["thr_q"]: sat}
    types = {inp: "INT8", n["a"]: "INT8", n["b"]: "INT8", n["s"]: "INT8", n["f"]: "INT4",
             n["sum"]: "INT9", n["thr_f"]: "INT9", n["thr_q"]: "INT9", out: "INT8"}
    return nodes, inits, types


def unrolled(seed: int, *, steps: int, c: int, pe: int, hw: int) -> ModelWrapper:
    """``steps`` copies of the block in a chain (what the export and lowering make of a
    shared block called ``steps`` times)."""
    rng = np.random.default_rng(seed)
    f_thr = np.sort(rng.integers(-128, 128, size=(c, 15)), axis=1).astype(np.float32)
    names = [f"h{t}" for t in range(steps + 1)]
    nodes: list[NodeProto] = []
    inits: dict[str, np.ndarray] = {}
    types: dict[str, str] = {}
    for t in range(steps):
        more = _block(t, names[t], names[t + 1], c=c, pe=pe, hw=hw, f_thr=f_thr,
                      skip_depth=16)
        nodes += more[0]
        inits.update(more[1])
        types.update(more[2])
    shape = [1, hw, hw, c]
    graph = helper.make_graph(
        nodes, "ode", [helper.make_tensor_value_info(names[0], TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(names[-1], TensorProto.FLOAT, shape)],
        value_info=[helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)
                    for x in types if x not in inits and x not in (names[0], names[-1])],
    )
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    for name, value in inits.items():
        model.set_initializer(name, value)
    for name, dt in types.items():
        model.set_tensor_datatype(name, DataType[dt])
    return model.transform(InferShapes())


def looped(seed: int, *, steps: int, c: int, pe: int, hw: int) -> ModelWrapper:
    """One loop node over the block, for any T (T = 1 too, which rolling never makes)."""
    body = unrolled(seed, steps=1, c=c, pe=pe, hw=hw)
    node = make_loop_node("h0", f"h{steps}", body.model.graph, steps)
    shape = [1, hw, hw, c]
    graph = helper.make_graph(
        [node], "ode", [helper.make_tensor_value_info("h0", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(f"h{steps}", TensorProto.FLOAT, shape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    model.set_tensor_datatype("h0", DataType["INT8"])
    model.set_tensor_datatype(f"h{steps}", DataType["INT8"])
    return model.transform(InferShapes())


def _frames(seed: int, n: int, hw: int, c: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(-128, 128, size=(n, 1, hw, hw, c)).astype(
        np.float32)


def _execute(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    iname, oname = model.graph.input[0].name, model.graph.output[0].name
    return np.concatenate([execute_onnx(model, {iname: f})[oname] for f in x])


def test_rolling_finds_the_copies_and_executes_the_same() -> None:
    model = unrolled(0, steps=3, c=4, pe=2, hw=3)
    x = _frames(1, 3, 3, 4)
    want = _execute(model, x)
    rolled = roll(ModelWrapper(qonnx_make_model(model.graph)), 3)
    assert [n.op_type for n in rolled.graph.node] == ["ODELoop"]
    inst = getCustomOp(rolled.graph.node[0])
    assert inst.get_nodeattr("iteration") == 3 and len(inst.body().graph.node) == 5
    assert np.array_equal(_execute(rolled, x), want)
    graph = read_graph(rolled, name="ode")
    assert np.array_equal(run_reference(graph, x.reshape(3, -1)), want.reshape(3, -1))
    assert [path for path, _ in graph.walk()][:3] == [
        "u_ODELoop_0", "u_ODELoop_0_body.u_Dup_0", "u_ODELoop_0_body.u_FIFO_0"]


def test_periodic_runs_prefer_coverage_then_short_periods() -> None:
    sigs = Signatures(own=list("xabababy"), producers=[[None]] + [[(i, 0)] for i in range(7)])
    runs = list(periodic_runs(sigs))
    assert (runs[0].start, runs[0].period, runs[0].count) == (1, 2, 3)


def test_rolling_names_what_it_found_when_t_differs() -> None:
    with pytest.raises(LoweringError, match=r"no 4 identical copies.*found: 3 copies of 5"):
        roll(unrolled(0, steps=3, c=2, pe=1, hw=2), 4)


def test_loop_errors_name_the_node() -> None:
    bad_t = looped(0, steps=1, c=2, pe=1, hw=2)
    getCustomOp(bad_t.graph.node[0]).set_nodeattr("iteration", 0)
    with pytest.raises(LoweringError, match=r"ODELoop_0 \(ODELoop\): iteration=0; T must be"):
        read_graph(bad_t)
    model = looped(0, steps=2, c=2, pe=1, hw=2)
    body = getCustomOp(model.graph.node[0]).body()
    body.set_tensor_datatype("h1", DataType["INT9"])
    last = body.find_producer("h1")
    getCustomOp(last).set_nodeattr("outputDataType", "INT9")
    next(a for a in model.graph.node[0].attribute if a.name == "body").g.CopyFrom(
        body.model.graph)
    with pytest.raises(LoweringError, match=r"ODELoop_0 \(ODELoop\): the body's output .*"
                       "differs from its input"):
        read_graph(model)


def test_unknown_op_in_the_body_is_named() -> None:
    model = looped(0, steps=2, c=2, pe=1, hw=2)
    attr = next(a for a in model.graph.node[0].attribute if a.name == "body")
    next(n for n in attr.g.node if n.name == "F_0").op_type = "Softsign"
    with pytest.raises(LoweringError, match=r"node F_0 \(Softsign\) has no kernel"):
        read_graph(model)


CASES = [  # (seed, T, channels, PE, height = width, simulator)
    (0, 1, 2, 1, 2, "icarus"),
    (1, 2, 4, 2, 6, "icarus"),
    (2, 3, 4, 1, 4, "icarus"),
    (3, 5, 6, 3, 5, "icarus"),
    (4, 4, 4, 4, 8, "verilator"),
]
"""Frames of at least ~40 words: a pass can start only once the previous pass's first
word is out of the body, so the estimate (T x body II) holds while the body's latency
(here ~25 cycles: two threshold searches) is under a frame's time."""


@pytest.mark.sim
@pytest.mark.parametrize(("seed", "steps", "c", "pe", "hw", "simulator"), CASES)
def test_engine_bit_exact_under_stalls(seed: int, steps: int, c: int, pe: int, hw: int,
                                       simulator: str, tmp_path: Path) -> None:
    """cs_ode_loop and the body against the golden (the body's kernels, T times), and the
    golden against qonnx's execution of the loop node; II within 5 % of T x body II."""
    model = looped(seed, steps=steps, c=c, pe=pe, hw=hw)
    graph = read_graph(model, name=f"ode_{seed}")
    x = _frames(seed, 6, hw, c)
    want = run_reference(graph, x.reshape(len(x), -1))
    assert np.array_equal(want, _execute(model, x).reshape(len(x), -1))
    project = emit_rtl(graph, tmp_path / "rtl")
    write_vectors(graph, x.reshape(len(x), -1), want, tmp_path / "vectors")
    report = simulate_accelerator(project, tmp_path / "vectors", tmp_path / "sim",
                                  simulator=simulator, seed=seed, ii_frames=6)
    assert report.frames == 6 and report.mismatches == 0
    (loop,) = graph.nodes
    assert loop.body is not None and report.est_ii_cycles == steps * loop.body.est_ii
    assert report.ii_error <= 0.05, (report.ii_cycles, report.est_ii_cycles)


@pytest.mark.parametrize(("seed", "steps", "c", "pe", "hw"), [(5, 1, 2, 1, 2), (6, 3, 4, 2, 3)])
def test_hls_loop_csim_bit_exact(seed: int, steps: int, c: int, pe: int, hw: int,
                                 tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The HLS top: cs::ode_loop calling the generated body function T times, C-simulated
    on the golden's vectors."""
    graph = read_graph(looped(seed, steps=steps, c=c, pe=pe, hw=hw), name=f"ode_hls_{seed}")
    x = _frames(seed, 5, hw, c).reshape(5, -1)
    write_vectors(graph, x, run_reference(graph, x), tmp_path / "vectors")
    project = emit_hls(graph, tmp_path / "hls")
    assert "accel_top_ODELoop_0_body(" in project.top_file.read_text()
    report = run_csim(project, tmp_path / "vectors", tmp_path / "csim",
                      cache=Path(request.config.cache.mkdir("csim")))
    assert report.frames == 5 and report.mismatches == 0 and report.passed
