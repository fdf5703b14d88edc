"""Binarized networks (FINN's bnn_pynq style): the XNOR-popcount MVAU (binaryXnorMode),
bipolar and ternary weights, the popcount accumulator bounds, and graphs with bipolar
weights and activations, Div/Mul/Sub pre-processing and a TopK through the whole flow.

The goldens are checked against FINN's own Python execution of single-node graphs (as
FINN's tests build them), read through the kernel registry like the other kernels.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.basic import qonnx_make_model

from codesign import bounds
from codesign.dataflow.kernels import KernelInstance, kernel_for
from codesign.errors import LoweringError

FINN = "finn.custom_op.fpgadataflow"


# --------------------------------------------------------------------------- FINN graphs
def _mvau_model(w: np.ndarray, thr: np.ndarray | None, idt: str, wdt: str, odt: str,
                pe: int, simd: int, xnor: bool, act_val: int = 0) -> ModelWrapper:
    """One generic FINN MVAU node from "inp" to "outp" (FINN's test_fpgadataflow_mvau
    construction)."""
    mw, mh = w.shape
    inputs = ["inp", "weights"] + (["thresh"] if thr is not None else [])
    node = helper.make_node(
        "MVAU", inputs, ["outp"], domain=FINN, backend="fpgadataflow", name="MVAU_0",
        MW=mw, MH=mh, SIMD=simd, PE=pe, inputDataType=idt, weightDataType=wdt,
        outputDataType=odt, ActVal=act_val, binaryXnorMode=int(xnor),
        noActivation=int(thr is None), accDataType="UINT32" if xnor else "INT32",
    )
    inp = helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, mw])
    outp = helper.make_tensor_value_info("outp", TensorProto.FLOAT, [1, mh])
    model = ModelWrapper(qonnx_make_model(helper.make_graph([node], "mvau", [inp], [outp])))
    model.set_tensor_datatype("inp", DataType[idt])
    model.set_tensor_datatype("outp", DataType[odt])
    model.set_initializer("weights", w.astype(np.float32))
    model.set_tensor_datatype("weights", DataType[wdt])
    if thr is not None:
        model.set_initializer("thresh", thr.astype(np.float32))
    return model


def _finn(model: ModelWrapper, x: np.ndarray) -> np.ndarray:
    from qonnx.core.onnx_exec import execute_onnx

    return np.stack([
        np.rint(execute_onnx(model, {"inp": row[None].astype(np.float32)})["outp"]).reshape(-1)
        for row in x
    ]).astype(np.int64)


def _read(model: ModelWrapper) -> KernelInstance:
    node = model.graph.node[0]
    return kernel_for(node).read(model, node)


def _random(dt: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    d = DataType[dt]
    return rng.integers(int(d.min()), int(d.max()) + 1, size=shape)


# --------------------------------------------------------------------------- goldens vs FINN
@pytest.mark.parametrize(("mw", "mh", "pe", "simd", "n_thres"), [
    (16, 8, 4, 8, 1), (12, 6, 2, 12, 0), (20, 5, 1, 4, 3), (64, 10, 1, 16, 0),
])
def test_xnor_mvau_golden_is_finn(mw: int, mh: int, pe: int, simd: int, n_thres: int) -> None:
    """binaryXnorMode through the registry: 1-bit operands, an unsigned popcount
    accumulator (XNOR = 1), outputs equal FINN's xnorpopcountmatmul + thresholds."""
    rng = np.random.default_rng(mw + mh)
    w = rng.integers(0, 2, size=(mw, mh))
    thr = np.sort(rng.integers(0, mw + 2, size=(mh, n_thres)), axis=1) if n_thres else None
    odt = "BINARY" if n_thres == 1 else ("UINT2" if n_thres else "UINT32")
    model = _mvau_model(w, thr, "BINARY", "BINARY", odt, pe, simd, xnor=True)
    node = model.graph.node[0]
    kernel_for(node).correct_datatypes(model, node)  # what the minimize step does
    k = _read(model)
    p = k.params
    assert (p["XNOR"], p["IN_BITS"], p["W_BITS"], p["ACC_SIGNED"]) == (1, 1, 1, 0)
    assert p["ACC_BITS"] == bounds.popcount_acc_bits(mw)
    assert k.memories["WEIGHT_FILE"].signed is False
    # random inputs, and the ones giving each channel popcount MW and 0
    probe = k.kernel.overflow_probe(k)
    x = np.concatenate([rng.integers(0, 2, size=(10, mw)), probe.reshape(-1, mw)])
    (got,) = k.kernel.golden(k, [x])
    np.testing.assert_array_equal(got, _finn(model, x))
    acc = k.kernel.accumulator(k)
    assert acc is not None and acc.popcount
    lo, hi = acc.sum_range()
    assert (lo == 0).all() and (hi == mw).all()
    if thr is None:  # the probe reaches both ends of every channel's range
        sums = got.reshape(-1, mh)
        assert (sums.max(axis=0) == mw).all() and (sums.min(axis=0) == 0).all()


