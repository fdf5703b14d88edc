"""Kernels of the ViT's attention: the integer softmax, the matrix product of two
streamed operands (scores Q.K^T and mix A.V), the Taylor linear attention and the
reshape between HW layers.

Every case builds a single-node graph of our HW op, reads it with the kernel registry and
checks the golden function against the node's Python execution (the same integers the
graph-level op and training compute); the cocotb run (rtl_sim.kernels.test_<kernel>)
then streams random frames through the RTL under random valid/ready stalls on every port,
checks every output word and the stall-free cycles per frame against the estimate.
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
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.custom_op.registry import getCustomOp
from qonnx.util.basic import qonnx_make_model

from codesign import attention
from codesign.backends.rtl import module_sources
from codesign.dataflow.kernels import DOMAIN, KernelInstance, kernel_for
from codesign.errors import LoweringError
from codesign.frontend.ops import int_type
from codesign.verify.simulators import rtl_dir, run_cocotb, sv_string


def softmax_model(*, n: int, rows: list[int], pe: int, idt: str, scale: float,
                  lut_len: int = attention.LUT_MAX_LEN) -> ModelWrapper:
    """One HWIntSoftmax node over (rows..., n) scores of type ``idt``."""
    lut = attention.exp_lut(scale, max_len=lut_len)
    node = helper.make_node(
        "HWIntSoftmax", ["inp"], ["outp"], name="HWIntSoftmax_0", domain=DOMAIN,
        backend="fpgadataflow", N=n, PE=pe, numInputVectors=rows, inputDataType=idt,
        lut=[int(v) for v in lut], out_bits=attention.OUT_BITS,
        recip_bits=attention.recip_bits(n),
    )
    shape = [*rows, n]
    graph = helper.make_graph(
        [node], "softmax", [helper.make_tensor_value_info("inp", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("outp", TensorProto.FLOAT, shape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    model.set_tensor_datatype("inp", DataType[idt])
    return model


def stream_matmul_model(*, mode: str, nq: int, h: int, nk: int, dh: int, pe: int, simd: int,
                        bpe: int, adt: str, bdt: str) -> ModelWrapper:
    """One HWStreamMatMul node; its output type holds every sum of the operand types."""
    k_len = dh if mode == "scores" else nk
    a_t, b_t = DataType[adt], DataType[bdt]
    ends = [x * y for x in (a_t.min(), a_t.max()) for y in (b_t.min(), b_t.max())]
    odt = int_type(k_len * min(ends), k_len * max(ends)).name
    a_shape = [1, nq, h, k_len]
    out_shape = [1, nq, h, nk if mode == "scores" else dh]
    node = helper.make_node(
        "HWStreamMatMul", ["a", "b"], ["outp"], name="HWStreamMatMul_0", domain=DOMAIN,
        backend="fpgadataflow", mode=mode, NQ=nq, H=h, NK=nk, DH=dh, PE=pe, SIMD=simd, BPE=bpe,
        aDataType=adt, bDataType=bdt, outputDataType=odt,
    )
    vi = [helper.make_tensor_value_info("a", TensorProto.FLOAT, a_shape),
          helper.make_tensor_value_info("b", TensorProto.FLOAT, [1, nk, h, dh])]
    graph = helper.make_graph(
        [node], "matmul", vi, [helper.make_tensor_value_info("outp", TensorProto.FLOAT, out_shape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    model.set_tensor_datatype("a", a_t)
    model.set_tensor_datatype("b", b_t)
    return model


def linear_model(*, n: int, h: int, dh: int, simd: int, pe: int, dts: tuple[str, str, str],
                 c: float, frac: int = attention.FRAC_BITS) -> ModelWrapper:
    """One HWLinearAttention node of (1, n, h*dh) q, k, v; the output type from the
    widths of the operand types."""
    mult, shift = attention.taylor_multiplier(c)
    q, k, v = ((int(DataType[t].min()), int(DataType[t].max())) for t in dts)
    out = attention.linear_widths(n, dh, q, k, v, mult, shift, frac).out
    node = helper.make_node(
        "HWLinearAttention", ["q", "k", "v"], ["outp"], name="HWLinearAttention_0",
        domain=DOMAIN, backend="fpgadataflow", N=n, H=h, DH=dh, SIMD=simd, PE=pe,
        qDataType=dts[0], kDataType=dts[1], vDataType=dts[2], outputDataType=f"INT{out}",
        mult=mult, shift=shift, frac=frac,
    )
    shape = [1, n, h * dh]
    vi = [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape) for x in "qkv"]
    graph = helper.make_graph(
        [node], "linear", vi, [helper.make_tensor_value_info("outp", TensorProto.FLOAT, shape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    for x, t in zip("qkv", dts, strict=True):
        model.set_tensor_datatype(x, DataType[t])
    return model


def reshape_model(*, in_shape: list[int], out_shape: list[int], pe: int, dt: str,
                  ) -> ModelWrapper:
    """One HWStreamReshape node."""
    node = helper.make_node(
        "HWStreamReshape", ["inp"], ["outp"], name="HWStreamReshape_0", domain=DOMAIN,
        backend="fpgadataflow", in_shape=in_shape, out_shape=out_shape, PE=pe, dataType=dt)
    graph = helper.make_graph(
        [node], "reshape", [helper.make_tensor_value_info("inp", TensorProto.FLOAT, in_shape)],
        [helper.make_tensor_value_info("outp", TensorProto.FLOAT, out_shape)])
    model = ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))
    model.set_tensor_datatype("inp", DataType[dt])
    return model


@dataclass(frozen=True)
class Case:
    kernel: str
    name: str
    build: Callable[[], ModelWrapper]
    seed: int
    verilator: bool = False
    pauses: tuple[float, ...] = (0.3, 0.4)  # per port, inputs then outputs
    frames: int = 3


CASES = [
    # 16 tokens, one word per score, 2 heads x 4 queries, a table cut at its length
    Case("int_softmax", "n16-pe1-s10", lambda: softmax_model(
        n=16, rows=[4, 2], pe=1, idt="INT10", scale=0.01, lut_len=64), 81, verilator=True),
    # scores beyond the table's reach (it ends in 0), 4 scores a word
    Case("int_softmax", "n8-pe4-s16", lambda: softmax_model(
        n=8, rows=[3], pe=4, idt="INT16", scale=0.3), 82),
    # unsigned scores, every score a word; a slow consumer
    Case("int_softmax", "n4-pe4-u6", lambda: softmax_model(
        n=4, rows=[2, 2], pe=4, idt="UINT6", scale=1.5), 83, pauses=(0.1, 0.7)),
    # scores of 2 heads: 4 queries x 8 keys of 4 features, folded on every axis
    Case("stream_matmul", "scores-q4-k8-h2-d4-pe2-simd2-bpe4", lambda: stream_matmul_model(
        mode="scores", nq=4, h=2, nk=8, dh=4, pe=2, simd=2, bpe=4, adt="INT4", bdt="INT5"),
        91, verilator=True, pauses=(0.3, 0.3, 0.4)),
    # the mix: unsigned softmax codes times signed values, the buffer arriving slowly
    Case("stream_matmul", "mix-q4-k4-h2-d3-pe3-simd4-bpe1", lambda: stream_matmul_model(
        mode="mix", nq=4, h=2, nk=4, dh=3, pe=3, simd=4, bpe=1, adt="UINT8", bdt="INT4"),
        92, verilator=True, pauses=(0.2, 0.7, 0.3)),
    # one head, no folding, unsigned operands
    Case("stream_matmul", "scores-q3-k2-h1-d2-u", lambda: stream_matmul_model(
        mode="scores", nq=3, h=1, nk=2, dh=2, pe=1, simd=1, bpe=2, adt="UINT3", bdt="UINT2"),
        93, pauses=(0.4, 0.4, 0.4)),
    # 8 tokens, 2 heads of 2 features, words of 2 elements, 2 products a cycle
    Case("linear_attention", "n8-h2-d2-simd2-pe2-s4", lambda: linear_model(
        n=8, h=2, dh=2, simd=2, pe=2, dts=("INT4", "INT4", "INT4"), c=0.05), 101,
        verilator=True, pauses=(0.3, 0.3, 0.3, 0.4)),
    # 4 tokens, one head of 3 features, unsigned keys, 8-bit values, a small factor
    Case("linear_attention", "n4-h1-d3-simd3-pe1", lambda: linear_model(
        n=4, h=1, dh=3, simd=3, pe=1, dts=("INT3", "UINT4", "INT8"), c=3e-3), 102,
        pauses=(0.5, 0.2, 0.6, 0.3)),
    # tokens x features to one vector (the embedding's thresholds), 4 elements a word
    Case("stream_reshape", "16x8-to-128-pe4-s5", lambda: reshape_model(
        in_shape=[1, 16, 8], out_shape=[1, 128], pe=4, dt="INT5"), 111),
]


def _only(model: ModelWrapper) -> tuple[Any, KernelInstance]:
    (node,) = model.graph.node
    return node, kernel_for(node).read(model, node)


def _frames(k: KernelInstance, model: ModelWrapper, n: int, rng: np.random.Generator,
            ) -> list[np.ndarray]:
    """``n`` random frames per streamed input over its whole type; the first frame at the
    type's extremes (the largest sums; for the softmax, ties at the maximum)."""
    node = model.graph.node[0]
    out = []
    for i, name in enumerate(node.input):
        dt = model.get_tensor_datatype(name)
        x = rng.integers(dt.min(), dt.max() + 1, size=(n, k.words_in[i] * k.inputs[i].elems))
        x[0] = dt.max() if i == 0 or dt.min() >= 0 else dt.min()
        out.append(x)
    return out


