"""The co-design flow as named, cached steps over one build directory.

train → export → lower (→ rtl → sim → synth as they land). Each step's summary is
stored in the manifest; ``results.json`` is assembled from those summaries.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from codesign.build import JSON, BuildDir
from codesign.config import FlowConfig, QuantConfig
from codesign.errors import ConfigError, VerificationError
from codesign.quant import bounds

STEPS = ("train", "export", "lower", "rtl", "sim", "overflow", "synth")


class Progress(Protocol):
    """What the flow reports while it runs (the CLI draws it; tests may ignore it)."""

    def step(self, name: str, status: str, seconds: float | None = None) -> None: ...

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None: ...


class _Silent:
    def step(self, name: str, status: str, seconds: float | None = None) -> None:
        pass

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None:
        pass


@dataclass(frozen=True)
class FlowResult:
    build_dir: Path
    results_path: Path
    results: JSON


def _float_twin(quant: QuantConfig) -> QuantConfig:
    return quant.model_copy(update={"method": "float", "acc_bits": None})


def _step_train(bd: BuildDir, cfg: FlowConfig, progress: Progress) -> JSON:
    from codesign.cache import cache_dir
    from codesign.data import load_digits_split
    from codesign.models import build_model
    from codesign.quant import train_cache
    from codesign.quant.train import save_checkpoint, train_model

    split = load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed)
    cache = cache_dir("train") if cfg.train.cache else None
    runs: JSON = {}
    artefacts = []
    for run, quant in (("float", _float_twin(cfg.quant)), ("quant", cfg.quant)):
        if run == "quant" and cfg.quant.method == "float":
            runs["quant"] = runs["float"]
            continue
        ckpt = bd.path("train", f"{run}.pt")
        key = train_cache.training_key(cfg.model, quant, cfg.train)
        if cache is not None and (hit := train_cache.fetch(cache, key, ckpt)) is not None:
            runs[run] = {**hit, "source": "cache"}
        else:
            model = build_model(cfg.model, quant, seed=cfg.train.seed)

            def report(epoch: int, loss: float, run: str = run) -> None:
                progress.epoch(run, epoch, cfg.train.epochs, loss)

            res = train_model(model, split, cfg.train, progress=report)
            save_checkpoint(model, ckpt)
            runs[run] = {
                "method": quant.method,
                "test_accuracy": res.test_accuracy,
                "train_accuracy": res.train_accuracy,
                "seconds": round(res.seconds, 2),
            }
            if cache is not None:
                train_cache.store(cache, key, ckpt, runs[run])
            runs[run]["source"] = "trained"
        runs[run]["checkpoint"] = str(ckpt.relative_to(bd.root))
        artefacts.append(runs[run]["checkpoint"])
    return {"runs": runs, "artefacts": artefacts}


def _load_quant_model(bd: BuildDir, cfg: FlowConfig) -> Any:
    from codesign.models import build_model
    from codesign.quant.train import load_checkpoint

    model = build_model(cfg.model, cfg.quant, seed=cfg.train.seed)
    load_checkpoint(model, bd.path("train", "quant.pt"))
    return model


def _step_export(bd: BuildDir, cfg: FlowConfig) -> JSON:
    from codesign.data import load_digits_split
    from codesign.export import check_equivalence, export_qonnx

    if cfg.quant.method == "float":
        raise ConfigError(
            "quant.method=float has no integer hardware path; use baseline, a2q or a2q_plus"
        )
    split = load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed)
    model = _load_quant_model(bd, cfg)
    onnx_path = bd.path("export", "model.onnx")
    export_qonnx(model, cfg.quant, split.x_test, onnx_path)
    report = check_equivalence(model, onnx_path, split.x_test, split.y_test)
    return {
        "onnx": str(onnx_path.relative_to(bd.root)),
        "equivalence": dataclasses.asdict(report),
        "artefacts": [str(onnx_path.relative_to(bd.root))],
    }


def _mvau_bounds(child: Any, node_name: str) -> JSON:
    """Accumulator widths of one MVAU, from the loosest bound to the tightest."""
    from qonnx.custom_op.registry import getCustomOp

    node = child.get_node_from_name(node_name)
    inst = getCustomOp(node)
    w = child.get_initializer(node.input[1]).astype(np.int64)
    idt = inst.get_input_datatype(0)
    wdt = inst.get_input_datatype(1)
    in_bits, in_signed = idt.bitwidth(), idt.signed()
    dtype_bits, _ = bounds.dtype_acc_bits(w.shape[0], in_bits, in_signed, wdt.bitwidth())
    weight_bits, _ = bounds.weight_acc_bits(w, in_bits, in_signed)
    l1 = float(np.abs(w).sum(axis=0).max())
    return {
        "acc_bits_dtype_bound": dtype_bits,
        "acc_bits_a2q_bound": bounds.a2q_min_acc_bits(l1, in_bits, in_signed),
        "acc_bits_weight_bound": weight_bits,
        "max_l1_norm": l1,
        "weight_sparsity": float((w == 0).mean()),
    }


def check_hw_graph(want: np.ndarray, got: np.ndarray) -> int:
    """Compare the lowered graph's outputs ``got`` with QONNX's ``want`` (images x
    logits); return how many images differ beyond float rounding.

    The per-channel float scale/bias after the last MVAU runs in another order than in
    QONNX, so logits agree to float rounding. Beyond that, an activation that lands
    exactly on a rounding tie is one step apart (QONNX rounds half to even, FINN's
    thresholds count x >= t): allowed on 1 % of the images (at least one), never changing
    a prediction. The accelerator is checked bit-exactly against FINN's graph, not QONNX.

    >>> want = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    >>> check_hw_graph(want, want + [[0, 0], [0, 0], [0, 0.02]])
    1
    >>> try:
    ...     check_hw_graph(want, want + [[0, 0], [0, 0], [5, 0]])
    ... except VerificationError as err:
    ...     print(str(err).split(" (")[0], "/", str(err).split("), ")[1].split(";")[0])
    lowered FINN graph differs from QONNX on 1 of 3 test images / 1 with another prediction
    """
    flipped = np.flatnonzero(want.argmax(-1) != got.argmax(-1))
    differing = np.flatnonzero(~np.isclose(want, got, rtol=1e-5, atol=1e-5).all(axis=-1))
    allowed = max(1, len(want) // 100)
    if flipped.size or differing.size > allowed:
        first = int(flipped[0]) if flipped.size else int(differing[0])
        raise VerificationError(
            f"lowered FINN graph differs from QONNX on {differing.size} of {len(want)} "
            f"test images (at most {allowed} may differ by a rounding tie), "
            f"{flipped.size} with another prediction; first: image {first}, "
            f"max |diff| {float(np.abs(want[first] - got[first]).max()):.3g}"
        )
    return int(differing.size)


def _step_lower(bd: BuildDir, cfg: FlowConfig) -> JSON:
    from codesign.data import load_digits_split
    from codesign.lower import execute_parent, layer_table, load_lowered, run_lower

    onnx_in = bd.path("export", "model.onnx")
    res = run_lower(onnx_in, cfg, bd.root)
    if res.dataflow is None:
        raise VerificationError("lowering produced no dataflow partition")
    parent = load_lowered(res.parent)
    child = load_lowered(res.dataflow)
    split = load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed)

    want = execute_parent(load_lowered(onnx_in), split.x_test)
    got = execute_parent(parent, split.x_test)
    differing = check_hw_graph(want, got)
    hw_acc = float((got.argmax(-1) == split.y_test).mean())

    layers = []
    for info in layer_table(child):
        row = info.as_dict()
        if info.op_type == "MVAU":
            row.update(_mvau_bounds(child, info.name))
            row["acc_bits_finn"] = info.acc_bits
            row["acc_bits_target"] = cfg.quant.acc_bits
        layers.append(row)
    rel = [str(p.relative_to(bd.root)) for p in (res.parent, res.dataflow)]
    return {
        "parent": rel[0],
        "dataflow": rel[1],
        "hw_graph_accuracy": hw_acc,
        "hw_graph_max_abs_diff": float(np.abs(want - got).max()),
        "hw_graph_images_differing": differing,
        "layers": layers,
        "artefacts": rel,
    }


def _lowered(bd: BuildDir, which: str) -> Any:
    """The lowered ``parent`` or ``dataflow`` model of a finished lower step."""
    from codesign.lower import load_lowered

    lower = bd.step_result("lower")
    if lower is None:
        raise VerificationError("the lower step has not finished")
    return load_lowered(bd.root / lower[which])


def _dataflow(bd: BuildDir) -> Any:
    return _lowered(bd, "dataflow")


def _squeeze_bits(cfg: FlowConfig) -> int | None:
    """P for a baseline squeezed to P-bit accumulators (which then wrap), else None."""
    if cfg.quant.method == "baseline" and cfg.quant.acc_bits is not None:
        return cfg.quant.acc_bits
    return None


def _finn_accelerator(bd: BuildDir, cfg: FlowConfig) -> Any:
    """The accelerator with the accumulator widths FINN chose."""
    from codesign.backends.accelerator import read_accelerator

    return read_accelerator(_dataflow(bd), name=cfg.name)


def _as_built(finn_acc: Any, cfg: FlowConfig) -> Any:
    """The accelerator as built: FINN's widths, or squeezed to P for a squeezed baseline."""
    from codesign.backends.accelerator import with_acc_bits

    bits = _squeeze_bits(cfg)
    return finn_acc if bits is None else with_acc_bits(finn_acc, bits)