@pytest.mark.parametrize(("idt", "wdt"), [("UINT4", "BIPOLAR"), ("INT3", "TERNARY"),
                                          ("UINT2", "INT2")])
def test_bipolar_and_ternary_weights_golden_is_finn(idt: str, wdt: str) -> None:
    """Bipolar (-1, +1) and ternary (-1, 0, +1) weights on integer inputs: signed 2-bit
    weights in the kernel, the ordinary integer product."""
    rng = np.random.default_rng(7)
    mw, mh = 12, 6
    vals = {"BIPOLAR": [-1, 1], "TERNARY": [-1, 0, 1], "INT2": [-2, -1, 0, 1]}[wdt]
    w = rng.choice(vals, size=(mw, mh))
    thr = np.sort(rng.integers(-12, 13, size=(mh, 3)), axis=1)
    model = _mvau_model(w, thr, idt, wdt, "UINT2", 2, 4, xnor=False)
    k = _read(model)
    assert (k.params["W_BITS"], k.params["XNOR"]) == (2, 0)
    x = _random(idt, (16, mw), rng)
    (got,) = k.kernel.golden(k, [x])
    np.testing.assert_array_equal(got, _finn(model, x))


def test_xnor_needs_binary_operands() -> None:
    w = np.ones((4, 2))
    model = _mvau_model(w, None, "UINT2", "BINARY", "UINT32", 1, 1, xnor=True)
    with pytest.raises(LoweringError, match=r"node MVAU_0: binaryXnorMode needs BINARY .* "
                       r"inputDataType, got UINT2"):
        _read(model)


@pytest.mark.parametrize(("last", "odt"), [(True, "UINT8"), (False, "UINT7")])
def test_popcount_accumulator_type(last: bool, odt: str) -> None:
    """FINN sizes an XNOR MVAU as a signed sum of the ±1 weights (INT7 here, which cannot
    hold the count 64); the kernel makes it the popcount's UINT7, and an output without
    activation that ends the graph a multiple of 8 bits."""
    w = np.ones((64, 4))
    w[:, 0] = 0
    model = _mvau_model(w, None, "BINARY", "BINARY", "INT7", 1, 8, xnor=True)
    if not last:
        model.graph.node.append(helper.make_node("Identity", ["outp"], ["outp2"]))
    node = model.graph.node[0]
    from finn.transformation.fpgadataflow.minimize_accumulator_width import (
        MinimizeAccumulatorWidth,
    )

    model = model.transform(MinimizeAccumulatorWidth())
    node = model.graph.node[0]
    assert model.get_tensor_datatype("outp").signed()  # FINN's, before the correction
    kernel_for(node).correct_datatypes(model, node)
    k = _read(model)
    assert (k.params["ACC_BITS"], k.params["ACC_SIGNED"]) == (7, 0)
    assert model.get_tensor_datatype("outp").name == odt and k.out.elem_bits == int(odt[4:])
    (got,) = k.kernel.golden(k, [np.ones((1, 64), dtype=np.int64)])
    assert got.tolist() == [[0, 64, 64, 64]]
    wide = k.kernel.with_acc_bits(k, 32)
    assert (wide.params["ACC_BITS"], wide.params["ACC_SIGNED"]) == (32, 0)


# --------------------------------------------------------------------------- whole flow
def _flow_cfg(model: Path, test_set: Path, **extra: Any) -> Any:
    from codesign.config import parse_config

    return parse_config({
        "name": model.stem,
        "model": {"kind": "onnx", "path": str(model)},
        "data": {"kind": "npz", "path": str(test_set), **extra.pop("data", {})},
        "fold": {"target_cycles": 16},
        "sim": {"simulator": "icarus", "frames": 12},
        "synth": {"enabled": False},
        **extra,
    })


