"""Bring your own model: a user's QONNX / FINN-ONNX file and npz test set through the
flow; the checks that refuse untrusted files before qonnx runs on them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from typer.testing import CliRunner

from codesign.cli import app
from codesign.config import load_config, parse_config
from codesign.dataflow.lower import exact
from codesign.errors import ConfigError, DataFileError, LoweringError, ModelFileError
from codesign.flow.runner import run_flow
from codesign.frontend.onnx_import import MAX_TENSOR_ELEMENTS, check_onnx, import_model

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "byom"
NET, TEST = EXAMPLE / "net.onnx", EXAMPLE / "test.npz"


def _save(model: onnx.ModelProto, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def _import(model: Path, tmp_path: Path, data: Path = TEST, input_type: str | None = "UINT8"):  # type: ignore[no-untyped-def]
    return import_model(model, data, input_type, tmp_path / "build", "import")


def _imported_cfg(model: Path, data: Path, **extra: Any) -> Any:
    return parse_config({
        "name": "byom_test",
        "model": {"kind": "onnx", "path": str(model)},
        "data": {"kind": "npz", "path": str(data), "input_type": "UINT8"},
        "fold": {"target_cycles": 64},
        **extra,
    })


@pytest.fixture(scope="module")
def example_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped example config lowered (import and lower steps)."""
    out = tmp_path_factory.mktemp("example")
    run_flow(load_config(EXAMPLE / "byom_mlp.yaml"), out, until="lower")
    return out


# --------------------------------------------------------------------------- config


def test_config_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "ex")
    here = load_config(EXAMPLE / "byom_mlp.yaml")
    there = load_config(tmp_path / "ex" / "byom_mlp.yaml")
    assert there.model.path == tmp_path / "ex" / "net.onnx"  # type: ignore[union-attr]
    # the digest follows the files' contents, not where they are
    assert here.digest() == there.digest() and here.design_digest() == there.design_digest()
    (tmp_path / "ex" / "test.npz").write_bytes(b"other")
    assert load_config(tmp_path / "ex" / "byom_mlp.yaml").digest() != here.digest()
    # re-parsing its own dump gives the same config
    assert parse_config(there.model_dump(mode="json")) == there


@pytest.mark.parametrize(
    ("data", "hint"),
    [
        ({"model": {"kind": "onnx", "path": str(NET)}}, "needs its test set"),
        ({"model": {"kind": "onnx", "path": "missing.onnx"},
          "data": {"kind": "npz", "path": str(TEST)}}, "model.path: file not found"),
        ({"model": {"kind": "onnx", "path": str(NET)}, "data": {"kind": "npz", "path": str(TEST)},
          "quant": {"acc_bits": 12}}, "quant does not apply to model.kind onnx"),
        ({"data": {"kind": "npz", "path": str(TEST)}}, "model.kind mlp trains and tests on digits"),
        ({"model": {"kind": "onnx", "path": str(NET)},
          "data": {"kind": "npz", "path": str(TEST), "input_type": "FLOAT32"}},
         "data.input_type: FLOAT32 is not an integer type"),
        ({"data": {"kind": "csv"}}, "data.kind: unknown data kind; known: digits, npz"),
        ({"model": {"kind": "onnx", "path": str(NET)},
          "data": {"kind": "npz", "path": str(TEST), "input_type": "UINT55"}},
         "data.input_type: UINT55 is 55 bits wide; inputs may have at most 32 bits"),
        ({"model": {"kind": "onnx", "path": str(NET)},
          "data": {"kind": "npz", "path": str(TEST), "input_type": "UINT8X"}},
         "data.input_type: 'UINT8X' is not a qonnx DataType name"),
    ],
)
def test_config_errors_name_the_key(data: dict[str, Any], hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert hint in str(err.value)


# --------------------------------------------------------------------------- model checks


def test_example_imports(tmp_path: Path) -> None:
    report = _import(NET, tmp_path)
    assert report.format == "qonnx" and report.input["shape"] == [1, 64]
    assert report.input["datatype"] == "UINT8"
    assert report.input["datatype_from"] == "data.input_type"
    assert report.images == 360 and report.labels
    saved = ModelWrapper(str(tmp_path / "build" / report.onnx))
    assert saved.get_tensor_datatype(saved.graph.input[0].name) == DataType["UINT8"]


def test_crafted_domain_is_refused_before_any_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """qonnx imports a node's domain as a Python module: a domain naming a module on the
    path would run its code. The check refuses the graph before anything imports it."""
    probe = "codesign_byom_probe"
    marker = tmp_path / "imported"
    (tmp_path / f"{probe}.py").write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, probe, raising=False)
    model = onnx.load(str(NET))
    model.graph.node[0].domain = probe
    bad = _save(model, tmp_path / "crafted.onnx")
    with pytest.raises(ModelFileError, match=rf"node {model.graph.node[0].name} .*domain "
                       rf"'{probe}'\): unknown domain"):
        _import(bad, tmp_path)
    assert not marker.exists() and probe not in sys.modules
    # the threat is real: qonnx's op lookup would have run the module
    from qonnx.custom_op.registry import getCustomOp

    with pytest.raises(KeyError):
        getCustomOp(model.graph.node[0])
    assert marker.read_text() == "ran"