def _step_rtl(bd: BuildDir, cfg: FlowConfig) -> JSON:
    from codesign.backends.reference import run_reference
    from codesign.backends.rtl import emit_rtl
    from codesign.backends.vectors import write_vectors
    from codesign.data import load_digits_split
    from codesign.lower import execute_dataflow, execute_host_tail

    child = _dataflow(bd)
    finn_acc = _finn_accelerator(bd, cfg)
    split = load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed)
    # our bit-accurate model of the kernels must agree with FINN's execution first
    finn_out = execute_dataflow(child, split.x_test).reshape(len(split.x_test), -1)
    y = run_reference(finn_acc, split.x_test)
    mismatch = np.flatnonzero((y != finn_out).any(axis=1))
    if mismatch.size:
        raise VerificationError(
            f"the kernel reference model differs from FINN's execution on test image "
            f"{int(mismatch[0])} ({mismatch.size} images)"
        )
    acc = _as_built(finn_acc, cfg)
    if acc is not finn_acc:
        y = run_reference(acc, split.x_test)
    logits = execute_host_tail(_lowered(bd, "parent"), y)
    project = emit_rtl(acc, bd.dir("rtl", "accel"))
    frames = cfg.sim.frames
    meta = write_vectors(acc, split.x_test[:frames], y[:frames], bd.dir("vectors"))
    artefacts = [project.top_file, project.filelist, *project.memories, meta]
    return {
        "top": project.top,
        "squeezed_acc_bits": _squeeze_bits(cfg),
        "accelerator_accuracy": float((logits.argmax(-1) == split.y_test).mean()),
        "outputs_differing_from_finn": int((y != finn_out).any(axis=1).sum()),
        "kernels": [
            {"node": k.node, "module": k.module, "params": k.params} for k in acc.kernels
        ],
        "est_ii_cycles": acc.est_ii,
        "words_per_frame": {"in": acc.words_in, "out": acc.words_out},
        "artefacts": [str(a.relative_to(bd.root)) for a in artefacts],
    }


