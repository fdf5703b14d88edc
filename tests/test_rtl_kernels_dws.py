"""Kernels of depthwise-separable and residual CNNs: VVAU, DuplicateStreams (the residual
join, ElementwiseAdd, is in tests/test_rtl_kernels_eltwise.py).

Every case builds a single-node FINN model (as FINN's own tests do), reads it with the
kernel registry and proves the golden function against FINN's Python execution of the
node; the cocotb run (rtl_sim.kernels.test_<kernel>) then streams random frames (and, for
the VVAU, the overflow probe) through the RTL under random valid/ready stalls on every
port and checks every output word against the golden function, the sticky ovf flag, and
the stall-free cycles per frame against FINN's get_exp_cycles(). Icarus runs every case,
Verilator (~25 s per build, cached) one per kernel.
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

from codesign import bounds
from codesign.backends.rtl import module_sources
from codesign.dataflow.kernels import KernelInstance, kernel_for
from codesign.dataflow.kernels.vvau import from_im2col, vvau_overflows
from codesign.errors import LoweringError
from codesign.verify.simulators import rtl_dir, run_cocotb, sv_string

FINN_DOMAIN = "finn.custom_op.fpgadataflow"


# --------------------------------------------------------------------------- FINN nodes
def _model(nodes: list[Any], inputs: dict[str, list[int]], outputs: dict[str, list[int]],
           ) -> ModelWrapper:
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs.items()]
    vo = [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in outputs.items()]
    graph = helper.make_graph(nodes, "dws", vi, vo)
    return ModelWrapper(qonnx_make_model(graph, producer_name="codesign-test"))


def vvau_model(seed: int, *, c: int, k: tuple[int, int], dim: tuple[int, int], pe: int,
               simd: int, idt: str, wdt: str, n_thres: int = 0, act_bias: int = 0,
               nonneg_w: bool = False, shared_thr: bool = False,
               res_type: str = "auto") -> ModelWrapper:
    """One generic VVAU node, weights (C, 1, k_h, k_w) as FINN stores them, thresholds
    (C, n_thres) spread over (and a little beyond) each channel's accumulator range (one
    row for all channels with ``shared_thr``), and FINN's MinimizeAccumulatorWidth for
    accDataType; ``res_type`` is FINN's resType (``lut``: products in LUTs)."""
    from finn.transformation.fpgadataflow.minimize_accumulator_width import (
        MinimizeAccumulatorWidth,
    )

    rng = np.random.default_rng(seed)
    in_t, w_t = DataType[idt], DataType[wdt]
    (k_h, k_w), (h, w) = k, dim
    weights = rng.integers(0 if nonneg_w else w_t.min(), w_t.max() + 1, size=(c, 1, k_h, k_w))
    odt = "INT32"  # no activation: MinimizeAccumulatorWidth sets it
    if n_thres:  # the smallest type holding act_bias .. act_bias + n_thres
        top = act_bias + n_thres
        odt = (f"INT{max(top.bit_length(), (-act_bias - 1).bit_length()) + 1}" if act_bias < 0
               else f"UINT{max(1, top.bit_length())}")
    node = helper.make_node(
        "VVAU", ["inp", "weights"] + (["thresh"] if n_thres else []), ["outp"],
        name="VVAU_0", domain=FINN_DOMAIN, backend="fpgadataflow", PE=pe, SIMD=simd,
        Dim=[h, w], Channels=c, Kernel=[k_h, k_w], inputDataType=idt, weightDataType=wdt,
        outputDataType=odt, ActVal=act_bias, noActivation=int(n_thres == 0),
        resType=res_type,
    )
    model = _model([node], {"inp": [1, h, w, k_h * k_w * c]}, {"outp": [1, h, w, c]})
    model.set_tensor_datatype("inp", in_t)
    model.set_initializer("weights", weights.astype(np.float32))
    model.set_tensor_datatype("weights", w_t)
    if n_thres:
        lo, hi = bounds.channel_acc_range(weights.reshape(c, -1).T, in_t.min(), in_t.max())
        thr = np.sort(np.stack([rng.integers(a - 2, b + 3, size=n_thres)
                                for a, b in zip(lo, hi, strict=True)]), axis=1)
        if shared_thr:
            thr = thr[:1]
        model.set_initializer("thresh", thr.astype(np.float32))
        model.set_tensor_datatype("thresh", DataType["INT32"])
    model.set_tensor_datatype("outp", DataType[odt])
    return model.transform(MinimizeAccumulatorWidth())


