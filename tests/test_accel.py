"""The generated accelerator: RTL backend, bit-exact cocotb simulation, Yosys resources."""

from __future__ import annotations

import copy
import itertools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from qonnx.core.modelwrapper import ModelWrapper

from codesign.backends.rtl import RtlProject, emit_rtl
from codesign.backends.vectors import read_hex, write_vectors
from codesign.dataflow.graph import StreamGraph, read_graph, with_acc_bits
from codesign.dataflow.lower import execute_dataflow, load_lowered
from codesign.errors import LoweringError, VerificationError
from codesign.frontend.data import load_digits_split
from codesign.verify.sim import simulate_accelerator


@pytest.fixture(scope="module")
def lowered(small_mlp_build: Path) -> tuple[ModelWrapper, Path]:
    return load_lowered(small_mlp_build / _dataflow(small_mlp_build)), small_mlp_build


def _dataflow(out: Path) -> str:
    manifest = json.loads((out / "manifest.json").read_text())
    return str(manifest["steps"]["lower"]["result"]["dataflow"])


@pytest.fixture(scope="module")
def accel(lowered: tuple[ModelWrapper, Path]) -> StreamGraph:
    return read_graph(lowered[0], name="small")


@pytest.fixture(scope="module")
def project(accel: StreamGraph, tmp_path_factory: pytest.TempPathFactory) -> RtlProject:
    return emit_rtl(accel, tmp_path_factory.mktemp("rtl"))