def _step_overflow(bd: BuildDir, cfg: FlowConfig) -> JSON:
    """Drive every MVAU accumulator to its extremes in RTL simulation.

    Per output channel, the sign-aligned inputs (the largest input where the weight is
    positive, the smallest elsewhere, and the reverse) give the largest and smallest
    sum any input in the layer's input range can give. Each MVAU is simulated alone on
    those vectors; its overflow monitor must fire exactly when some exact extreme sum
    falls outside its accumulator, and its (possibly wrapped) outputs must equal the
    reference.
    """
    from codesign.backends.accelerator import Accelerator
    from codesign.backends.reference import run_reference
    from codesign.backends.rtl import emit_rtl
    from codesign.backends.vectors import write_vectors
    from codesign.junit import FILE as JUNIT
    from codesign.junit import record_case
    from codesign.sim import simulate_accelerator

    layers = []
    for k in _as_built(_finn_accelerator(bd, cfg), cfg).kernels:
        if k.module != "cs_mvau":
            continue
        p = k.params
        w = k.memories["WEIGHT_FILE"].values
        x_lo, x_hi = bounds.int_range(int(p["IN_BITS"]), bool(p["IN_SIGNED"]))
        lo_x, hi_x = bounds.extreme_inputs(w, x_lo, x_hi)
        acc_lo, acc_hi = bounds.int_range(int(p["ACC_BITS"]), bool(p["ACC_SIGNED"]))
        sum_lo, sum_hi = bounds.channel_acc_range(w, x_lo, x_hi)
        bad = (sum_hi > acc_hi) | (sum_lo < acc_lo)
        single = Accelerator(name=f"{cfg.name}_{k.node}", kernels=(k,))
        x = np.concatenate([hi_x, lo_x])
        work = bd.dir("overflow", k.instance_name)
        project = emit_rtl(single, work / "rtl")
        write_vectors(single, x, run_reference(single, x), work / "vectors")
        t0 = time.monotonic()
        try:
            report = simulate_accelerator(
                project, work / "vectors", work / "sim", simulator=cfg.sim.simulator,
                driver=cfg.sim.driver, in_pause=0.0, out_pause=0.0, ii_frames=min(len(x), 8),
            )
            flagged = report.ovf_flags[k.node]
            if flagged != bool(bad.any()):
                raise VerificationError(
                    f"{k.node}: the overflow monitor reads {flagged} but {int(bad.sum())} "
                    f"channels' extreme sums leave the {p['ACC_BITS']}-bit range"
                )
        except VerificationError as err:
            record_case(bd.root / JUNIT, "overflow_proof", k.node, str(err),
                        time.monotonic() - t0)
            raise
        record_case(bd.root / JUNIT, "overflow_proof", k.node, None, time.monotonic() - t0)
        layers.append({
            "name": k.node, "channels": int(w.shape[1]), "acc_bits": int(p["ACC_BITS"]),
            "overflowing_channels": int(bad.sum()), "rtl_overflow_flag": flagged,
            "extreme_sum_range": [int(sum_lo.min()), int(sum_hi.max())],
        })
    return {
        "layers": layers,
        "total": sum(layer["overflowing_channels"] for layer in layers),
        "simulator": cfg.sim.simulator,
    }


