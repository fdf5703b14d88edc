"""FINN's StreamingConcat and StreamingSplit: the concat and split kernels.

Every case is an ONNX ``Concat`` / ``Split`` on the last axis of NHWC integer tensors,
lowered by FINN's own InferConcatLayer / InferSplitLayer and folded (SIMD); the kernel
registry reads the node, its golden function is proven against FINN's Python execution of
the node, and the cocotb run (rtl_sim.kernels.test_concat / test_split) streams random
frames through the RTL under random independent valid/ready stalls on every port, then
times stall-free frames against FINN's get_exp_cycles(). Icarus runs every case, Verilator
one per kernel. A small graph (Thresholding -> Split -> two Thresholdings -> Concat) goes
through codesign's lowering sequence and its stream graph's reference equals FINN's
execution of the lowered graph.
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
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import qonnx_make_model

from codesign.backends.rtl import emit_rtl, module_sources
from codesign.backends.vectors import write_vectors
from codesign.dataflow.graph import read_graph, run_reference
from codesign.dataflow.kernels import kernel_for, lowerings
from codesign.errors import LoweringError
from codesign.verify.sim import simulate_accelerator

Case = dws.Case


# --------------------------------------------------------------------------- FINN nodes
OPSET = 13
"""ONNX opset of the test graphs: Split takes its sizes as an input from 13 on, which
InferSplitLayer reads (qonnx's preferred opset 11 has them as an attribute)."""


def _model(nodes: list[Any], inputs: dict[str, list[int]], outputs: dict[str, list[int]],
           ) -> ModelWrapper:
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()]
    vo = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()]
    graph = helper.make_graph(nodes, "concat", vi, vo)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("qonnx.custom_op.general", 1)]
    return ModelWrapper(qonnx_make_model(graph, opset_imports=opsets))


def concat_model(vecs: list[int], channels: list[int], dtypes: list[str],
                 simd: int) -> ModelWrapper:
    """ONNX Concat (axis -1) of integer tensors through FINN's InferConcatLayer."""
    from finn.transformation.fpgadataflow.convert_to_hw.concat import InferConcatLayer

    names = [f"in{i}" for i in range(len(channels))]
    model = _model(
        [helper.make_node("Concat", names, ["out"], name="Concat_0", axis=-1)],
        {n: [*vecs, c] for n, c in zip(names, channels, strict=True)},
        {"out": [*vecs, sum(channels)]},
    )
    for n, dt in zip(names, dtypes, strict=True):
        model.set_tensor_datatype(n, DataType[dt])
    model = model.transform(InferShapes()).transform(InferConcatLayer())
    assert model.graph.node[0].op_type == "StreamingConcat"
    getCustomOp(model.graph.node[0]).set_nodeattr("SIMD", simd)
    return model


def split_model(vecs: list[int], channels: list[int], dtype: str, simd: int) -> ModelWrapper:
    """ONNX Split (axis -1, constant sizes) of an integer tensor through FINN's
    InferSplitLayer."""
    from finn.transformation.fpgadataflow.convert_to_hw.split import InferSplitLayer

    names = [f"out{i}" for i in range(len(channels))]
    model = _model(
        [helper.make_node("Split", ["inp", "sizes"], names, name="Split_0", axis=-1)],
        {"inp": [*vecs, sum(channels)]},
        {n: [*vecs, c] for n, c in zip(names, channels, strict=True)},
    )
    model.set_initializer("sizes", np.array(channels, dtype=np.int64))
    model.set_tensor_datatype("inp", DataType[dtype])
    model = model.transform(InferShapes()).transform(InferSplitLayer())
    assert model.graph.node[0].op_type == "StreamingSplit"
    getCustomOp(model.graph.node[0]).set_nodeattr("SIMD", simd)
    return model


# --------------------------------------------------------------------------- cases
CONCAT_FILES = tuple(p.name for p in module_sources(["cs_concat"]))
SPLIT_FILES = tuple(p.name for p in module_sources(["cs_split"]))

CONCAT_CASES = [
    # UINT3 zero-extended into FINN's INT4 output, unequal channels, SIMD 2
    Case("concat", "u3+s4-c2+4-simd2", CONCAT_FILES,
         lambda: concat_model([1, 2, 3], [2, 4], ["UINT3", "INT4"], 2), 81, verilator=True),
    # three inputs of three types (INT6 out), the middle one slow
    Case("concat", "u2+u5+s3-c3+1+2", CONCAT_FILES,
         lambda: concat_model([1, 3, 2], [3, 1, 2], ["UINT2", "UINT5", "INT3"], 1), 82,
         pauses=(0.2, 0.7, 0.2, 0.3)),
    # four inputs, INT9 out (UINT8 beside INT2): pad bits in every word
    Case("concat", "u8+s2+s2+u1-simd2", CONCAT_FILES,
         lambda: concat_model([1, 2, 2], [2, 4, 2, 6], ["UINT8", "INT2", "INT2", "UINT1"], 2),
         83),
]

