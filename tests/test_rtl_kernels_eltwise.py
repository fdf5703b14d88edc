"""The elementwise binary kernel (cs_elementwise_binary): FINN's ElementwiseAdd, Sub, Mul,
Max and AbsDiff on two streams or on one stream and an integer constant (scalar,
per-channel or of the whole shape, on either side).

Every node comes from an ONNX op through the kernel's own lowering (finn-plus's
InferElementwiseBinaryOperation with the kernel's filter), MinimizeWeightBitWidth and
MinimizeAccumulatorWidth, as the flow makes it; the golden function on the instance the
registry reads equals FINN's Python execution of the node. The cocotb cases then stream
random frames through the RTL under random valid/ready stalls (rtl_sim.kernels.
test_elementwise_binary, the harness of tests/test_rtl_kernels_dws.py) and check the
stall-free cycles per frame against FINN's get_exp_cycles(). Icarus runs every case,
Verilator one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import test_rtl_kernels_dws as dws
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.general import GiveUniqueNodeNames
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes

from codesign.backends.rtl import module_sources
from codesign.dataflow.kernels import kernel_for, kernel_named
from codesign.errors import LoweringError

FILES = tuple(p.name for p in module_sources(["cs_elementwise_binary"]))
ONNX_OP = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Max": "Max", "AbsDiff": "Sub"}


def lower(model: ModelWrapper, pe: int = 1) -> ModelWrapper:
    """The kernel's lowering, then PE, FINN's minimizations and the kernel's correction
    of out_dtype (as the flow's steps)."""
    from finn.transformation.fpgadataflow.minimize_accumulator_width import (
        MinimizeAccumulatorWidth,
    )
    from finn.transformation.fpgadataflow.minimize_weight_bit_width import (
        MinimizeWeightBitWidth,
    )

    model = model.transform(InferShapes()).transform(InferDataTypes())
    (lowering,) = kernel_named("elementwise_binary").lowerings
    model = lowering.apply(model).transform(GiveUniqueNodeNames())
    for node in model.graph.node:
        if node.op_type.startswith("Elementwise"):
            getCustomOp(node).set_nodeattr("PE", pe)
    model = model.transform(MinimizeWeightBitWidth()).transform(MinimizeAccumulatorWidth())
    for node in model.graph.node:
        if node.op_type.startswith("Elementwise"):
            kernel_for(node).correct_datatypes(model, node)
    return model


def eltwise_model(op: str, shape: list[int], pe: int, lhs: str, rhs: str, *,
                  const: np.ndarray | None = None, const_lhs: bool = False,
                  out: str | None = None) -> ModelWrapper:
    """One ONNX ``op`` (AbsDiff: Sub then Abs) of two integer tensors, or of one and the
    integer constant ``const`` (float32 initializer, on the lhs with ``const_lhs``,
    annotated INT8: a lone op with a FLOAT32 constant, whose output is FLOAT32, at the
    graph's end is FINN's output de-quantization; MinimizeWeightBitWidth then gives it the
    type of its values), lowered; ``out`` overrides the derived out_dtype (a narrower one
    makes the result wrap)."""
    names = ["a", "b"]
    nodes = [helper.make_node(ONNX_OP[op], names, ["o" if op != "AbsDiff" else "d"],
                              name=f"{op}_0")]
    if op == "AbsDiff":
        nodes.append(helper.make_node("Abs", ["d"], ["o"], name="Abs_0"))
    streamed = {n: shape for i, n in enumerate(names)
                if const is None or i != (0 if const_lhs else 1)}
    model = dws._model(nodes, streamed, {"o": shape})
    if const is not None:
        model.set_initializer(names[0 if const_lhs else 1], const.astype(np.float32))
        model.set_tensor_datatype(names[0 if const_lhs else 1], DataType["INT8"])
    for name, dt in zip(names, (lhs, rhs), strict=True):
        if name in streamed:
            model.set_tensor_datatype(name, DataType[dt])
    model = lower(model, pe)
    (node,) = model.graph.node
    if out is not None:
        getCustomOp(node).set_nodeattr("out_dtype", out)
    return model


def _case(name: str, seed: int, verilator: bool = False, pauses: tuple[float, ...] = (),
          finn_exact: bool = True, **kw: Any) -> dws.Case:
    return dws.Case("elementwise_binary", name, FILES, lambda: eltwise_model(**kw), seed,
                    pauses=pauses, verilator=verilator, finn_exact=finn_exact)


PER_CHANNEL = np.array([3, -4, 0, 2, -1, 1])
SIM_CASES = [
    _case("add-u4+s4-pe2", 71, op="Add", shape=[1, 3, 3, 4], pe=2,
          lhs="UINT4", rhs="INT4"),
    # one input much slower than the other
    _case("sub-u8-u8-pe4-slow-rhs", 72, pauses=(0.1, 0.7, 0.3), op="Sub", shape=[1, 2, 2, 8],
          pe=4, lhs="UINT8", rhs="UINT8"),
    _case("absdiff-s3-s5-pe1", 73, op="AbsDiff", shape=[1, 2, 6], pe=1, lhs="INT3",
          rhs="INT5"),
    # per-channel constant scale: a ROM of C/PE = 2 words
    _case("mul-s4xc6-pe3", 74, verilator=True, op="Mul", shape=[1, 2, 2, 6], pe=3,
          lhs="INT4", rhs="", const=PER_CHANNEL),
    # ReLU-like Max with a scalar: a ROM of one word
    _case("max-s4-scalar-pe4", 75, op="Max", shape=[1, 3, 8], pe=4, lhs="INT4", rhs="",
          const=np.array(-3)),
    # constant minus the stream, wrapping to a narrower out_dtype than FINN's
    _case("sub-c6-u4-wrap4-pe2", 76, finn_exact=False, op="Sub", shape=[1, 3, 6], pe=2,
          lhs="", rhs="UINT4", const=PER_CHANNEL * 2, const_lhs=True, out="INT4"),
]

#: more golden checks (no simulation): every op on both sides of every constant shape
GOLDEN_CASES = [
    _case(f"{op.lower()}-{where}-{kind}", 80 + i, op=op, shape=[1, 2, 3, 6], pe=2,
          lhs="INT5", rhs="UINT3", const=const, const_lhs=where == "lhs")
    for i, (op, where, (kind, const)) in enumerate(
        (op, where, c)
        for op in ("Add", "Sub", "Mul", "Max")
        for where in ("lhs", "rhs")
        for c in (("scalar", np.array([5])), ("channel", PER_CHANNEL),
                  ("pixel", np.array([[2], [-7], [4]])),
                  ("full", np.arange(36).reshape(1, 2, 3, 6) - 18)))
]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name)
                                  for c in SIM_CASES + GOLDEN_CASES if c.finn_exact])