def _step_sim(bd: BuildDir, cfg: FlowConfig) -> JSON:
    from codesign.backends.rtl import load_rtl_project
    from codesign.junit import FILE as JUNIT
    from codesign.junit import record_case
    from codesign.sim import simulate_accelerator

    case = f"{cfg.sim.simulator}/{cfg.sim.driver}"
    t0 = time.monotonic()
    try:
        report = simulate_accelerator(
            load_rtl_project(bd.path("rtl", "accel")),
            bd.dir("vectors"),
            bd.dir("sim", cfg.sim.simulator),
            simulator=cfg.sim.simulator,
            driver=cfg.sim.driver,
            waves=cfg.sim.waves,
            seed=cfg.train.seed,
            in_pause=cfg.sim.backpressure,
            out_pause=cfg.sim.backpressure,
        )
        if report.ii_error > 0.05:
            raise VerificationError(
                f"measured II {report.ii_cycles} cycles differs from FINN's estimate "
                f"{report.est_ii_cycles} by {report.ii_error:.1%} (> 5%)"
            )
    except VerificationError as err:
        record_case(bd.root / JUNIT, "stream_verification", case, str(err),
                    time.monotonic() - t0)
        raise
    record_case(bd.root / JUNIT, "stream_verification", case, None, time.monotonic() - t0)
    return {
        "verification": {**report.to_json(), "backpressure": cfg.sim.backpressure},
        "cycles": {
            "ii_measured": report.ii_cycles,
            "ii_estimated": report.est_ii_cycles,
            "ii_error": report.ii_error,
            "latency_measured": report.latency_cycles,
        },
        "artefacts": [str(report.report_path.relative_to(bd.root))],
    }