SPLIT_CASES = [
    Case("split", "s5-c2+4-simd2", SPLIT_FILES,
         lambda: split_model([1, 2, 3], [2, 4], "INT5", 2), 91, verilator=True),
    # one slow consumer beside two fast ones
    Case("split", "u4-c1+3+2", SPLIT_FILES,
         lambda: split_model([1, 3, 2], [1, 3, 2], "UINT4", 1), 92,
         pauses=(0.2, 0.1, 0.7, 0.1)),
    # four outputs, 2-bit elements (pad bits in every word)
    Case("split", "u2-c3+6+3+9-simd3", SPLIT_FILES,
         lambda: split_model([1, 2, 2], [3, 6, 3, 9], "UINT2", 3), 93),
]

ALL_CASES = CONCAT_CASES + SPLIT_CASES


# --------------------------------------------------------------------------- goldens
@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.kernel}-{c.name}") for c in ALL_CASES])
def test_golden_matches_finn(case: Case) -> None:
    """The kernel's golden function on the KernelInstance it reads equals FINN's execution
    of the generic node, frame by frame."""
    model = case.build()
    node, k = dws._only_node(model)
    frames = dws._random_frames(k, model, node, 3, np.random.default_rng(case.seed))
    want = dws._finn_outputs(model, node, frames)
    got = k.kernel.golden(k, frames)
    assert len(got) == len(want) == len(k.outputs)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_concat_takes_finns_output_type() -> None:
    """One data type per input; the output is FINN's smallest type holding them all, and
    the cycles per frame FINN's (pixels x words per pixel)."""
    _, k = dws._only_node(concat_model([1, 2, 2], [2, 4, 2, 6], ["UINT8", "INT2", "INT2",
                                                                 "UINT1"], 2))
    assert [(f.elem_bits, f.signed) for f in k.inputs] == [(8, False), (2, True), (2, True),
                                                           (1, False)]
    assert (k.out.elem_bits, k.out.signed) == (9, True)
    assert k.est_cycles == 4 * (1 + 2 + 1 + 3) == k.words_out[0]
    assert k.kernel.rtl_ports(k) == (("s0_axis", "s1_axis", "s2_axis", "s3_axis"), ("m_axis",))


def test_refusals_name_the_node() -> None:
    model = concat_model([1, 2], [2, 4], ["UINT4", "UINT4"], 1)
    node = model.graph.node[0]
    getCustomOp(node).set_nodeattr("SIMD", 4)
    with pytest.raises(LoweringError, match=r"StreamingConcat_Concat_0.*SIMD=4 does not divide "
                                            r"every entry of ChannelsPerStream=\[2, 4\].*1, 2$"):
        kernel_for(node).read(model, node)
    model = concat_model([1, 2], [1] * 5, ["UINT4"] * 5, 1)
    node = model.graph.node[0]
    with pytest.raises(LoweringError, match=r"StreamingConcat_Concat_0.*5 inputs; cs_concat "
                                            r"takes 1\.\.4 streams"):
        kernel_for(node).read(model, node)
    model = split_model([1, 2], [1] * 5, "INT4", 1)
    node = model.graph.node[0]
    with pytest.raises(LoweringError, match=r"StreamingSplit_Split_0.*5 outputs; cs_split "
                                            r"takes 1\.\.4 streams"):
        kernel_for(node).read(model, node)


def test_finn_does_not_lower_float_or_inner_axis_concat() -> None:
    """InferConcatLayer leaves a Concat of a float (still scaled) input or on another axis
    alone; the region check then names it."""
    from finn.transformation.fpgadataflow.convert_to_hw.concat import InferConcatLayer

    for dts, axis in ((["UINT4", "FLOAT32"], -1), (["UINT4", "UINT4"], 1)):
        model = _model([helper.make_node("Concat", ["a", "b"], ["o"], name="Concat_0",
                                             axis=axis)],
                           {"a": [1, 2, 2, 3], "b": [1, 2, 2, 3]},
                           {"o": [1, 4, 2, 3] if axis == 1 else [1, 2, 2, 6]})
        for n, dt in zip("ab", dts, strict=True):
            model.set_tensor_datatype(n, DataType[dt])
        model = model.transform(InferShapes()).transform(InferConcatLayer())
        assert [n.op_type for n in model.graph.node] == ["Concat"]