def test_golden_matches_finn(case: dws.Case) -> None:
    model = case.build()
    node, k = dws._only_node(model)
    frames = dws._random_frames(k, model, node, 4, np.random.default_rng(case.seed))
    want = dws._finn_outputs(model, node, frames)
    (got,) = k.kernel.golden(k, frames)
    np.testing.assert_array_equal(got, want[0])


def test_constant_rom_holds_one_period() -> None:
    """The ROM holds the constant's period in stream words: one word for a scalar, C/PE
    for a per-channel constant, W*C/PE for one per pixel column, the frame for a full one.
    A constant lhs (the stream on s1_axis) stays one in a Sub (c - x) and a Max: qonnx's
    cleanup moves the initializer of an Add or a Mul last."""
    depth = {}
    for case in GOLDEN_CASES:
        _, k = dws._only_node(case.build())
        depth[case.name.split("-", 1)[1]] = int(k.params["CONST_WORDS"])
        lhs_const = case.name.startswith(("sub-lhs", "max-lhs"))
        assert k.kernel.rtl_ports(k)[0] == (("s1_axis",) if lhs_const else ("s0_axis",))
    assert {n: d for n, d in depth.items() if n.startswith("rhs")} == {
        "rhs-scalar": 1, "rhs-channel": 3, "rhs-pixel": 9, "rhs-full": 18}
    _, k = dws._only_node(eltwise_model("Sub", [1, 6], 1, "", "UINT4", const=PER_CHANNEL,
                                        const_lhs=True))
    (got,) = k.kernel.golden(k, [np.full((1, 6), 2)])
    assert got.tolist() == [(PER_CHANNEL - 2).tolist()]


