"""The co-design flow as named, cached steps over one build directory.

train → export → lower (→ rtl → sim → synth as they land). Each step's summary is
stored in the manifest; ``results.json`` is assembled from those summaries.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from codesign.build import JSON, BuildDir
from codesign.config import FlowConfig, QuantConfig
from codesign.errors import ConfigError, VerificationError
from codesign.quant import bounds

STEPS = ("train", "export", "lower")


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
    from codesign.data import load_digits_split
    from codesign.models import build_model
    from codesign.quant.train import save_checkpoint, train_model

    split = load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed)
    runs: JSON = {}
    artefacts = []
    for run, quant in (("float", _float_twin(cfg.quant)), ("quant", cfg.quant)):
        if run == "quant" and cfg.quant.method == "float":
            runs["quant"] = runs["float"]
            continue
        model = build_model(cfg.model, quant)

        def report(epoch: int, loss: float, run: str = run) -> None:
            progress.epoch(run, epoch, cfg.train.epochs, loss)

        res = train_model(model, split, cfg.train, progress=report)
        ckpt = bd.path("train", f"{run}.pt")
        save_checkpoint(model, ckpt)
        runs[run] = {
            "method": quant.method,
            "test_accuracy": res.test_accuracy,
            "train_accuracy": res.train_accuracy,
            "seconds": round(res.seconds, 2),
            "checkpoint": str(ckpt.relative_to(bd.root)),
        }
        artefacts.append(runs[run]["checkpoint"])
    return {"runs": runs, "artefacts": artefacts}


def _load_quant_model(bd: BuildDir, cfg: FlowConfig) -> Any:
    from codesign.models import build_model
    from codesign.quant.train import load_checkpoint

    model = build_model(cfg.model, cfg.quant)
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
    # the per-channel float scale/bias after the last MVAU runs in another order than in
    # QONNX, so logits agree to float rounding; predictions must agree exactly
    bad = np.flatnonzero(want.argmax(-1) != got.argmax(-1))
    if bad.size or not np.allclose(want, got, rtol=1e-5, atol=1e-5):
        first = int(bad[0]) if bad.size else int(np.abs(want - got).max(axis=-1).argmax())
        raise VerificationError(
            f"lowered FINN graph differs from QONNX on test image {first}: "
            f"max |diff| {float(np.abs(want - got).max()):.3g}"
        )
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
        "layers": layers,
        "artefacts": rel,
    }


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
    }
    summaries: JSON = {}
    for name in STEPS:
        if name == "export" and cfg.quant.method == "float":
            break
        prog.step(name, "start")
        summary, cached = bd.run_step(name, step_fns[name])
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
    }
    if accuracy["float"] and accuracy["quantized"] is not None:
        accuracy["quantized_vs_float"] = accuracy["quantized"] / accuracy["float"]
    return {
        "name": cfg.name,
        "digest": cfg.digest(),
        "config": cfg.model_dump(mode="json"),
        "steps_run": list(s),
        "accuracy": accuracy,
        "export": s.get("export", {}).get("equivalence"),
        "layers": lower.get("layers", []),
    }