def dup_model(*, c: int, pe: int, n_out: int, idt: str, vecs: list[int]) -> ModelWrapper:
    outs = [f"out{i}" for i in range(n_out)]
    node = helper.make_node(
        "DuplicateStreams", ["inp"], outs, name="DuplicateStreams_0", domain=FINN_DOMAIN,
        backend="fpgadataflow", NumChannels=c, PE=pe, NumOutputStreams=n_out,
        inputDataType=idt, numInputVectors=vecs,
    )
    model = _model([node], {"inp": [*vecs, c]}, {o: [*vecs, c] for o in outs})
    model.set_tensor_datatype("inp", DataType[idt])
    return model


def _only_node(model: ModelWrapper) -> tuple[Any, KernelInstance]:
    (node,) = model.graph.node
    return node, kernel_for(node).read(model, node)


def _random_frames(k: KernelInstance, model: ModelWrapper, node: Any, n: int,
                   rng: np.random.Generator) -> list[np.ndarray]:
    """``n`` random frames per streamed input, over each input's whole data type."""
    out = []
    for name in node.input:
        if model.get_initializer(name) is not None:
            continue
        dt = model.get_tensor_datatype(name)
        values = int(np.prod(model.get_tensor_shape(name)))
        out.append(rng.integers(dt.min(), dt.max() + 1, size=(n, values)))
    assert len(out) == len(k.inputs)
    return out


def _finn_outputs(model: ModelWrapper, node: Any, frames: list[np.ndarray]) -> list[np.ndarray]:
    """FINN's Python execution of the node, frame by frame: one (frames, values) array
    per output."""
    names = [n for n in node.input if model.get_initializer(n) is None]
    rows: list[list[np.ndarray]] = [[] for _ in node.output]
    for f in range(len(frames[0])):
        ctx = {n: x[f].reshape(model.get_tensor_shape(n)).astype(np.float32)
               for n, x in zip(names, frames, strict=True)}
        res = execute_onnx(model, ctx)
        for i, o in enumerate(node.output):
            rows[i].append(res[o].reshape(-1))
    return [np.rint(np.stack(r)).astype(np.int64) for r in rows]


# --------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """One kernel parameter set: the FINN node, testbench settings."""

    kernel: str  # testbench module suffix (rtl_sim.kernels.test_<kernel>)
    name: str
    files: tuple[str, ...]  # rtl/ sources, dependencies first
    build: Callable[[], ModelWrapper]
    seed: int
    pauses: tuple[float, ...] = ()  # per port, inputs then outputs; default 0.3 / 0.4
    squeeze: int = 0  # accumulator bits below FINN's (VVAU): it must wrap and flag ovf
    verilator: bool = False
    frames: int = 3  # random frames under stalls (the overflow probe comes on top)
    finn_exact: bool = True  # False: a data type narrower than FINN's (FINN does not wrap)


VVAU_FILES = tuple(p.name for p in module_sources(["cs_vvau"]))
DUP_FILES = tuple(p.name for p in module_sources(["cs_duplicate_streams"]))


def _vvau(name: str, seed: int, squeeze: int = 0, verilator: bool = False,
          **kw: Any) -> Case:
    return Case("vvau", name, VVAU_FILES, lambda: vvau_model(seed, **kw), seed,
                squeeze=squeeze, verilator=verilator)