# --------------------------------------------------------------------------- lowering
def _mt(inp: str, out: str, dt: str, channels: int) -> tuple[Any, str, np.ndarray]:
    """A MultiThreshold node and its (channels, levels) thresholds: the quantized
    activations an elementwise op joins."""
    levels = DataType[dt].max() - DataType[dt].min()
    node = helper.make_node("MultiThreshold", [inp, f"t_{out}"], [out], name=f"MT_{out}",
                            domain="qonnx.custom_op.general", out_dtype=dt,
                            out_bias=float(DataType[dt].min()), data_layout="NHWC")
    return node, f"t_{out}", np.tile(np.arange(levels, dtype=np.float32) - 4, (channels, 1))


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Max", "AbsDiff"])
@pytest.mark.parametrize("const", [None, "scalar", "channel"])
def test_finn_lowers_ops_of_activations(op: str, const: str | None) -> None:
    """An op of two MultiThreshold outputs (or of one and an integer constant) becomes one
    Elementwise<op> node between them; the kernel reads it and reproduces the graph."""
    from qonnx.core.onnx_exec import execute_onnx

    shape, c = [1, 2, 2, 4], 4
    mt_a, ta, thr_a = _mt("x", "a", "INT4", c)
    nodes, inits = [mt_a], {ta: thr_a}
    if const is None:
        mt_b, tb, thr_b = _mt("x", "b", "UINT3", c)
        nodes.append(mt_b)
        inits[tb] = thr_b
    else:
        inits["b"] = np.array(3.0) if const == "scalar" else np.array([2, -1, 0, 5.0])
    nodes.append(helper.make_node(ONNX_OP[op], ["a", "b"], ["o" if op != "AbsDiff" else "d"],
                                  name=f"{op}_0"))
    if op == "AbsDiff":
        nodes.append(helper.make_node("Abs", ["d"], ["o"], name="Abs_0"))
    # requantized after the op, as in a network (and not the graph's final op, which
    # FINN leaves to the host as the output de-quantization when it is a float Mul)
    mt_y, ty, inits[ty] = _mt("o", "y", "INT4", c)
    model = dws._model([*nodes, mt_y], {"x": shape}, {"y": shape})
    model.set_tensor_datatype("x", DataType["INT8"])
    for name, value in inits.items():
        model.set_initializer(name, value.astype(np.float32))
    x = np.random.default_rng(3).integers(-8, 8, size=shape).astype(np.float32)
    ref = execute_onnx(model.transform(InferShapes()), {"x": x}, return_full_exec_context=True)
    model = lower(model, pe=2)
    ops = {n.op_type: n for n in model.graph.node}
    assert sorted(ops) == sorted({"MultiThreshold", f"Elementwise{op}"}), ops
    node = ops[f"Elementwise{op}"]
    k = kernel_for(node).read(model, node)
    assert k.module == "cs_elementwise_binary" and len(k.inputs) == (2 if const is None else 1)
    streams = [np.rint(ref[n]).astype(np.int64).reshape(1, -1)
               for n in ("a", "b")[: len(k.inputs)]]
    (y,) = k.kernel.golden(k, streams)
    np.testing.assert_array_equal(y.reshape(shape), ref["o"])


def test_float_operands_stay_on_the_host() -> None:
    """A non-integer constant, a float streamed operand and the graph's final
    de-quantizing Mul are left to the host: the filter does not lower them."""
    shape = [1, 4]
    for op, const in (("Add", np.array([0.5, 1, 2, 3])), ("Mul", np.array(0.25))):
        model = dws._model([helper.make_node(op, ["a", "b"], ["o"], name=f"{op}_0")],
                           {"a": shape}, {"o": shape})
        model.set_tensor_datatype("a", DataType["INT4"])
        model.set_initializer("b", const.astype(np.float32))
        assert [n.op_type for n in lower(model).graph.node] == [op]
    model = dws._model([helper.make_node("Add", ["a", "b"], ["o"], name="Add_0")],
                       {"a": shape, "b": shape}, {"o": shape})
    model.set_tensor_datatype("a", DataType["INT4"])
    assert [n.op_type for n in lower(model).graph.node] == ["Add"]  # b is FLOAT32