def _step_synth(bd: BuildDir, cfg: FlowConfig) -> JSON:
    """Per-kernel out-of-context Yosys runs (parallel, cached), summed per design."""
    from codesign.backends.accelerator import with_acc_bits
    from codesign.boards import get_board
    from codesign.cache import cache_dir
    from codesign.synth.kernels import synthesize_accelerators

    finn_acc = _finn_accelerator(bd, cfg)
    designs = {"accelerator": _as_built(finn_acc, cfg)}
    if cfg.synth.compare_acc_bits is not None:
        bits = cfg.synth.compare_acc_bits
        designs[f"acc{bits}"] = with_acc_bits(finn_acc, bits)
    out = bd.path("synth")
    shutil.rmtree(out, ignore_errors=True)  # an earlier key's runs must not read as ours
    out.mkdir()
    resources = synthesize_accelerators(
        designs, get_board(cfg.board), out,
        cache_dir=cache_dir("synth") if cfg.synth.cache else None,
    )
    # results.json gets the outcome; resources.json also the run's timing and cache use
    record = {"board": cfg.board, **{k: r.to_json(timing=True) for k, r in resources.items()}}
    (out / "resources.json").write_text(json.dumps(record, indent=2) + "\n")
    result: JSON = {"board": cfg.board, **{k: r.to_json() for k, r in resources.items()}}
    result["artefacts"] = ["synth/resources.json"]
    return result


def _step_key(cfg: FlowConfig, step: str) -> Any:
    """What a step's result depends on beyond the design digest: its settings and, from
    rtl on, the kernel library the design is built from."""
    from codesign.backends.rtl import library_digest

    if step in ("rtl", "sim", "overflow"):
        return {"sim": cfg.sim.model_dump(mode="json"), "rtl_library": library_digest()}
    if step == "synth":
        return {"synth": cfg.synth.model_dump(mode="json"), "rtl_library": library_digest()}
    return None


def run_flow(
    cfg: FlowConfig,
    out: Path,
    progress: Progress | None = None,
    until: str | None = None,
) -> FlowResult:
    """Run the flow's steps in order (up to and including ``until``) in build dir ``out``."""
    if until is not None and until not in STEPS:
        raise ConfigError(f"unknown step {until!r}; steps are: {', '.join(STEPS)}")
    prog = progress or _Silent()
    bd = BuildDir(out, cfg)
    step_fns: dict[str, Callable[[], JSON]] = {
        "train": lambda: _step_train(bd, cfg, prog),
        "export": lambda: _step_export(bd, cfg),
        "lower": lambda: _step_lower(bd, cfg),
        "rtl": lambda: _step_rtl(bd, cfg),
        "sim": lambda: _step_sim(bd, cfg),
        "overflow": lambda: _step_overflow(bd, cfg),
        "synth": lambda: _step_synth(bd, cfg),
    }
    summaries: JSON = {}
    for name in STEPS:
        if name == "export" and cfg.quant.method == "float":
            break
        if name == "synth" and not cfg.synth.enabled:
            break
        prog.step(name, "start")
        summary, cached = bd.run_step(name, step_fns[name], key=_step_key(cfg, name))
        rec = bd.manifest["steps"][name]
        prog.step(name, "cached" if cached else "done", rec.get("seconds"))
        summaries[name] = summary
        if name == until:
            break
    results = _assemble_results(cfg, summaries)
    path = bd.finish(results)
    return FlowResult(build_dir=bd.root, results_path=path, results=results)


def _assemble_results(cfg: FlowConfig, s: JSON) -> JSON:
    runs = s.get("train", {}).get("runs", {})
    lower = s.get("lower", {})
    accuracy = {
        "float": runs.get("float", {}).get("test_accuracy"),
        "quantized": runs.get("quant", {}).get("test_accuracy"),
        "hw_graph": lower.get("hw_graph_accuracy"),
        "accelerator": s.get("rtl", {}).get("accelerator_accuracy"),
    }
    if accuracy["float"] and accuracy["quantized"] is not None:
        accuracy["quantized_vs_float"] = accuracy["quantized"] / accuracy["float"]
    return {
        "name": cfg.name,
        "digest": cfg.digest(),
        "design_digest": cfg.design_digest(),
        "config": cfg.model_dump(mode="json"),
        "steps_run": list(s),
        "accuracy": accuracy,
        "export": s.get("export", {}).get("equivalence"),
        "layers": lower.get("layers", []),
        "verification": s.get("sim", {}).get("verification"),
        "cycles": s.get("sim", {}).get("cycles"),
        "overflow": s.get("overflow"),
        "resources": {k: v for k, v in s.get("synth", {}).items() if k != "artefacts"} or None,
    }