@pytest.mark.parametrize("case", [pytest.param(c, id=c.name) for c in CASES])
def test_golden_matches_node_execution(case: Case) -> None:
    model = case.build()
    node, k = _only(model)
    frames = _frames(k, model, 2, np.random.default_rng(case.seed))
    (got,) = k.kernel.golden(k, frames)
    for f in range(len(got)):
        ctx = {name: x[f].reshape(model.get_tensor_shape(name)).astype(np.float32)
               for name, x in zip(node.input, frames, strict=True)}
        want = execute_onnx(model, ctx)["outp"].reshape(-1)
        np.testing.assert_array_equal(got[f], want)


def test_unquantized_softmax_is_refused_naming_the_node() -> None:
    from codesign.dataflow.kernels.int_softmax import InferIntSoftmax

    node = helper.make_node("IntSoftmax", ["s"], ["a"], name="IntSoftmax_7",
                            domain="codesign.frontend.ops", in_scale=0.01, out_scale=1.0,
                            lut=[16, 4, 0], out_bits=8, recip_bits=10)
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("s", TensorProto.FLOAT, [1, 2, 4])],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 2, 4])])
    model = ModelWrapper(qonnx_make_model(graph))
    with pytest.raises(LoweringError, match=r"IntSoftmax_7 \(IntSoftmax\) is not quantized.*"
                                            r"FLOAT32.*in_scale=0\.01"):
        model.transform(InferIntSoftmax())
    model.set_tensor_datatype("s", DataType["INT12"])
    getCustomOp(model.graph.node[0]).set_nodeattr("in_scale", 1.0)
    lowered = model.transform(InferIntSoftmax())
    assert lowered.graph.node[0].op_type == "HWIntSoftmax"
    assert getCustomOp(lowered.graph.node[0]).get_nodeattr("numInputVectors") == [1, 2]