def test_residual_lowering_yields_these_ops() -> None:
    """finn-plus 1.6.1 has no AddStreams: a residual Add of two quantized activations
    becomes ElementwiseAdd (InferElementwiseBinaryOperation) and the fork DuplicateStreams
    (InferDuplicateStreamsLayer); the registry reads both."""
    import finn.transformation.fpgadataflow.convert_to_hw as hw
    from finn.transformation.fpgadataflow.convert_to_hw.duplicate_streams import (
        InferDuplicateStreamsLayer,
    )

    assert not hasattr(hw, "InferAddStreamsLayer")
    shape = [1, 3, 3, 4]
    mt = helper.make_node("MultiThreshold", ["x", "t"], ["r"], name="MT_0",
                          domain="qonnx.custom_op.general", out_dtype="UINT4",
                          data_layout="NHWC")
    add = helper.make_node("Add", ["x", "r"], ["y"], name="Add_0")
    model = dws._model([mt, add], {"x": shape}, {"y": shape})
    model.set_tensor_datatype("x", DataType["UINT4"])
    model.set_initializer("t", np.tile(np.arange(15, dtype=np.float32), (4, 1)))
    model = lower(model).transform(InferDuplicateStreamsLayer())
    ops = {n.op_type: n for n in model.graph.node}
    assert {"DuplicateStreams", "ElementwiseAdd"} <= set(ops)
    dup = kernel_for(ops["DuplicateStreams"]).read(model, ops["DuplicateStreams"])
    add_k = kernel_for(ops["ElementwiseAdd"]).read(model, ops["ElementwiseAdd"])
    assert dup.kernel.rtl_ports(dup) == (("s_axis",), ("m0_axis", "m1_axis"))
    assert add_k.kernel.rtl_ports(add_k) == (("s0_axis", "s1_axis"), ("m_axis",))
    assert add_k.out.elem_bits == 5 and not add_k.out.signed  # UINT4 + UINT4


def test_refusals_name_the_node() -> None:
    """A non-integer constant (FINN's own transformation, without our filter, lowers it),
    a broadcast stream and an illegal PE are refused naming the node."""
    from finn.transformation.fpgadataflow.convert_to_hw.elementwise_binary_operation import (
        InferElementwiseBinaryOperation,
    )

    model = dws._model([helper.make_node("Mul", ["a", "b"], ["o"], name="Mul_0")],
                       {"a": [1, 4]}, {"o": [1, 4]})
    model.set_tensor_datatype("a", DataType["INT4"])
    model.set_initializer("b", np.array([0.5, 1, 2, 3], dtype=np.float32))
    model = model.transform(InferElementwiseBinaryOperation()).transform(GiveUniqueNodeNames())
    node = model.graph.node[0]
    with pytest.raises(LoweringError,
                       match=r"node ElementwiseMul_0: initializer b holds non-integer"):
        kernel_for(node).read(model, node)

    model = dws._model([helper.make_node("Add", ["a", "b"], ["o"], name="Add_0")],
                       {"a": [1, 2, 4], "b": [1, 1, 4]}, {"o": [1, 2, 4]})
    for name in ("a", "b"):
        model.set_tensor_datatype(name, DataType["INT4"])
    model = lower(model)
    node = model.graph.node[0]
    with pytest.raises(LoweringError,
                       match=r"ElementwiseAdd_0 \(ElementwiseAdd\): rhs_shape \[1, 1, 4\]"):
        kernel_for(node).read(model, node)
    getCustomOp(node).set_nodeattr("PE", 3)
    with pytest.raises(LoweringError, match=r"ElementwiseAdd_0.*PE=3 does not divide.*1, 2, 4"):
        kernel_for(node).read(model, node)


# --------------------------------------------------------------------------- RTL
@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), dws._sim_params(SIM_CASES))
def test_rtl_kernel(case: dws.Case, simulator: str, cache_root: Path) -> None:
    res = dws._sim(case, simulator, cache_root)
    est = res["est_cycles"]
    assert abs(res["cycles_per_frame"] - est) <= 0.05 * est, (
        f"{res['cycles_per_frame']:.1f} cycles per frame, FINN estimates {est}"
    )