@pytest.mark.parametrize(
    ("domain", "op_type", "hint"),
    [
        ("", "Sin", "op type not supported; accepted: ONNX standard ops"),
        ("qonnx.custom_op.general", "GenericPartition", "op type not supported"),
        ("finn.custom_op.fpgadataflow", "MVAU", "is a HW layer"),
    ],
)
def test_ops_outside_the_allowlist_are_refused(
    tmp_path: Path, domain: str, op_type: str, hint: str
) -> None:
    model = onnx.load(str(NET))
    node = model.graph.node[0]
    node.domain, node.op_type = domain, op_type
    with pytest.raises(ModelFileError, match=rf"node {node.name} \(op type '{op_type}'"):
        _import(_save(model, tmp_path / "m.onnx"), tmp_path)
    with pytest.raises(ModelFileError, match=hint):
        _import(_save(model, tmp_path / "m.onnx"), tmp_path)


def test_float_softmax_inside_attention_is_named(tmp_path: Path) -> None:
    """Scores -> Softmax -> MatMul with V: refused at import, naming the Softmax and what
    the accelerator needs; a Softmax that only ends the graph stays allowed."""
    from onnx import helper

    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 4])
    nodes = [helper.make_node("MatMul", ["x", "x"], ["s"], name="scores"),
             helper.make_node("Softmax", ["s"], ["a"], name="attn_softmax", axis=-1),
             helper.make_node("MatMul", ["a", "x"], ["y"], name="mix")]
    model = helper.make_model(helper.make_graph(nodes, "attention", [x], [y]))
    with pytest.raises(ModelFileError, match=r"node attn_softmax is a float Softmax inside "
                       r"attention \(its output reaches MatMul mix of two activations\)"
                       r".*integer softmax"):
        check_onnx(_save(model, tmp_path / "attention.onnx"))
    del model.graph.node[2]
    model.graph.output[0].name = "a"
    check_onnx(_save(model, tmp_path / "head.onnx"))  # a final Softmax is the host's


def _replace_initializer(model: onnx.ModelProto, tensor: TensorProto) -> str:
    init = model.graph.initializer
    name = max(init, key=lambda t: len(t.raw_data) or len(t.float_data)).name
    tensor.name = name
    index = next(i for i, t in enumerate(init) if t.name == name)
    init[index].CopyFrom(tensor)
    return name


def _tensor(dims: list[int], stored: int) -> TensorProto:
    """A float tensor declaring ``dims`` and storing ``stored`` values."""
    t = TensorProto(data_type=TensorProto.FLOAT, dims=dims)
    t.raw_data = np.zeros(stored, np.float32).tobytes()
    return t


@pytest.mark.parametrize(
    ("make", "hint"),
    [
        # declared, never stored: the check counts values without decoding them
        (lambda: _tensor([MAX_TENSOR_ELEMENTS + 1], 0), "values per tensor are accepted"),
        (lambda: _tensor([4, 4], 8), r"shape \[4, 4\] \(16 values\) but stores 8"),
    ],
)
def test_initializer_sizes_are_bounded(tmp_path: Path, make: Any, hint: str) -> None:
    model = onnx.load(str(NET))
    name = _replace_initializer(model, make())
    with pytest.raises(ModelFileError, match=rf"initializer '{re.escape(name)}' .*{hint}"):
        _import(_save(model, tmp_path / "big.onnx"), tmp_path)


def test_external_data_is_refused(tmp_path: Path) -> None:
    model = onnx.load(str(NET))
    t = next(t for t in model.graph.initializer if t.raw_data)
    t.data_location = TensorProto.EXTERNAL
    t.external_data.add(key="location", value="../../etc/passwd")
    t.ClearField("raw_data")
    with pytest.raises(ModelFileError, match="external file"):
        _import(_save(model, tmp_path / "ext.onnx"), tmp_path)


@pytest.mark.parametrize(
    ("dim", "hint"),
    [({"dim_param": "N"}, "dynamic dimension 0 \\(N\\)"), ({"dim_value": 4}, "batch, of size 1")],
)
def test_input_shape_must_be_static_batch_1(tmp_path: Path, dim: dict[str, Any], hint: str) -> None:
    model = onnx.load(str(NET))
    d = model.graph.input[0].type.tensor_type.shape.dim[0]
    d.Clear()
    for key, value in dim.items():
        setattr(d, key, value)
    with pytest.raises(ModelFileError, match=hint):
        _import(_save(model, tmp_path / "dyn.onnx"), tmp_path)