VVAU_CASES = [
    # 3x3 kernel, PE and SIMD folded, 15 thresholds (4-bit activations)
    _vvau("c4-k3-pe2-simd3-u4-t15", 51, c=4, k=(3, 3), dim=(3, 3), pe=2, simd=3,
          idt="UINT4", wdt="INT4", n_thres=15),
    # whole window per cycle, signed input, no activation (output rounded up to bytes)
    _vvau("c6-k3-pe3-simd9-s8-noact", 52, c=6, k=(3, 3), dim=(2, 3), pe=3, simd=9,
          idt="INT8", wdt="INT3"),
    # non-square kernel, fully folded, squeezed accumulator with thresholds, ActVal < 0
    _vvau("c4-k2x3-pe1-simd1-squeeze-t3", 53, squeeze=4, c=4, k=(2, 3), dim=(2, 2), pe=1,
          simd=1, idt="UINT4", wdt="INT4", n_thres=3, act_bias=-1),
    # unsigned accumulator (non-negative weights, unsigned input), PE = C (NF = 1), one
    # threshold row shared by all channels
    _vvau("c4-k1x3-pe4-simd1-uacc-t7", 54, c=4, k=(1, 3), dim=(2, 2), pe=4, simd=1,
          idt="UINT3", wdt="UINT3", n_thres=7, nonneg_w=True, shared_thr=True),
    # products in LUTs (resType lut), signed input, squeezed so it wraps, thresholds
    _vvau("lut-c4-k3-pe2-simd3-s5-t7-squeeze", 59, squeeze=2, c=4, k=(3, 3), dim=(2, 2),
          pe=2, simd=3, idt="INT5", wdt="INT4", n_thres=7, act_bias=-3, res_type="lut"),
    # 8-bit activations: 255 thresholds (8 search stages), squeezed so it wraps
    _vvau("c8-k3-pe4-simd3-s8-t255-squeeze", 55, squeeze=3, verilator=True, c=8, k=(3, 3),
          dim=(2, 2), pe=4, simd=3, idt="INT8", wdt="INT4", n_thres=255, act_bias=-128),
]

DUP_CASES = [
    Case("duplicate_streams", "n2-c8-pe2-s4", DUP_FILES,
         lambda: dup_model(c=8, pe=2, n_out=2, idt="INT4", vecs=[1, 3, 3]), 61,
         verilator=True),
    # one slow consumer beside two fast ones
    Case("duplicate_streams", "n3-c3-pe1-u8-slow", DUP_FILES,
         lambda: dup_model(c=3, pe=1, n_out=3, idt="UINT8", vecs=[1, 4, 4]), 62,
         pauses=(0.2, 0.1, 0.7, 0.1)),
    # four outputs, 2-bit elements (pad bits in every word)
    Case("duplicate_streams", "n4-c8-pe4-u2", DUP_FILES,
         lambda: dup_model(c=8, pe=4, n_out=4, idt="UINT2", vecs=[1, 2, 5]), 63,
         pauses=(0.3, 0.5, 0.2, 0.4, 0.3)),
]

ALL_CASES = VVAU_CASES + DUP_CASES


def _sim_params(cases: list[Case]) -> list[Any]:
    out = []
    for c in cases:
        for sim in ["icarus", "verilator"] if c.verilator else ["icarus"]:
            out.append(pytest.param(c, sim, id=f"{c.kernel}-{c.name}-{sim}"))
    return out


# --------------------------------------------------------------------------- goldens
@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.kernel}-{c.name}")
                                  for c in ALL_CASES if c.finn_exact])
