"""FINN lowering: equivalence with the QONNX graph, folding, estimates, bad input."""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from finn.custom_op.fpgadataflow.hwcustomop import HWCustomOp
from lower_fixtures import digits_codes, make_qonnx
from onnx import helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.basic import calculate_matvec_accumulator_range, qonnx_make_model

from codesign.config import parse_config
from codesign.dataflow.kernels import Kernel, LoweredOp, Lowering
from codesign.dataflow.lower import (
    LOWER_STEPS,
    dataflow_child,
    execute_dataflow,
    execute_parent,
    layer_table,
    load_lowered,
    run_lower,
)
from codesign.dataflow.lower._graph import WORKDIR_PROP
from codesign.errors import LoweringError

CFG = parse_config({"quant": {"method": "baseline"}, "fold": {"target_cycles": 64}})


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray]:
    _, x_te, _, y_te = digits_codes()
    assert x_te.shape == (360, 64)
    return x_te, y_te


@pytest.fixture(scope="module")
def mlp_qonnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """8-bit per-channel MLP 64-64-32-10, dynamo export (the exporter's default)."""
    return make_qonnx(tmp_path_factory.mktemp("qonnx") / "mlp.onnx", hidden=(64, 32))


@pytest.fixture(scope="module")
def lowered(mlp_qonnx: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    build = tmp_path_factory.mktemp("build")
    return run_lower(mlp_qonnx, CFG, build), build


def _copy_build(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_steps_saved(lowered) -> None:  # type: ignore[no-untyped-def]
    result, build = lowered
    names = [name for name, _ in LOWER_STEPS]
    assert names == [
        "qonnx_to_finn",
        "tidy_up",
        "streamline",
        "convert_to_hw",
        "create_dataflow_partition",
        "minimize_accumulator_width",
        "fold",
        "insert_dwc_and_fifos",
        "estimates",
        "roll_loops",
    ]
    for i, name in enumerate(names):
        assert (build / "lower" / f"{i:02d}_{name}.onnx").is_file()
    assert result.parent == build / "lower" / "09_roll_loops.onnx"
    assert result.dataflow == build / "lower" / "09_roll_loops_dataflow.onnx"


def test_parent_graph_equals_qonnx(lowered, mlp_qonnx: Path, digits) -> None:  # type: ignore[no-untyped-def]
    """Whole test set: same argmax, logits equal within 1e-5 relative."""
    result, _ = lowered
    x, _ = digits
    ref = execute_parent(ModelWrapper(str(mlp_qonnx)), x)
    parent = load_lowered(result.parent)
    out = execute_parent(parent, x)
    assert out.shape == ref.shape == (360, 10)
    assert np.array_equal(out.argmax(1), ref.argmax(1))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())

    # the host keeps exactly the last layer's per-channel Mul and Add
    host = [n.op_type for n in parent.graph.node]
    assert host == ["StreamingDataflowPartition", "Mul", "Add"]
    mul, add = parent.graph.node[1], parent.graph.node[2]
    scale = parent.get_initializer(mul.input[1]).reshape(-1)
    bias = parent.get_initializer(add.input[1]).reshape(-1)
    assert scale.shape == bias.shape == (10,)

    # the dataflow child emits integers in its output datatype range ...
    child = ModelWrapper(str(result.dataflow))
    acc = execute_dataflow(child, x)
    odt = child.get_tensor_datatype(child.graph.output[0].name)
    assert odt.is_integer()
    assert np.array_equal(acc, np.round(acc))
    assert acc.min() >= odt.min() and acc.max() <= odt.max()
    # ... which are exactly the integer accumulators the QONNX graph implies
    np.testing.assert_array_equal(np.round((ref - bias) / scale), acc)


def test_child_graph_contents(lowered) -> None:  # type: ignore[no-untyped-def]
    result, _ = lowered
    child = ModelWrapper(str(result.dataflow))
    ops = {n.op_type for n in child.graph.node}
    assert ops <= {"MVAU", "StreamingFIFO", "StreamingDataWidthConverter", "Thresholding"}
    assert all(n.domain == "finn.custom_op.fpgadataflow" for n in child.graph.node)
    mvaus = child.get_nodes_by_op_type("MVAU")
    assert [getCustomOp(n).get_nodeattr("noActivation") for n in mvaus] == [0, 0, 1]
    for n in mvaus:
        inst = getCustomOp(n)
        mw, mh = inst.get_nodeattr("MW"), inst.get_nodeattr("MH")
        assert child.get_initializer(n.input[1]).shape == (mw, mh)
        if inst.get_nodeattr("noActivation") == 0:
            thr = child.get_initializer(n.input[2])
            assert thr.shape == (mh, 255)
            assert np.all(np.diff(thr, axis=1) >= 0)


def test_layer_table_and_accumulators(lowered) -> None:  # type: ignore[no-untyped-def]
    result, _ = lowered
    child = ModelWrapper(str(result.dataflow))
    rows = layer_table(child)
    assert [r.op_type for r in rows] == ["MVAU", "MVAU", "MVAU"]
    assert [(r.mw, r.mh) for r in rows] == [(64, 64), (64, 32), (32, 10)]
    for row, node in zip(rows, child.get_nodes_by_op_type("MVAU"), strict=True):
        assert row.input_dtype == "UINT8" and row.weight_bits == 8
        assert row.cycles == (row.mw // row.simd) * (row.mh // row.pe)
        assert row.cycles <= 64
        assert row.lut is not None and row.bram18 is not None and row.dsp is not None
        assert row.estimate_impl in ("MVAU_hls", "MVAU_rtl")
        # FINN's value-based bound from the weights
        w = child.get_initializer(node.input[1])
        lo, hi = calculate_matvec_accumulator_range(w, DataType["UINT8"])
        exact = int(np.ceil(np.log2(max(-lo, 1 + hi)))) + 1
        if not row.no_activation:
            assert row.acc_bits == exact
            assert row.output_dtype == "UINT8"
        else:  # graph-final MVAU without activation: rounded up to a multiple of 8
            assert row.acc_bits == -(-exact // 8) * 8
            assert row.output_dtype == row.acc_dtype
    full = layer_table(child, include_infrastructure=True)
    assert any(r.op_type == "StreamingFIFO" for r in full)
    assert child.get_metadata_prop("codesign.dataflow.lower.fpgapart") == "xczu7ev-ffvc1156-2-e"


def test_explicit_folding(lowered, mlp_qonnx: Path, digits, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, build = lowered
    build = _copy_build(build, tmp_path / "b")
    cfg = parse_config(
        {"fold": {"layers": [{"pe": 4, "simd": 8}, {"pe": 2, "simd": 16}, {"pe": 5, "simd": 4}]}}
    )
    result = run_lower(mlp_qonnx, cfg, build, start="fold")
    assert set(result.steps) == {"fold", "insert_dwc_and_fifos", "estimates", "roll_loops"}
    child = ModelWrapper(str(result.dataflow))
    rows = layer_table(child)
    assert [(r.pe, r.simd) for r in rows] == [(4, 8), (2, 16), (5, 4)]
    assert child.get_nodes_by_op_type("StreamingDataWidthConverter")  # widths differ
    x, _ = digits
    ref = execute_parent(ModelWrapper(str(mlp_qonnx)), x[:40])
    out = execute_parent(load_lowered(result.parent), x[:40])
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("target", [16, 256])
def test_target_cycles(lowered, tmp_path: Path, target: int) -> None:  # type: ignore[no-untyped-def]
    _, build = lowered
    build = _copy_build(build, tmp_path / "b")
    cfg = parse_config({"fold": {"target_cycles": target}})
    result = run_lower(Path("unused.onnx"), cfg, build, start="fold", stop="fold")
    assert result.steps.keys() == {"fold"}
    rows = layer_table(dataflow_child(load_lowered(result.parent)))
    assert max(r.cycles for r in rows) <= target
    if target == 256:  # no more parallelism than needed
        assert all(r.cycles * 2 > target or r.pe * r.simd == 1 for r in rows[:2])


def test_illegal_pe_names_node(lowered, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _, build = lowered
    build = _copy_build(build, tmp_path / "b")
    cfg = parse_config(
        {"fold": {"layers": [{"pe": 4, "simd": 8}, {"pe": 3, "simd": 16}, {"pe": 5, "simd": 4}]}}
    )
    with pytest.raises(LoweringError, match=r"MVAU_1.*PE=3 does not divide MH=32.*1, 2, 4, 8"):
        run_lower(Path("unused.onnx"), cfg, build, start="fold")
    cfg = parse_config({"fold": {"layers": [{"pe": 1, "simd": 1}]}})
    want = r"fold\.layers has 1 entries.*3 weighted layers: MVAU_0 \(MVAU\)"
    with pytest.raises(LoweringError, match=want):
        run_lower(Path("unused.onnx"), cfg, build, start="fold")


def test_all_zero_weights_name_the_layer(lowered, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # what A2Q does to every weight when P is too small for the layer's inputs
    _, build = lowered
    build = _copy_build(build, tmp_path / "b")
    child_path = build / "lower" / "04_create_dataflow_partition_dataflow.onnx"
    child = ModelWrapper(str(child_path))
    node = child.get_nodes_by_op_type("MVAU")[0]
    child.set_initializer(node.input[1], 0 * child.get_initializer(node.input[1]))
    child.save(str(child_path))
    cfg = parse_config({"quant": {"method": "a2q", "acc_bits": 12}})
    with pytest.raises(LoweringError, match=rf"{node.name}: every weight quantized to zero.*"
                       r"quant.acc_bits=12.*raise it"):
        run_lower(Path("unused.onnx"), cfg, build, start="minimize_accumulator_width")


def test_a2q_model_lowers_with_thresholding(tmp_path: Path, digits) -> None:  # type: ignore[no-untyped-def]
    """A2Q weights, an input quantizer (-> standalone Thresholding), TorchScript export."""
    src = make_qonnx(tmp_path / "a2q.onnx", hidden=(32,), a2q_acc_bits=16, dynamo=False)
    cfg = parse_config({"quant": {"method": "a2q", "acc_bits": 16}, "fold": {"target_cycles": 32}})
    result = run_lower(src, cfg, tmp_path / "build")
    child = ModelWrapper(str(result.dataflow))
    rows = layer_table(child)
    assert [r.op_type for r in rows] == ["Thresholding", "MVAU", "MVAU"]
    assert rows[0].channels == 64 and rows[0].n_thresholds == 255
    assert max(r.cycles for r in rows) <= 32
    x, _ = digits
    ref = execute_parent(ModelWrapper(str(src)), x[:60])
    out = execute_parent(load_lowered(result.parent), x[:60])
    assert np.array_equal(out.argmax(1), ref.argmax(1))
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5 * np.abs(ref).max())


def test_unsupported_op_names_node(mlp_qonnx: Path, tmp_path: Path) -> None:
    """A Sin between two layers cannot be lowered: the error names it."""
    model = onnx.load(str(mlp_qonnx))
    graph = model.graph
    relu_quants = [n for n in graph.node if n.op_type == "Quant" and n.input[0].startswith("Relu")]
    if not relu_quants:  # fall back: the Quant after the first Relu
        relu_out = next(n.output[0] for n in graph.node if n.op_type == "Relu")
        relu_quants = [n for n in graph.node if n.op_type == "Quant" and n.input[0] == relu_out]
    q = relu_quants[0]
    old_out = q.output[0]
    for n in graph.node:
        for i, name in enumerate(n.input):
            if name == old_out:
                n.input[i] = "sin_out"
    idx = list(graph.node).index(q)
    graph.node.insert(idx + 1, helper.make_node("Sin", [old_out], ["sin_out"], name="the_sin"))
    bad = tmp_path / "sin.onnx"
    onnx.save(model, str(bad))
    with pytest.raises(LoweringError, match=r"the_sin|Sin_0") as err:
        run_lower(bad, CFG, tmp_path / "build", stop="convert_to_hw")
    assert "cannot lower node Sin_0 (op type Sin)" in str(err.value)
    assert "MVAU" in str(err.value)  # lists what is supported


def test_float_input_rejected(mlp_qonnx: Path, tmp_path: Path) -> None:
    model = ModelWrapper(str(mlp_qonnx))
    model.set_tensor_datatype(model.graph.input[0].name, DataType["FLOAT32"])
    path = tmp_path / "float_in.onnx"
    model.save(str(path))
    with pytest.raises(LoweringError, match="integer input"):
        run_lower(path, CFG, tmp_path / "build", stop="qonnx_to_finn")


def test_bad_start(tmp_path: Path) -> None:
    with pytest.raises(LoweringError, match="unknown lowering step 'nope'"):
        run_lower(tmp_path / "x.onnx", CFG, tmp_path, start="nope")
    with pytest.raises(LoweringError, match="previous step's model"):
        run_lower(tmp_path / "x.onnx", CFG, tmp_path, start="fold")


# --------------------------------------------------------------------------- our own ops
# A test kernel, not shipped: ONNX Neg on an integer stream becomes the HW op CsNegate in
# codesign's custom-op domain, by a transformation of ours that the kernel declares.


class CsNegate(HWCustomOp):
    """``-x`` on a stream of NumChannels integers, PE per cycle."""

    def get_nodeattr_types(self):  # type: ignore[no-untyped-def]
        return {
            "NumChannels": ("i", True, 0),
            "PE": ("i", True, 1),
            "inputDataType": ("s", True, ""),
            "numInputVectors": ("ints", False, [1]),
            **super().get_nodeattr_types(),
        }

    def get_normal_input_shape(self, ind: int = 0) -> tuple[int, ...]:
        return (*self.get_nodeattr("numInputVectors"), self.get_nodeattr("NumChannels"))

    def get_folded_input_shape(self, ind: int = 0) -> tuple[int, ...]:
        ch, pe = self.get_nodeattr("NumChannels"), self.get_nodeattr("PE")
        return (*self.get_nodeattr("numInputVectors"), ch // pe, pe)

    get_normal_output_shape = get_normal_input_shape
    get_folded_output_shape = get_folded_input_shape

    def get_input_datatype(self, ind: int = 0) -> DataType:
        return DataType[self.get_nodeattr("inputDataType")]

    def get_output_datatype(self, ind: int = 0) -> DataType:
        return DataType[f"INT{self.get_input_datatype().bitwidth() + 1}"]

    def get_instream_width(self, ind: int = 0) -> int:
        return int(self.get_nodeattr("PE") * self.get_input_datatype().bitwidth())

    def get_outstream_width(self, ind: int = 0) -> int:
        return int(self.get_nodeattr("PE") * self.get_output_datatype().bitwidth())

    def infer_node_datatype(self, model: ModelWrapper) -> None:
        self.set_nodeattr("inputDataType", model.get_tensor_datatype(self.onnx_node.input[0]).name)
        model.set_tensor_datatype(self.onnx_node.output[0], self.get_output_datatype())

    def get_exp_cycles(self) -> int:
        return int(np.prod(self.get_folded_output_shape()[:-1]))

    def lut_estimation(self, fpgapart: str) -> int:
        return int(self.get_nodeattr("PE") * self.get_output_datatype().bitwidth())

    def execute_node(self, context, graph) -> None:  # type: ignore[no-untyped-def]
        x = context[self.onnx_node.input[0]]
        context[self.onnx_node.output[0]] = (-x).astype(np.float32)


class InferCsNegate(Transformation):
    """ONNX Neg of an integer tensor -> CsNegate (our domain)."""

    def apply(self, model: ModelWrapper) -> tuple[ModelWrapper, bool]:
        from codesign.dataflow.kernels import DOMAIN

        changed = False
        for i, node in enumerate(list(model.graph.node)):
            dt = model.get_tensor_datatype(node.input[0]) if node.op_type == "Neg" else None
            if dt is None or not dt.is_integer():
                continue
            shape = model.get_tensor_shape(node.input[0])
            model.graph.node.remove(node)
            model.graph.node.insert(i, helper.make_node(
                "CsNegate", [node.input[0]], [node.output[0]], name=node.name, domain=DOMAIN,
                backend="fpgadataflow", NumChannels=shape[-1], PE=1, inputDataType=dt.name,
                numInputVectors=list(shape[:-1]),
            ))
            changed = True
        return model, changed


class NegateKernel(Kernel):
    name = "negate_test"
    op_types = ("CsNegate",)
    custom_ops = (CsNegate,)
    fold = (("PE", "NumChannels"),)
    lowerings = (
        # before the MVAU's: it lowers the MatMul once its input is an integer stream
        Lowering("InferCsNegate", lambda: [InferCsNegate(), InferDataTypes()], guard=("Neg",),
                 before=("InferQuantizedMatrixVectorActivation",),
                 lowers=(LoweredOp("Neg", "CsNegate (integer input)"),)),
    )


@pytest.fixture
def negate_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register the test kernel for one test; the registry and qonnx's op cache are
    restored afterwards."""
    import qonnx.custom_op.registry as qonnx_registry

    import codesign.dataflow.kernels as registry

    registry.kernels()  # load every kernel module first: the copies must hold them all
    for table in ("_BY_NAME", "_BY_OP", "_CUSTOM_OP"):
        monkeypatch.setattr(registry, table, dict(getattr(registry, table)))
    monkeypatch.setattr(qonnx_registry, "_OP_REGISTRY", copy.deepcopy(qonnx_registry._OP_REGISTRY))
    registry.register(NegateKernel)


def _neg_matmul(tmp_path: Path) -> ModelWrapper:
    """UINT4 (1, 16) -> Neg -> MatMul with INT4 weights (16 x 8)."""
    rng = np.random.default_rng(0)
    graph = helper.make_graph(
        [helper.make_node("Neg", ["x"], ["n"], name="Neg_0"),
         helper.make_node("MatMul", ["n", "w"], ["y"], name="MatMul_0")],
        "neg_matmul",
        [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 8])],
    )
    model = ModelWrapper(qonnx_make_model(graph))
    model.set_initializer("w", rng.integers(-8, 8, (16, 8)).astype(np.float32))
    model.set_tensor_datatype("x", DataType["UINT4"])
    model.set_tensor_datatype("w", DataType["INT4"])
    model = model.transform(InferShapes()).transform(InferDataTypes())
    model.set_metadata_prop(WORKDIR_PROP, str(tmp_path / "work"))
    return model


def test_own_domain_op_lowers_executes_folds_and_estimates(
    negate_kernel: None, tmp_path: Path
) -> None:
    """An op of codesign's domain is created by its kernel's lowering, counts as HW,
    executes in Python through execute_onnx, and is folded and estimated by its kernel
    where FINN has no specialization for it (no patch of FINN)."""
    from codesign.dataflow.lower import steps
    from codesign.dataflow.lower._graph import is_hw_node
    from codesign.dataflow.ops import import_allowlist, lowered_ops

    model = _neg_matmul(tmp_path)
    x = np.random.default_rng(1).integers(0, 16, (1, 16)).astype(np.float32)
    want = -x @ model.get_initializer("w")
    assert "Neg" in lowered_ops() and "Neg" in import_allowlist()[""]
    model = steps.step_convert_to_hw(model, CFG)
    assert [(n.op_type, is_hw_node(n)) for n in model.graph.node] == [
        ("CsNegate", True), ("MVAU", True)]
    assert np.array_equal(execute_onnx(model, {"x": x})["y"], want)
    for step in (steps.step_create_dataflow_partition, steps.step_minimize_accumulator_width,
                 steps.step_fold, steps.step_insert_dwc_and_fifos, steps.step_estimates):
        model = step(model, CFG)
    child = dataflow_child(model)
    assert np.array_equal(execute_dataflow(child, x), want)
    rows = {row.op_type: row for row in layer_table(child)}
    neg = rows["CsNegate"]
    # folded by its own cycle model: the least PE that meets 64 cycles for 16 channels
    assert neg.pe == 1 and neg.cycles == 16 and neg.estimate_impl == "CsNegate"
    assert neg.lut == 5.0  # its own lut_estimation: PE x 5 output bits
    assert rows["MVAU"].estimate_impl in ("MVAU_hls", "MVAU_rtl")
    model = steps.step_fold(model, parse_config({"fold": {"target_cycles": 4}}))
    (neg_node,) = dataflow_child(model).get_nodes_by_op_type("CsNegate")
    assert getCustomOp(neg_node).get_nodeattr("PE") == 4  # 16 channels in 4 cycles
