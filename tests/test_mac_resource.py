"""Where the multipliers go (FINN's MVAU/VVAU resType, ``fold.mac_resource``): the config,
the fold step that writes it onto the nodes (a user's graph's own kept), the kernels'
USE_DSP and estimates, Yosys keeping a LUT layer out of DSPs, and the HLS BIND_OP.
The RTL's bit-exactness in LUT mode is in tests/test_rtl_kernels.py (the ``lut-`` MVAU
cases) and tests/test_rtl_kernels_dws.py (the ``lut-`` VVAU case)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import hls_cases as hc
import pytest
import yaml
from lower_fixtures import make_qonnx
from qonnx.custom_op.registry import getCustomOp

from codesign.backends.hls import emit_hls, library_dir
from codesign.board import registry
from codesign.board.registry import get_board
from codesign.config import ConfigError, parse_config
from codesign.dataflow.graph import single_kernel
from codesign.dataflow.kernels import kernel_for
from codesign.dataflow.kernels._base import replace_params
from codesign.dataflow.lower import dataflow_child, layer_table, load_lowered, run_lower
from codesign.dataflow.lower.folding import set_mac_resources
from codesign.errors import LoweringError
from codesign.synth.kernels import synthesize_accelerators
from codesign.verify.csim import run_kernels

FOLD = [{"pe": 4, "simd": 8}, {"pe": 2, "simd": 16}, {"pe": 5, "simd": 4}]


# --------------------------------------------------------------------------- config
def test_config_takes_lut_dsp_net_wide_and_per_layer() -> None:
    cfg = parse_config({"fold": {"layers": [{**FOLD[0], "mac_resource": "dsp"}, *FOLD[1:]],
                                 "mac_resource": "lut"}})
    assert cfg.fold.mac_resource == "lut"
    assert [f.mac_resource for f in cfg.fold.layers or ()] == ["dsp", None, None]
    assert cfg.fold.explicit_mac_resources == {"lut", "dsp"}
    # unset, the keys are left out of the dump: configs digest as before they existed
    plain = parse_config({"fold": {"layers": FOLD}})
    assert "mac_resource" not in plain.model_dump()["fold"]
    assert all("mac_resource" not in f for f in plain.model_dump()["fold"]["layers"])
    assert parse_config(yaml.safe_load(cfg.to_yaml())) == cfg


@pytest.mark.parametrize(("fold", "where"), [
    ({"target_cycles": 64, "mac_resource": "bram"}, "fold.mac_resource"),
    ({"layers": [{"pe": 1, "simd": 1, "mac_resource": "DSP48"}]}, "fold.layers.0.mac_resource"),
])
def test_bad_mac_resource_names_the_key(fold: dict[str, object], where: str) -> None:
    with pytest.raises(ConfigError, match=rf"{where}.*'lut' or 'dsp'"):
        parse_config({"fold": fold})


@pytest.fixture
def board_without_dsp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A board like the iCEBreaker but without its SB_MAC16 blocks."""
    data = yaml.safe_load((registry.boards_dir() / "icebreaker.yaml").read_text())
    data["name"] = "nodsp"
    del data["resources"]["DSP"]
    (tmp_path / "nodsp.yaml").write_text(yaml.safe_dump(data))
    files = {**registry._board_files(), "nodsp": tmp_path / "nodsp.yaml"}
    monkeypatch.setattr(registry, "_board_files", lambda: files)
    registry._get_board_cached.cache_clear()
    yield "nodsp"
    registry._get_board_cached.cache_clear()


def test_dsp_on_a_board_without_dsps_names_the_board(board_without_dsp: str) -> None:
    assert not get_board(board_without_dsp).has_dsp and get_board("icebreaker").has_dsp
    for fold in ({"target_cycles": 64, "mac_resource": "dsp"},
                 {"layers": [{"pe": 1, "simd": 1, "mac_resource": "dsp"}]}):
        with pytest.raises(ConfigError, match=r"mac_resource: dsp.*board nodsp has none"):
            parse_config({"board": board_without_dsp, "fold": fold})
    parse_config({"board": board_without_dsp,
                  "fold": {"target_cycles": 64, "mac_resource": "lut"}})