# --------------------------------------------------------------------------- lowering
def _mt(name: str, x: str, y: str, channels: int, n_thres: int, out: str, bias: float,
        model: ModelWrapper) -> Any:
    """A MultiThreshold on NHWC ``x`` with sorted random integer thresholds."""
    rng = np.random.default_rng(len(name) + channels + n_thres)
    thr = np.sort(rng.integers(-8, 16, size=(channels, n_thres)), axis=1)
    model.set_initializer(f"{name}_t", thr.astype(np.float32))
    return helper.make_node("MultiThreshold", [x, f"{name}_t"], [y], name=name,
                            domain="qonnx.custom_op.general", out_dtype=out,
                            out_bias=bias, data_layout="NHWC")


def _split_concat_graph() -> ModelWrapper:
    """x -> MultiThreshold -> Split (1 | 3 channels) -> a UINT2 and an INT3 MultiThreshold
    -> Concat, lowered by codesign's lowering sequence (the kernels' Lowering declarations,
    FINN's Infer* transformations)."""
    model = _model([], {"x": [*SHAPE, 4]}, {"y": [*SHAPE, 4]})
    nodes = [
        _mt("MT_0", "x", "t", 4, 15, "UINT4", 0.0, model),
        helper.make_node("Split", ["t", "sizes"], ["a", "b"], name="Split_0", axis=-1),
        _mt("MT_a", "a", "qa", 1, 3, "UINT2", 0.0, model),
        _mt("MT_b", "b", "qb", 3, 7, "INT3", -4.0, model),
        helper.make_node("Concat", ["qa", "qb"], ["y"], name="Concat_0", axis=-1),
    ]
    model.graph.node.extend(nodes)
    model.set_initializer("sizes", np.array([1, 3], dtype=np.int64))
    model.set_tensor_datatype("x", DataType["INT5"])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    for lowering in lowerings():
        model = lowering.apply(model)
    return model


SHAPE = [1, 2, 3]


def _finn_frames(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    """FINN's execution of the lowered graph (generic HW nodes), frame by frame."""
    want = [execute_onnx(model, {"x": f.reshape(*SHAPE, 4).astype(np.float32)})["y"]
            for f in x]
    return np.rint(np.stack(want)).astype(np.int64).reshape(len(x), -1)


def test_finn_lowers_split_and_concat_of_thresholds() -> None:
    """The lowering makes Thresholding, StreamingSplit and StreamingConcat nodes, the
    kernels read them, and the stream graph's reference (the golden functions wired by
    port) equals FINN's execution of the lowered graph."""
    model = _split_concat_graph()
    ops = [n.op_type for n in model.graph.node]
    assert sorted(ops) == ["StreamingConcat", "StreamingSplit", "Thresholding", "Thresholding",
                           "Thresholding"]
    graph = read_graph(model, "split_concat")
    cat = graph.node("StreamingConcat_Concat_0")
    assert [(f.elem_bits, f.signed) for f in cat.inputs] == [(2, False), (3, True)]
    x = np.random.default_rng(5).integers(-16, 16, size=(3, 2 * 3 * 4))
    np.testing.assert_array_equal(run_reference(graph, x), _finn_frames(model, x))


@pytest.mark.sim
def test_split_concat_accelerator_on_icarus(tmp_path: Path) -> None:
    """The same graph as an accelerator: the RTL top wires the split's outputs and the
    concat's inputs by port (unused ports left open), and the HDL harness streams frames
    through it under stalls, bit-exact with FINN, at FINN's II."""
    model = _split_concat_graph()
    graph = read_graph(model, "split_concat")
    x = np.random.default_rng(6).integers(-16, 16, size=(6, 2 * 3 * 4))
    vectors = tmp_path / "vectors"
    write_vectors(graph, x, _finn_frames(model, x), vectors)
    project = emit_rtl(graph, tmp_path / "rtl")
    report = simulate_accelerator(project, vectors, tmp_path / "sim", simulator="icarus",
                                  ii_frames=4)
    assert report.ii_cycles == graph.est_ii == 24


# --------------------------------------------------------------------------- RTL
@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), dws._sim_params(ALL_CASES))
def test_rtl_kernel(case: Case, simulator: str, cache_root: Path) -> None:
    res = dws._sim(case, simulator, cache_root)
    est = res["est_cycles"]
    assert abs(res["cycles_per_frame"] - est) <= 0.05 * est, (
        f"{res['cycles_per_frame']:.1f} cycles per frame, FINN estimates {est}"
    )