def test_not_an_onnx_file(tmp_path: Path) -> None:
    bad = tmp_path / "junk.onnx"
    bad.write_bytes(b"\xff\x00 not a protobuf")
    with pytest.raises(ModelFileError, match="is not an ONNX model"):
        _import(bad, tmp_path)


def test_input_type_from_graph_or_config(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match=r"set data\.input_type"):
        _import(NET, tmp_path, input_type=None)
    annotated = ModelWrapper(str(NET))
    annotated.set_tensor_datatype(annotated.graph.input[0].name, DataType["UINT8"])
    path = tmp_path / "annotated.onnx"
    annotated.save(str(path))
    assert _import(path, tmp_path, input_type=None).input["datatype_from"] == "graph"
    with pytest.raises(ModelFileError, match=r"data\.input_type INT4 contradicts"):
        _import(path, tmp_path, input_type="INT4")


# --------------------------------------------------------------------------- data checks


def _npz(tmp_path: Path, **arrays: Any) -> Path:
    path = tmp_path / "t.npz"
    with path.open("wb") as f:
        np.savez(f, **arrays)
    return path


_X = np.load(TEST)["x"]


@pytest.mark.parametrize(
    ("arrays", "hint"),
    [
        ({"x": _X.reshape(-1, 8, 8)}, r"x has shape \(360, 8, 8\); the graph input .* takes "
                                      r"one sample of shape \(64,\), so x must be \(N, 64\)"),
        ({"x": _X, "y": np.zeros(359, np.int64)}, r"y has shape \(359,\)"),
        ({"y": np.zeros(360, np.int64)}, "holds y.npy; a test set holds the arrays x"),
        ({"x": _X, "labels": np.zeros(360)}, "holds labels.npy, x.npy"),
        ({"x": np.where(_X > 200, 300, _X.astype(np.int64))}, r"= 300 is not a UINT8 value"),
        ({"x": _X + 0.5}, r"= 0.5 is not a UINT8 value"),
        ({"x": np.full(_X.shape, np.nan)}, "NaN"),
        ({"x": np.array([{"a": 1}] * 2, dtype=object)}, "cannot be read safely"),
    ],
)
def test_bad_npz_is_a_named_error(tmp_path: Path, arrays: dict[str, Any], hint: str) -> None:
    with pytest.raises(DataFileError, match=hint):
        _import(NET, tmp_path, data=_npz(tmp_path, **arrays))


def test_npz_that_is_no_archive(tmp_path: Path) -> None:
    bad = tmp_path / "t.npz"
    np.save(bad, _X)  # a bare .npy, under an .npz name
    with pytest.raises(DataFileError, match=r"is not an \.npz archive"):
        _import(NET, tmp_path, data=bad)


# --------------------------------------------------------------------------- flow


def test_example_config_lowers_to_the_graphs_predictions(example_build: Path) -> None:
    r = json.loads((example_build / "results.json").read_text())
    assert r["steps_run"] == ["import", "lower"]
    assert r["import"]["format"] == "qonnx" and r["import"]["labels"]
    assert r["agreement"]["hw_graph"] == 1.0
    assert r["accuracy"]["hw_graph"] > 0.9 and r["accuracy"]["float"] is None
    assert [row["op_type"] for row in r["layers"]] == ["MVAU", "MVAU"]
    assert all(row["acc_bits_target"] is None for row in r["layers"])
    assert "quant" not in r["config"] and "train" not in r["config"]


def test_finn_onnx_graph_with_old_domains(example_build: Path, tmp_path: Path) -> None:
    """A graph FINN converted already (MultiThreshold, integer weights; FINN's old
    ``finn`` domain) skips ConvertQONNXtoFINN and lowers to the same HW graph."""
    # the step's graph is float64 until streamlining rounds the thresholds; FINN's own
    # conversion writes float32
    wide = ModelWrapper(str(example_build / "lower" / "00_qonnx_to_finn.onnx"))
    model = exact.to_float32(wide).model
    thresholds = [n for n in model.graph.node if n.op_type == "MultiThreshold"]
    assert thresholds and not [n for n in model.graph.node if n.op_type == "Quant"]
    for node in thresholds:
        node.domain = "finn"
    path = _save(model, tmp_path / "finn.onnx")
    res = run_flow(_imported_cfg(path, TEST), tmp_path / "build", until="lower")
    assert res.results["import"]["format"] == "finn-onnx"
    assert res.results["agreement"]["hw_graph"] == 1.0
    ours = json.loads((example_build / "results.json").read_text())["layers"]
    mine = res.results["layers"]
    keys = ("mw", "mh", "weight_dtype", "acc_bits", "n_thresholds", "pe", "simd")
    assert [[row[k] for k in keys] for row in mine] == [[row[k] for k in keys] for row in ours]