def test_unquantized_linear_attention_is_refused_naming_the_node() -> None:
    from codesign.dataflow.kernels.linear_attention import InferLinearAttention

    node = helper.make_node("LinearAttention", ["q", "k", "v"], ["o"], name="LinearAttention_2",
                            domain="codesign.frontend.ops", heads=2, q_scale=1.0, k_scale=1.0,
                            v_scale=0.5, out_scale=1.0, mult=3, shift=4, frac=4)
    vi = [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, 4, 4]) for x in "qkv"]
    graph = helper.make_graph([node], "g", vi,
                              [helper.make_tensor_value_info("o", TensorProto.FLOAT, [1, 4, 4])])
    model = ModelWrapper(qonnx_make_model(graph))
    for x in "qkv":
        model.set_tensor_datatype(x, DataType["INT4"])
    with pytest.raises(LoweringError, match=r"LinearAttention_2 \(LinearAttention\) is not "
                                            r"quantized.*v_scale=0\.5"):
        model.transform(InferLinearAttention())
    getCustomOp(model.graph.node[0]).set_nodeattr("v_scale", 1.0)
    (hw,) = model.transform(InferLinearAttention()).graph.node
    assert (hw.op_type, getCustomOp(hw).get_nodeattr("DH")) == ("HWLinearAttention", 2)