def _finn_onnx_bnn(path: Path, rng: np.random.Generator) -> Path:
    """A FINN-ONNX W1A1 network as FINN's older tooling wrote them: UINT8 input, the
    ToTensor/2x-1 pre-processing as Div, Mul, Sub, bipolar MultiThresholds (out_scale 2,
    out_bias -1), MatMuls with bipolar weights, a scalar Mul/Add and a TopK."""
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.insert_topk import InsertTopK

    gen = "qonnx.custom_op.general"
    sizes = [16, 12, 4]
    nodes = [
        helper.make_node("Div", ["x", "c255"], ["t0"]),
        helper.make_node("Mul", ["t0", "c2"], ["t1"]),
        helper.make_node("Sub", ["t1", "c1"], ["a0"]),
    ]
    inits: dict[str, np.ndarray] = {"c255": np.array(255.0), "c2": np.array(2.0),
                                    "c1": np.array(1.0), "s": np.array(0.25),
                                    "b": np.array(3.0)}
    # the input binarized at per-channel levels in (-1, 1), then two bipolar MatMuls
    inits["thr0"] = rng.uniform(-0.8, 0.8, size=(sizes[0], 1))
    inits["thr1"] = rng.integers(-4, 5, size=(sizes[1], 1)).astype(float)
    for i in range(2):
        nodes.append(helper.make_node(
            "MultiThreshold", [f"a{i}", f"thr{i}"], [f"q{i}"], domain=gen,
            out_dtype="BIPOLAR", out_scale=2.0, out_bias=-1.0,
        ))
        nodes.append(helper.make_node("MatMul", [f"q{i}", f"w{i}"], [f"a{i + 1}"]))
        inits[f"w{i}"] = rng.choice([-1.0, 1.0], size=(sizes[i], sizes[i + 1]))
    nodes += [helper.make_node("Mul", ["a2", "s"], ["m"]),
              helper.make_node("Add", ["m", "b"], ["y"])]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, sizes[0]])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, sizes[-1]])
    model = ModelWrapper(qonnx_make_model(helper.make_graph(nodes, "bnn", [x], [y])))
    for name, value in inits.items():
        model.set_initializer(name, value.astype(np.float32))
    model.set_tensor_datatype("x", DataType["UINT8"])
    for i in range(2):
        model.set_tensor_datatype(f"w{i}", DataType["BIPOLAR"])
    model = model.transform(InferShapes()).transform(InsertTopK(k=1)).transform(InferShapes())
    model.save(str(path))
    return path


@pytest.mark.sim
def test_finn_onnx_bipolar_graph_with_preprocessing_end_to_end(tmp_path: Path) -> None:
    """FINN streamlines the Div/Mul/Sub into the first thresholds (a standalone
    Thresholding on the UINT8 input), makes both MatMuls XNOR-popcount MVAUs and the
    TopK a LabelSelect; without labels the results report agreement, every output word
    of the accelerator equal to the reference."""
    from codesign.flow.runner import run_flow

    rng = np.random.default_rng(3)
    model = _finn_onnx_bnn(tmp_path / "bnn.onnx", rng)
    np.savez(tmp_path / "test.npz", x=rng.integers(0, 256, size=(12, 16)).astype(np.uint8))
    r = run_flow(_flow_cfg(model, tmp_path / "test.npz"), tmp_path / "build").results
    assert r["import"]["format"] == "finn-onnx"
    ops = [(row["op_type"], row.get("binary_xnor")) for row in r["layers"]]
    assert ops == [("Thresholding", None), ("MVAU", True), ("MVAU", True),
                   ("LabelSelect", None)]
    assert [row["acc_bits_finn"] for row in r["layers"][1:3]] == [5, 4]  # popcounts 0..16, 0..12
    assert [row["acc_bits_weight_bound"] for row in r["layers"][1:3]] == [5, 4]
    assert set(r["accuracy"].values()) == {None}
    assert r["agreement"] == {"hw_graph": 1.0, "accelerator": 1.0,
                              "accelerator_outputs_bit_exact": True}
    assert r["verification"]["frames"] == 12 and r["verification"]["mismatches"] == 0
    assert r["overflow"]["total"] == 0
    assert [ly["extreme_sum_range"] for ly in r["overflow"]["layers"]] == [[0, 16], [0, 12]]
    _report_shows_agreement(tmp_path)