@pytest.fixture(scope="module")
def vectors(
    lowered: tuple[ModelWrapper, Path], accel: StreamGraph, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    x = load_digits_split(8, seed=0).x_test
    d = tmp_path_factory.mktemp("vectors")
    write_vectors(accel, x, execute_dataflow(lowered[0], x), d)
    return d


def test_kernels_follow_the_graph(lowered: tuple[ModelWrapper, Path], accel: StreamGraph) -> None:
    child = lowered[0]
    assert [k.node for k in accel.nodes] == [n.name for n in child.graph.node]
    mvaus = [k for k in accel.nodes if k.kind == "mvau"]
    assert len(mvaus) == 2 and all(k.has_ovf for k in mvaus)
    assert mvaus[0].params["N_THRES"] == 15  # 4-bit activations
    assert mvaus[1].params["N_THRES"] == 0  # logits: the accumulator itself
    assert accel.est_ii == max(k.est_cycles for k in accel.nodes)
    # a chain: every node's output is the next node's input, one stream each
    for a, b in itertools.pairwise(accel.nodes):
        (edge,) = accel.out_edges(a.node)
        assert edge.dst is not None and edge.dst.node == b.node


def test_top_level_instantiates_library_kernels(project: RtlProject) -> None:
    text = project.top_file.read_text()
    assert "module accel_top" in text and text.count("cs_mvau #(") == 2
    # only the top is generated: kernel bodies come from rtl/
    assert "always_ff" not in text
    assert all(p.exists() for p in project.sources) and project.memories


def test_unsupported_node_is_named(lowered: tuple[ModelWrapper, Path]) -> None:
    child = ModelWrapper(copy.deepcopy(lowered[0].model))
    child.graph.node[1].op_type = "Lookup"
    with pytest.raises(LoweringError, match=r"node .* \(Lookup\) has no kernel.*supported ops"):
        read_graph(child)


def test_wider_accumulators_keep_streams(accel: StreamGraph) -> None:
    """Same weights and folding; the logits MVAU (no activation) emits its whole 32-bit
    accumulator, every other stream keeps its format."""
    wide = with_acc_bits(accel, 32)
    assert wide.inp == accel.inp
    assert wide.out.elem_bits == 32 and wide.out.elems == accel.out.elems
    order = [k.node for k in accel.nodes]
    logits = max(i for i, k in enumerate(accel.nodes) if k.kind == "mvau")
    for a, b in zip(wide.edges, accel.edges, strict=True):
        if a.src is not None and order.index(a.src.node) >= logits:
            assert a.fmt.elem_bits == 32, a  # the logits and the FIFO behind them
        else:
            assert a.fmt == b.fmt, a
    assert {k.params["ACC_BITS"] for k in wide.nodes if k.kind == "mvau"} == {32}
    assert [k.params["DEPTH"] for k in wide.nodes if k.kind == "fifo"] == [
        k.params["DEPTH"] for k in accel.nodes if k.kind == "fifo"]


@pytest.mark.sim
def test_verilator_whole_test_set_bit_exact_under_backpressure(
    project: RtlProject, vectors: Path, tmp_path: Path
) -> None:
    report = simulate_accelerator(project, vectors, tmp_path, simulator="verilator", seed=1)
    assert report.frames == 360 and report.mismatches == 0
    assert report.words_compared == 360 * read_accelerator_words_out(vectors)
    assert not any(report.ovf_flags.values()), report.ovf_flags
    assert report.ii_error <= 0.05, (report.ii_cycles, report.est_ii_cycles)
    assert report.latency_cycles >= report.est_ii_cycles


def read_accelerator_words_out(vectors: Path) -> int:
    return int(json.loads((vectors / "meta.json").read_text())["out"]["words_per_frame"])


@pytest.mark.sim
def test_icarus_sample_bit_exact(
    accel: StreamGraph, lowered: tuple[ModelWrapper, Path], project: RtlProject, tmp_path: Path
) -> None:
    x = load_digits_split(8, seed=0).x_test[:24]
    write_vectors(accel, x, execute_dataflow(lowered[0], x), tmp_path / "v")
    report = simulate_accelerator(project, tmp_path / "v", tmp_path / "sim", simulator="icarus")
    assert report.frames == 24 and report.mismatches == 0
    assert report.ii_error <= 0.05


@pytest.mark.sim
def test_fifo_peaks_through_the_harness_on_icarus(
    accel: StreamGraph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FIFO sizing's simulation (the HDL harness, every input word paced at the estimated
    II) reads every FIFO's peak below the harness's accel_top instance. At a period of
    20 IIs, a frame sent as one burst would end a few IIs after it starts; paced, the
    last word of frame 2 comes no sooner than 2 x period + its share of frame 2."""
    from codesign.dataflow.fifos import _peaks

    period = 20 * accel.est_ii
    monkeypatch.setattr(type(accel), "est_ii", property(lambda graph: period))
    x = load_digits_split(8, seed=0).x_test[:3]
    peaks, cycles = _peaks(accel, x, tmp_path, "icarus")
    fifos = {k.node for _, k in accel.walk() if k.kernel.sized_by_simulation}
    assert set(peaks) == fifos and all(p >= 1 for p in peaks.values()), peaks
    w = accel.words_in
    assert w > 1 and cycles >= 2 * period + (w - 1) * period // w, (cycles, w)


@pytest.mark.sim
def test_mismatch_names_frame_word_expected_and_got(
    project: RtlProject, vectors: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "bad"
    shutil.copytree(vectors, bad)
    words = read_hex(bad / "expected.hex")
    n_out = read_accelerator_words_out(vectors)
    words[3 * n_out + n_out - 1] ^= 1
    digits = len((bad / "expected.hex").read_text().split()[0])
    (bad / "expected.hex").write_text("".join(f"{w:0{digits}x}\n" for w in words))
    want = rf"frame 3, word {n_out - 1} .*expected 0x[0-9a-f]+, got 0x[0-9a-f]+"
    with pytest.raises(VerificationError, match=want):
        simulate_accelerator(project, bad, tmp_path / "sim", simulator="verilator", seed=2)


def test_vectors_refuse_wrong_frame_size(accel: StreamGraph, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="words per frame"):
        write_vectors(accel, np.zeros((2, 63)), np.zeros((2, 10)), tmp_path)


def test_unsigned_weight_type_gets_a_sign_bit(lowered: tuple[ModelWrapper, Path]) -> None:
    """FINN's MinimizeWeightBitWidth makes all-nonnegative weights UINTn; the kernel's
    weights are signed, so they need n + 1 bits."""
    from qonnx.custom_op.registry import getCustomOp

    child = ModelWrapper(copy.deepcopy(lowered[0].model))
    node = next(n for n in child.graph.node if n.op_type == "MVAU")
    w = child.get_initializer(node.input[1])
    child.set_initializer(node.input[1], np.abs(w))
    getCustomOp(node).set_nodeattr("weightDataType", "UINT8")
    k = read_graph(child).node(node.name)
    assert k.params["W_BITS"] == 9