def test_golden_matches_finn(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel's golden function on the KernelInstance it reads equals FINN's own
    execution of the generic node (with FINN's data types nothing wraps).

    A lone VVAU reads the hardware's PE-interleaved stream order: FINN's own execution,
    not codesign.dataflow.lower's compatibility wrapper (which reads the Python Im2Col order for
    graphs executed in Python), whichever test imported codesign.dataflow.lower first."""
    from finn.custom_op.fpgadataflow.vectorvectoractivation import VVAU

    native = getattr(VVAU.execute_node, "__wrapped__", VVAU.execute_node)
    monkeypatch.setattr(VVAU, "execute_node", native)
    model = case.build()
    node, k = _only_node(model)
    frames = _random_frames(k, model, node, 4, np.random.default_rng(case.seed))
    want = _finn_outputs(model, node, frames)
    got = k.kernel.golden(k, frames)
    assert len(got) == len(want) == len(k.outputs)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_vvau_overflow_probe_reaches_acc_bounds() -> None:
    """The probe frames drive every channel's accumulator to its weight-aware limits
    (what MinimizeAccumulatorWidth sizes accDataType by), and no further: at that width
    the overflow monitor stays low, one bit narrower it fires."""
    model = vvau_model(56, c=6, k=(3, 3), dim=(2, 2), pe=3, simd=3, idt="INT4", wdt="INT5")
    _, k = _only_node(model)
    kern = k.kernel
    probe = kern.overflow_probe(k)
    acc = kern.accumulator(k)
    assert acc is not None
    x_lo, x_hi = bounds.int_range(acc.in_bits, acc.in_signed)
    lo, hi = bounds.channel_acc_range(acc.weights, x_lo, x_hi)
    sums = kern.golden(kern.with_acc_bits(k, 40), [probe])[0].reshape(-1, acc.channels)
    np.testing.assert_array_equal(sums.max(axis=0), hi)
    np.testing.assert_array_equal(sums.min(axis=0), lo)
    bits, signed = bounds.weight_acc_bits(acc.weights, acc.in_bits, acc.in_signed)
    pixels = probe.reshape(-1, 9 * 6)
    assert not vvau_overflows(pixels, acc.weights, 3, 3, bits, signed)
    assert vvau_overflows(pixels, acc.weights, 3, 3, bits - 1, signed)


@pytest.mark.parametrize("pe", [1, 2, 4])
def test_vvau_after_depthwise_swg(pe: int) -> None:
    """Behind a depthwise ConvolutionInputGenerator: the generator's im2col output (FINN's
    Python execution) put into the depthwise stream order for PE (from_im2col: what the
    generator with SIMD = PE streams in hardware) gives, through the golden function,
    FINN's VVAU result and a direct depthwise convolution of the image."""
    c, k, ifm, ofm = 4, 3, 4, 2
    vvau_m = vvau_model(58, c=c, k=(k, k), dim=(ofm, ofm), pe=pe, simd=3, idt="UINT4",
                        wdt="INT4")
    vnode = vvau_m.graph.node[0]
    swg = helper.make_node(
        "ConvolutionInputGenerator", ["img"], ["inp"], name="SWG_0", domain=FINN_DOMAIN,
        backend="fpgadataflow", ConvKernelDim=[k, k], IFMChannels=c, IFMDim=[ifm, ifm],
        OFMDim=[ofm, ofm], SIMD=pe, Stride=[1, 1], Dilation=[1, 1], inputDataType="UINT4",
        outputDataType="UINT4", depthwise=1,
    )
    model = _model([swg, vnode], {"img": [1, ifm, ifm, c]}, {"outp": [1, ofm, ofm, c]})
    for name in ("img", "inp"):
        model.set_tensor_datatype(name, DataType["UINT4"])
    for name in vnode.input[1:]:
        model.set_initializer(name, vvau_m.get_initializer(name))
    model.set_tensor_datatype("outp", vvau_m.get_tensor_datatype("outp"))
    model.graph.value_info.append(
        helper.make_tensor_value_info("inp", TensorProto.FLOAT, [1, ofm, ofm, k * k * c]))
    img = np.random.default_rng(pe).integers(0, 16, size=(1, ifm, ifm, c))
    ctx = execute_onnx(model, {"img": img.astype(np.float32)}, return_full_exec_context=True)
    im2col = np.rint(ctx["inp"]).astype(np.int64).reshape(ofm * ofm, k * k * c)

    _, inst = _only_node(vvau_m)
    stream = from_im2col(im2col, k * k, pe).reshape(1, -1)
    (got,) = inst.kernel.golden(inst, [stream])
    np.testing.assert_array_equal(got, np.rint(ctx["outp"]).reshape(1, -1))
    w = vvau_m.get_initializer("weights")[:, 0]  # (C, k, k)
    direct = np.einsum("yxijc,cij->yxc", np.stack([np.stack(
        [img[0, y:y + k, x:x + k] for x in range(ofm)]) for y in range(ofm)]), w)
    np.testing.assert_array_equal(got, direct.reshape(1, -1))