def _report_shows_agreement(tmp_path: Path) -> None:
    """The report's summary table gives the agreement where there is no accuracy."""
    from codesign.report import build_report

    rep = build_report([tmp_path / "build" / "results.json"], tmp_path / "report")
    summary = next(t for t in rep.tables if t.key == "summary")
    row = dict(zip(summary.columns, summary.rows[0], strict=True))
    assert row["agreement"] == "100.0 % / 100.0 %, bit-exact"
    assert row["accelerator"] == "—"
    assert "100.0 % / 100.0 %, bit-exact" in rep.html.read_text()


def _qonnx_2bit(path: Path) -> Path:
    """A Brevitas QONNX export: 2-bit weights ({-2..1}), 2-bit unsigned activations, a
    ternary ({-1, 0, 1}: 2 bits, narrow range) last layer."""
    import torch
    from brevitas.export import export_qonnx
    from brevitas.nn import QuantLinear, QuantReLU
    from brevitas.quant import Int8WeightPerTensorFloat
    from torch import nn

    class Scale(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * (1.0 / 255.0)

    torch.manual_seed(0)
    net = nn.Sequential(
        Scale(),
        QuantLinear(16, 8, bias=False, weight_quant=Int8WeightPerTensorFloat,
                    weight_bit_width=2, weight_narrow_range=False),
        nn.BatchNorm1d(8),
        QuantReLU(bit_width=2),
        QuantLinear(8, 4, bias=False, weight_quant=Int8WeightPerTensorFloat,
                    weight_bit_width=2, weight_narrow_range=True),
    )
    net.eval()
    with torch.no_grad():  # a BatchNorm that spreads the 2-bit activations
        net[2].running_var.fill_(0.01)
    export_qonnx(net, torch.zeros(1, 16), export_path=str(path), dynamo=False)
    return path


@pytest.mark.sim
def test_qonnx_graph_with_2bit_weights_end_to_end(tmp_path: Path) -> None:
    from codesign.flow.runner import run_flow

    rng = np.random.default_rng(4)
    model = _qonnx_2bit(tmp_path / "w2a2.onnx")
    x = rng.integers(0, 256, size=(12, 16)).astype(np.uint8)
    np.savez(tmp_path / "test.npz", x=x, y=rng.integers(0, 4, size=12))
    cfg = _flow_cfg(model, tmp_path / "test.npz", data={"input_type": "UINT8"})
    r = run_flow(cfg, tmp_path / "build").results
    assert r["import"]["format"] == "qonnx"
    mvaus = [row for row in r["layers"] if row["op_type"] == "MVAU"]
    assert [(row["weight_dtype"], row["binary_xnor"]) for row in mvaus] == [
        ("INT2", False), ("INT2", False)]
    assert r["accuracy"]["accelerator"] == r["accuracy"]["hw_graph"] is not None
    assert r["agreement"] == {"hw_graph": 1.0, "accelerator": 1.0,
                              "accelerator_outputs_bit_exact": True}
    assert r["overflow"]["total"] == 0


TFC = Path(__file__).resolve().parents[1] / "examples" / "tfc_w1a1"


@pytest.mark.sim
@pytest.mark.slow
def test_shipped_tfc_example_verifies_on_every_test_image(tmp_path: Path) -> None:
    """The acceptance: the shipped TFC W1A1 config (synthesis aside) passes verification,
    the accelerator's labels equal the ONNX graph's on all 360 test images."""
    from codesign.config import load_config
    from codesign.flow.runner import run_flow

    cfg = load_config(TFC / "tfc_w1a1.yaml")
    cfg = cfg.model_copy(update={
        "sim": cfg.sim.model_copy(update={"simulator": "icarus"}),
        "synth": cfg.synth.model_copy(update={"enabled": False}),
    })
    r = run_flow(cfg, tmp_path / "build").results
    assert [row["op_type"] for row in r["layers"]] == [
        "Thresholding", "MVAU", "MVAU", "MVAU", "MVAU", "LabelSelect"]
    assert all(row["binary_xnor"] for row in r["layers"] if row["op_type"] == "MVAU")
    assert r["verification"]["passed"] and r["verification"]["frames"] == 360
    assert r["agreement"] == {"hw_graph": 1.0, "accelerator": 1.0,
                              "accelerator_outputs_bit_exact": True}
    assert r["accuracy"]["accelerator"] == r["accuracy"]["hw_graph"] > 0.8
    assert r["overflow"]["total"] == 0 and r["cycles"]["ii_error"] <= 0.05


@pytest.mark.slow
def test_tfc_script_trains_and_exports(tmp_path: Path) -> None:
    """The example script, one short epoch: it checks its graph against torch itself;
    the graph passes the import checks (bipolar quantizers, TopK, UINT5 input)."""
    import subprocess
    import sys

    from codesign.frontend.onnx_import import import_model

    out = tmp_path / "tfc"
    subprocess.run([sys.executable, str(TFC / "make_model.py"), "--out", str(out),
                    "--epochs", "1", "--hidden", "16", "--layers", "1", "--no-labels"],
                   check=True, capture_output=True)
    report = import_model(out / "tfc_w1a1.onnx", out / "test.npz", None, tmp_path / "b", "imp")
    assert report.to_json()["format"] == "qonnx"
    model = ModelWrapper(str(out / "tfc_w1a1.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops[0] == "Div" and ops[-1] == "TopK" and "BipolarQuant" in ops
    assert model.get_tensor_datatype(model.graph.input[0].name) == DataType["UINT5"]


def test_bipolar_graph_input_is_refused(tmp_path: Path) -> None:
    from codesign.config import parse_config
    from codesign.dataflow.lower.steps import step_qonnx_to_finn

    rng = np.random.default_rng(5)
    model = ModelWrapper(str(_finn_onnx_bnn(tmp_path / "bnn.onnx", rng)))
    model.set_tensor_datatype("x", DataType["BIPOLAR"])
    np.savez(tmp_path / "t.npz", x=np.ones((1, 16)))
    cfg = parse_config({"name": "b", "model": {"kind": "onnx", "path": str(tmp_path / "bnn.onnx")},
                        "data": {"kind": "npz", "path": str(tmp_path / "t.npz")}})
    with pytest.raises(LoweringError, match=r"graph input x is BIPOLAR .* 2x - 1 pre-processing"):
        step_qonnx_to_finn(model, cfg)


def test_xnor_and_bipolar_mvaus_in_hls_csim(tmp_path: Path,
                                            request: pytest.FixtureRequest) -> None:
    """hls/cs_mvau.hpp's XNOR kernels (cs::mvau_xnor, with and without thresholds) and the
    MVAU on bipolar / ternary weights, C-simulated against the goldens (checked against
    FINN above) in one binary, each on random inputs and its overflow probe."""
    from codesign.verify.csim import run_kernels

    rng = np.random.default_rng(3)
    ks = []
    for mw, mh, pe, simd, n_thres in ((16, 8, 4, 8, 1), (12, 6, 2, 12, 0), (20, 5, 1, 4, 3)):
        w = rng.integers(0, 2, size=(mw, mh))
        thr = np.sort(rng.integers(0, mw + 2, size=(mh, n_thres)), axis=1) if n_thres else None
        odt = "BINARY" if n_thres == 1 else ("UINT2" if n_thres else "UINT32")
        model = _mvau_model(w, thr, "BINARY", "BINARY", odt, pe, simd, xnor=True)
        kernel_for(model.graph.node[0]).correct_datatypes(model, model.graph.node[0])
        ks.append(_read(model))
    for idt, wdt, vals in (("UINT4", "BIPOLAR", [-1, 1]), ("INT3", "TERNARY", [-1, 0, 1])):
        w = rng.choice(vals, size=(12, 6))
        thr = np.sort(rng.integers(-12, 13, size=(6, 3)), axis=1)
        ks.append(_read(_mvau_model(w, thr, idt, wdt, "UINT2", 2, 4, xnor=False)))
    ks = [dataclasses.replace(k, node=f"{k.node}_{i}") for i, k in enumerate(ks)]
    inputs = []
    for k in ks:
        mw = int(k.params["MW"])
        lo, hi = (0, 1) if k.params["XNOR"] else (-4, 3) if k.params["IN_SIGNED"] else (0, 15)
        probe = k.kernel.overflow_probe(k).reshape(-1, mw)[:10]
        x = np.concatenate([probe, rng.integers(lo, hi + 1, size=(24 - len(probe), mw))])
        inputs.append([x])  # the same number of frames for every kernel of the binary
    got = run_kernels(ks, inputs, tmp_path, Path(request.config.cache.mkdir("csim")))
    for k, x, (y,) in zip(ks, inputs, got, strict=True):
        np.testing.assert_array_equal(y, k.kernel.golden(k, x)[0], err_msg=k.node)