# --------------------------------------------------------------------------- fold step
@pytest.fixture(scope="module")
def minimized(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build lowered up to the fold step (8-bit MLP 64-64-32-10)."""
    build = tmp_path_factory.mktemp("build")
    qonnx = make_qonnx(build / "mlp.onnx", hidden=(64, 32))
    cfg = parse_config({"quant": {"method": "baseline"}, "fold": {"target_cycles": 64}})
    run_lower(qonnx, cfg, build, stop="minimize_accumulator_width")
    return build


def _fold(build: Path, fold: dict[str, object]) -> list[object]:
    result = run_lower(Path("unused.onnx"), parse_config({"fold": fold}), build, start="fold")
    return layer_table(dataflow_child(load_lowered(result.parent)))


def test_fold_step_writes_modes_and_estimates_follow(minimized: Path) -> None:
    default = _fold(minimized, {"layers": FOLD})
    lut = _fold(minimized, {"layers": [*FOLD[:2], {**FOLD[2], "mac_resource": "dsp"}],
                            "mac_resource": "lut"})
    # unset: DSPs on a board with DSP blocks, as before the setting
    assert [r.extra["mac_resource"] for r in default] == ["dsp"] * 3
    assert [r.extra["mac_resource"] for r in lut] == ["lut", "lut", "dsp"]
    for d, m in zip(default[:2], lut[:2], strict=True):
        assert (d.dsp, m.dsp) == (d.pe * d.simd, 0)  # one DSP48E2 per 9x8-bit product
        assert m.lut > d.lut + 50 * d.pe * d.simd  # every product's shift-and-add rows
    assert (lut[2].dsp, lut[2].lut) == (default[2].dsp, default[2].lut)


def test_graph_resource_is_kept_unless_the_config_sets_one(minimized: Path) -> None:
    from codesign.dataflow.lower.steps import LOWER_STEPS

    index = [name for name, _ in LOWER_STEPS].index("minimize_accumulator_width")
    parent = sorted((minimized / "lower").glob(f"{index:02d}_*.onnx"))[0]
    zcu104 = get_board("zcu104")

    def modes(fold: dict[str, object], user: str = "lut") -> list[str | None]:
        child = dataflow_child(load_lowered(parent))
        mvaus = child.get_nodes_by_op_type("MVAU")
        getCustomOp(mvaus[1]).set_nodeattr("resType", user)  # a user's graph says so
        set_mac_resources(child, parse_config({"fold": fold}).fold, zcu104)
        return [kernel_for(n).mac_resource(n) for n in mvaus]

    assert modes({"target_cycles": 64}) == ["dsp", "lut", "dsp"]
    assert modes({"target_cycles": 64, "mac_resource": "dsp"}) == ["dsp"] * 3
    assert modes({"layers": [FOLD[0], {**FOLD[1], "mac_resource": "dsp"}, FOLD[2]]}) == \
        ["dsp"] * 3
    assert modes({"target_cycles": 64, "mac_resource": "lut"}, user="dsp") == ["lut"] * 3
    # the graph's read as the kernels' USE_DSP
    child = dataflow_child(load_lowered(parent))
    node = child.get_nodes_by_op_type("MVAU")[0]
    for mode, use_dsp in (("lut", 0), ("dsp", 1), ("auto", 1)):
        getCustomOp(node).set_nodeattr("resType", mode)
        assert kernel_for(node).read(child, node).params["USE_DSP"] == use_dsp


def test_graph_dsp_on_a_board_without_dsps_names_board_and_node(
        minimized: Path, board_without_dsp: str) -> None:
    from codesign.dataflow.lower.steps import LOWER_STEPS

    index = [name for name, _ in LOWER_STEPS].index("minimize_accumulator_width")
    parent = sorted((minimized / "lower").glob(f"{index:02d}_*.onnx"))[0]
    child = dataflow_child(load_lowered(parent))
    board = get_board(board_without_dsp)
    set_mac_resources(child, parse_config({"fold": {"target_cycles": 64}}).fold, board)
    assert {kernel_for(n).mac_resource(n) for n in child.graph.node} == {"lut"}
    node = child.get_nodes_by_op_type("MVAU")[0]
    getCustomOp(node).set_nodeattr("resType", "dsp")
    with pytest.raises(LoweringError, match=rf"{node.name} \(MVAU\) has resType dsp.*"
                       "board nodsp has no DSP blocks"):
        set_mac_resources(child, parse_config({"fold": {"target_cycles": 64}}).fold, board)


def test_an_xnor_popcount_has_no_multipliers_to_place() -> None:
    """binaryXnorMode MVAUs are left alone net-wide and refused by name per layer."""
    from onnx import TensorProto, helper
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.basic import qonnx_make_model

    node = helper.make_node(
        "MVAU", ["x", "w"], ["y"], name="MVAU_xnor", domain="finn.custom_op.fpgadataflow",
        backend="fpgadataflow", MW=8, MH=4, PE=1, SIMD=1, binaryXnorMode=1, noActivation=1,
        inputDataType="BINARY", weightDataType="BINARY", outputDataType="UINT4")
    graph = helper.make_graph(
        [node], "xnor", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    child = ModelWrapper(qonnx_make_model(graph))
    zcu104 = get_board("zcu104")
    set_mac_resources(child, parse_config({"fold": {"target_cycles": 8,
                                                    "mac_resource": "lut"}}).fold, zcu104)
    assert kernel_for(node).mac_resource(node) is None
    per_layer = parse_config({"fold": {"layers": [{"pe": 1, "simd": 1, "mac_resource": "lut"}]}})
    with pytest.raises(LoweringError, match=r"fold.layers\[0\].mac_resource: node MVAU_xnor "
                       r"\(MVAU\) has no multipliers"):
        set_mac_resources(child, per_layer.fold, zcu104)


# --------------------------------------------------------------------------- synthesis
@pytest.mark.synth
@pytest.mark.parametrize("board", ["zcu104", "ulx3s", "icebreaker", "tangnano9k"])
def test_yosys_keeps_a_lut_layer_out_of_dsps(board: str, tmp_path: Path) -> None:
    """Each family's Yosys flow (synth_xilinx, synth_ecp5, synth_ice40 -dsp, synth_gowin)
    maps the DSP layer's products to its DSP blocks and none of the LUT one's."""
    # 8 x 8-bit products: iCE40's mapping takes none narrower than 11 bits to an SB_MAC16;
    # Gowin's MULT9X9 is half a DSP block
    dsp = hc.mvau(7, 4, 2, 1, 2, 8, False, 8, n_thres=0)
    lut = dataclasses.replace(replace_params(dsp, USE_DSP=0), node="mvau_lut")
    designs = {"dsp": single_kernel(dsp, name="dsp"), "lut": single_kernel(lut, name="lut")}
    res = synthesize_accelerators(designs, get_board(board), tmp_path)
    per_product = 0.5 if board == "tangnano9k" else 1
    assert res["dsp"].total.get("DSP", 0) == 2 * per_product, res["dsp"].total
    assert res["lut"].total.get("DSP", 0) == 0
    assert res["lut"].total["LUT"] > res["dsp"].total["LUT"]


# --------------------------------------------------------------------------- HLS
def test_hls_binds_the_products_as_the_layer_says(tmp_path: Path) -> None:
    header = (library_dir() / "cs_datapath.hpp").read_text()
    assert "#pragma HLS BIND_OP variable=prod op=mul impl=dsp" in header
    assert "#pragma HLS BIND_OP variable=prod op=mul impl=fabric" in header
    ks = [replace_params(hc.mvau(31, 8, 4, 2, 4, 8, True, 5, squeeze=3, n_thres=7,
                                 act_bias=-3), USE_DSP=0),
          replace_params(hc.mvau(32, 6, 3, 3, 2, 4, False, 2), USE_DSP=0),
          replace_params(hc.mvau(33, 6, 3, 3, 2, 4, False, 2), USE_DSP=1)]
    for k in ks:  # USE_DSP is cs::mvau's / cs::mvau_noact's last template argument
        call = k.kernel.hls_call(k)
        assert call.template_args[-1] == k.params["USE_DSP"]
    project = emit_hls(single_kernel(ks[1], name="top"), tmp_path / "hls")
    call_args = re.search(r"cs::mvau_noact<([^>]*)>\(", project.top_file.read_text())
    assert call_args is not None and call_args.group(1).split(", ")[-1] == "0"
    inputs = [hc.random_inputs(k, 4, i) for i, k in enumerate(ks)]  # g++ C-sim, bit-exact
    for k, x, got in zip(ks, inputs, run_kernels(ks, inputs, tmp_path / "csim"), strict=True):
        for a, b in zip(got, hc.golden(k, x), strict=True):
            assert (a == b).all(), k.node


# --------------------------------------------------------------------------- sweeps
def test_a_pinned_sweep_runs_in_both_mac_modes() -> None:
    """Pinning fixes PE/SIMD; the MAC resource may vary across the points (it leaves the
    folding alone) and the base's stays on every pinned point."""
    from codesign.dse.points import expand_points, pinned
    from codesign.dse.spec import parse_sweep_spec

    spec = parse_sweep_spec({"base": {"fold": {"target_cycles": 64, "mac_resource": "lut"}},
                             "grid": {"fold.mac_resource": ["lut", "dsp"]},
                             "pin_folding": {}})
    folds = [p.config["fold"] for p in expand_points(pinned(spec, [{"pe": 4, "simd": 8}]))]
    assert [f["mac_resource"] for f in folds] == ["lut", "dsp"]
    assert all(f["layers"] == [{"pe": 4, "simd": 8}] for f in folds)
    base = parse_sweep_spec({"base": {"fold": {"target_cycles": 64, "mac_resource": "lut"}},
                             "grid": {"quant.acc_bits": [16]}, "pin_folding": {}})
    (point,) = expand_points(pinned(base, [{"pe": 4, "simd": 8}]))
    assert point.config["fold"]["mac_resource"] == "lut"