def test_unlowerable_graph_names_the_first_node_outside(tmp_path: Path) -> None:
    """A float op between the layers leaves the next MatMul outside the partition."""
    model = onnx.load(str(NET))
    g = model.graph
    gemm = [n for n in g.node if n.op_type in ("Gemm", "MatMul")][-1]
    act = gemm.input[0]
    gemm.input[0] = "soft"
    index = list(g.node).index(gemm)
    g.node.insert(index, helper.make_node("Softmax", [act], ["soft"], name="soft_0", axis=-1))
    path = _save(model, tmp_path / "soft.onnx")
    with pytest.raises(LoweringError, match=r"cannot lower node MatMul_\d \(op type MatMul\): "
                       r"FINN lowers MatMul only on integer inputs, but \S+ is FLOAT32"):
        run_flow(_imported_cfg(path, TEST), tmp_path / "build", until="lower")


def test_host_op_between_hw_layers_is_named(tmp_path: Path) -> None:
    from codesign.dataflow.lower.region import check_region

    hw = "finn.custom_op.fpgadataflow"
    nodes = [
        helper.make_node("Layer", ["x"], ["a"], name="hw_0", domain=hw),
        helper.make_node("Softmax", ["a"], ["b"], name="soft_0"),
        helper.make_node("Layer", ["b"], ["y"], name="hw_1", domain=hw),
    ]
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in "xaby"]
    graph = helper.make_graph(nodes, "g", [vi[0]], [vi[3]], value_info=vi[1:3])
    with pytest.raises(LoweringError, match=r"cannot lower node soft_0 \(op type Softmax\): "
                       r"Softmax runs on the host \(a is FLOAT32\); FINN supports one "
                       "dataflow partition"):
        check_region(ModelWrapper(helper.make_model(graph)))


@pytest.mark.sim
@pytest.mark.slow
def test_user_model_without_labels_end_to_end(tmp_path: Path) -> None:
    """The example script trains and exports a small model; without labels the flow
    reports agreement with the graph instead of accuracy, and verifies the accelerator."""
    script = EXAMPLE / "make_model.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "user"), "--epochs", "2",
         "--hidden", "8", "--no-labels"], check=True, capture_output=True,
    )
    assert set(np.load(tmp_path / "user" / "test.npz").files) == {"x"}
    cfg = _imported_cfg(
        tmp_path / "user" / "net.onnx", tmp_path / "user" / "test.npz",
        sim={"simulator": "icarus", "frames": 20}, synth={"enabled": False},
    )
    r = run_flow(cfg, tmp_path / "build").results
    assert r["steps_run"] == ["import", "lower", "fifos", "rtl", "sim", "overflow"]
    assert set(r["accuracy"].values()) == {None}
    assert r["agreement"] == {"hw_graph": 1.0, "accelerator": 1.0,
                              "accelerator_outputs_bit_exact": True}
    assert r["verification"]["frames"] == 20 and r["verification"]["mismatches"] == 0
    assert r["overflow"]["total"] == 0 and r["cycles"]["ii_error"] <= 0.05
    # the report shows the agreement where the accuracy is absent
    from codesign.report import build_report

    rep = build_report([tmp_path / "build" / "results.json"], tmp_path / "report")
    summary = next(t for t in rep.tables if t.key == "summary")
    row = dict(zip(summary.columns, summary.rows[0], strict=True))
    assert row["agreement"] == "100.0 % / 100.0 %, bit-exact" and row["accelerator"] == "—"
    # an imported model: its own quantization, each layer's accumulator, its own test set
    widths = "/".join(str(ly["acc_bits_finn"]) for ly in r["layers"] if ly.get("acc_bits_finn"))
    assert (row["method"], row["P"]) == ("own quantization (onnx)", f"per layer {widths}")
    assert row["cycles/frame"] == f"{round(r['cycles']['ii_measured'])} (measured)"
    doc = rep.html.read_text()
    assert f"user&#x27;s test set {tmp_path / 'user' / 'test.npz'} (" in doc


def test_cli_flow_from_model_and_data(tmp_path: Path) -> None:
    model = onnx.load(str(NET))
    model.graph.node[0].domain = "os"
    bad = _save(model, tmp_path / "bad.onnx")
    runner = CliRunner()
    res = runner.invoke(app, ["flow", "--model", str(bad), "--data", str(TEST),
                              "--input-type", "UINT8", "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "unknown domain" in res.output
    assert not (tmp_path / "b").exists()  # nothing half-written is left as if a build
    res = runner.invoke(app, ["flow", "--model", str(NET)])
    assert res.exit_code == 2 and "--data" in res.output
    res = runner.invoke(app, ["flow"])
    assert res.exit_code == 2 and "give a flow config" in res.output