def test_illegal_folding_names_the_node() -> None:
    model = softmax_model(n=6, rows=[2], pe=4, idt="INT8", scale=0.5)
    with pytest.raises(LoweringError, match=r"HWIntSoftmax_0.*PE=4 does not divide N=6"):
        _only(model)
    model = linear_model(n=4, h=2, dh=3, simd=4, pe=1, dts=("INT4",) * 3, c=0.1)
    with pytest.raises(LoweringError, match=r"HWLinearAttention_0.*SIMD=4 does not divide d"):
        _only(model)


@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


def _sim(case: Case, simulator: str, root: Path) -> dict[str, Any]:
    """Run the case's cocotb bench; returns its result (cycles per frame)."""
    build = root / f"attn-{case.kernel}-{case.name}-{simulator}"
    build.mkdir(parents=True, exist_ok=True)
    model = case.build()
    _, k = _only(model)
    rng = np.random.default_rng(case.seed)
    frames = _frames(k, model, case.frames + 4, rng)
    expected = k.kernel.golden(k, frames)
    params: dict[str, object] = dict(k.params)
    for pname, mem in k.memories.items():
        path = build / f"{pname.lower()}{mem.file_suffix}"
        mem.write(path)
        params[pname] = sv_string(str(path))
    in_ports, out_ports = k.kernel.rtl_ports(k)

    def ports(prefixes: tuple[str, ...], fmts: Any, data: Any, kind: str,
              pause: tuple[float, ...]) -> list[dict[str, Any]]:
        specs = []
        for i, (prefix, fmt, x) in enumerate(zip(prefixes, fmts, data, strict=True)):
            np.save(build / f"{kind}{i}.npy", x)
            specs.append({"prefix": prefix, "elem_bits": fmt.elem_bits, "elems": fmt.elems,
                          "frames": str(build / f"{kind}{i}.npy"), "pause": pause[i]})
        return specs

    result = build / "result.json"
    result.unlink(missing_ok=True)
    tb = {
        "seed": case.seed, "stall_frames": case.frames, "result": str(result),
        "inputs": ports(in_ports, k.inputs, frames, "in", case.pauses[:len(in_ports)]),
        "outputs": ports(out_ports, k.outputs, expected, "out", case.pauses[len(in_ports):]),
    }
    run_cocotb(
        toplevel=k.module, sources=[rtl_dir() / p.name for p in module_sources([k.module])],
        parameters=params, test_module=f"rtl_sim.kernels.test_{case.kernel}",
        simulator=simulator, build_dir=build, extra_env={"CS_TB_CONFIG": json.dumps(tb)},
    )
    out: dict[str, Any] = json.loads(result.read_text())
    out["est_cycles"] = k.est_cycles
    return out


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), [
    pytest.param(c, sim, id=f"{c.name}-{sim}")
    for c in CASES for sim in (["icarus", "verilator"] if c.verilator else ["icarus"])
])
def test_rtl_kernel(case: Case, simulator: str, cache_root: Path) -> None:
    res = _sim(case, simulator, cache_root)
    est = res["est_cycles"]
    assert abs(res["cycles_per_frame"] - est) <= 0.05 * est, (
        f"{res['cycles_per_frame']:.1f} cycles per frame, the estimate is {est}"
    )