def test_refusals_name_the_node() -> None:
    model = vvau_model(57, c=4, k=(3, 3), dim=(1, 1), pe=2, simd=1, idt="UINT4", wdt="INT4")
    node = model.graph.node[0]
    getCustomOp(node).set_nodeattr("SIMD", 2)
    with pytest.raises(LoweringError, match=r"VVAU_0.*SIMD=2 does not divide k_h\*k_w=9.*1, 3, 9"):
        kernel_for(node).read(model, node)
    model = dup_model(c=4, pe=1, n_out=5, idt="UINT4", vecs=[1, 2])
    with pytest.raises(LoweringError, match=r"DuplicateStreams_0.*NumOutputStreams=5.*1\.\.4"):
        kernel_for(model.graph.node[0]).read(model, model.graph.node[0])


# --------------------------------------------------------------------------- RTL
@pytest.fixture(scope="session")
def cache_root(request: pytest.FixtureRequest) -> Path:
    return Path(request.config.cache.mkdir("rtl_sim"))


def _sim(case: Case, simulator: str, root: Path) -> dict[str, Any]:
    """Run the case's cocotb bench; returns the bench's result (cycles per frame, ovf)."""
    build = root / f"dws-{case.kernel}-{case.name}-{simulator}"
    build.mkdir(parents=True, exist_ok=True)
    model = case.build()
    node, k = _only_node(model)
    kern = k.kernel
    rng = np.random.default_rng(case.seed)
    if case.squeeze:
        k = kern.with_acc_bits(k, int(k.params["ACC_BITS"]) - case.squeeze)
    stalled = _random_frames(k, model, node, case.frames, rng)
    if k.has_ovf:
        stalled = [np.concatenate([stalled[0], kern.overflow_probe(k)])]
    timed = _random_frames(k, model, node, 4, rng)
    frames = [np.concatenate([s, t]) for s, t in zip(stalled, timed, strict=True)]
    expected = kern.golden(k, frames)

    params: dict[str, object] = dict(k.params)
    for pname, mem in k.memories.items():
        path = build / f"{pname.lower()}{mem.file_suffix}"
        mem.write(path)
        params[pname] = sv_string(str(path))
    in_ports, out_ports = kern.rtl_ports(k)
    pauses = case.pauses or (0.3,) * len(in_ports) + (0.4,) * len(out_ports)

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
    tb: dict[str, Any] = {
        "seed": case.seed, "stall_frames": len(stalled[0]), "result": str(result),
        "inputs": ports(in_ports, k.inputs, frames, "in", pauses[:len(in_ports)]),
        "outputs": ports(out_ports, k.outputs, expected, "out", pauses[len(in_ports):]),
    }
    if k.has_ovf:
        p = k.params
        tb["expect_ovf"] = vvau_overflows(
            frames[0].reshape(-1, int(p["K2"]) * int(p["C"])),
            k.memories["WEIGHT_FILE"].values, int(p["PE"]), int(p["SIMD"]),
            int(p["ACC_BITS"]), bool(p["ACC_SIGNED"]))
        assert tb["expect_ovf"] == bool(case.squeeze), "test setup: overflow not as intended"
    run_cocotb(
        toplevel=k.module, sources=[rtl_dir() / f for f in case.files], parameters=params,
        test_module=f"rtl_sim.kernels.test_{case.kernel}", simulator=simulator,
        build_dir=build, extra_env={"CS_TB_CONFIG": json.dumps(tb)},
    )
    out: dict[str, Any] = json.loads(result.read_text())
    out["est_cycles"] = k.est_cycles
    return out


@pytest.mark.sim
@pytest.mark.parametrize(("case", "simulator"), _sim_params(ALL_CASES))
def test_rtl_kernel(case: Case, simulator: str, cache_root: Path) -> None:
    res = _sim(case, simulator, cache_root)
    est = res["est_cycles"]
    assert abs(res["cycles_per_frame"] - est) <= 0.05 * est, (
        f"{res['cycles_per_frame']:.1f} cycles per frame, FINN estimates {est}"
    )
