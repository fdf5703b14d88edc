"""The co-design flow as named, cached steps over one build directory.

A front end gives the lowering its QONNX graph and test set: a built-in model is trained
and exported (train → export, on digits); a user's ONNX file is checked and imported
with its npz test set (import); a user's Brevitas factory is built, trained on its npz
training set unless a checkpoint is given, and exported (train → export). Then lower →
fifos → rtl → sim → overflow → synth → csim. Each step's summary is stored in the
manifest; ``results.json`` is assembled from those summaries.

Backends (``run_flow(backend=...)``): ``rtl`` runs the RTL steps (sim, overflow, synth),
``hls`` the HLS C-simulation (csim) instead, ``both`` all of them; lower, fifos and rtl
(which writes the test vectors both verify against) run for every backend. csim comes
last, so that adding the HLS backend to a finished RTL build redoes nothing of it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from codesign import bounds
from codesign.config import (
    AnyModelConfig,
    BrevitasModelConfig,
    FlowConfig,
    NpzData,
    OnnxModelConfig,
    QuantConfig,
)
from codesign.errors import ConfigError, VerificationError
from codesign.flow.build import JSON, BuildDir

if TYPE_CHECKING:
    from codesign.dataflow.graph import StreamGraph
    from codesign.dataflow.kernels import Accumulator
    from codesign.frontend.data import DigitsSplit, EvalSet, UserSplit
    from codesign.synth.vivado import VivadoBuild

STEPS = ("train", "export", "import", "lower", "fifos", "rtl", "sim", "overflow", "synth",
         "csim")
BACKENDS = ("rtl", "hls", "both")
BACKEND_STEPS = {"rtl": ("sim", "overflow", "synth"), "hls": ("csim",)}
"""The steps only one backend runs."""
FRONT_ENDS = {
    "builtin": ("train", "export"),
    "onnx": ("import",),
    "brevitas": ("train", "export"),
    "brevitas_checkpoint": ("export",),
}
"""The steps that give the lowering its graph, per kind of model (a Brevitas factory
with a checkpoint is not trained)."""
IMPORT_DIR = "import"
EXPORT_DIR = "export"
USER_CHECKPOINT = "model.pt"
"""Where the train step of a Brevitas factory saves its checkpoint (under train/)."""
SIZING_FRAMES = 8
"""Frames streamed at full rate to size the FIFOs (the pipeline reaches steady state)."""


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
    if isinstance(cfg.model, BrevitasModelConfig):
        return _step_train_user(bd, cfg, cfg.model, progress)
    from codesign.cache import cache_dir, entry_lock
    from codesign.frontend.models import build_model
    from codesign.frontend.quant import train_cache
    from codesign.frontend.quant.train import save_checkpoint, train_model

    split = _digits(cfg)
    cache = cache_dir("train") if cfg.train.cache else None
    runs: JSON = {}
    artefacts = []
    for run, quant in (("float", _float_twin(cfg.quant)), ("quant", cfg.quant)):
        if run == "quant" and cfg.quant.method == "float":
            runs["quant"] = runs["float"]
            continue
        ckpt = bd.path("train", f"{run}.pt")
        key = train_cache.training_key(_builtin(cfg), quant, cfg.train)
        # sweep points that train the same model at once: the others wait for the first
        # one's cache entry instead of training it beside it
        with entry_lock(cache, key) if cache is not None else contextlib.nullcontext():
            if cache is not None and (hit := train_cache.fetch(cache, key, ckpt)) is not None:
                runs[run] = {**hit, "source": "cache"}
            else:
                model = build_model(_builtin(cfg), quant, seed=cfg.train.seed)

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


def _user_split(cfg: FlowConfig, model: BrevitasModelConfig) -> UserSplit:
    """The factory's training set (``data.train``: labels required) and test set."""
    from codesign.errors import DataFileError
    from codesign.frontend.data import UserSplit

    assert isinstance(cfg.data, NpzData) and cfg.data.train is not None
    train = _user_npz(cfg.data.train, cfg, model)
    if train.y is None:
        raise DataFileError(
            f"{cfg.data.train}: data.train has no labels y; training needs x and y"
        )
    test = _user_npz(cfg.data.path, cfg, model)
    return UserSplit(train.x, train.y, test.x, test.y)


def _user_npz(path: Path, cfg: FlowConfig, model: BrevitasModelConfig) -> EvalSet:
    """An npz set of the factory's module, checked against model.input_shape and the
    values of data.input_type."""
    from qonnx.core.datatype import DataType

    from codesign.frontend.data import load_npz
    from codesign.frontend.onnx_import import check_input_values

    assert isinstance(cfg.data, NpzData) and cfg.data.input_type is not None
    data = load_npz(path, tuple(model.input_shape), input_name="model.input_shape")
    check_input_values(data, DataType[cfg.data.input_type], path)
    return data


def _step_train_user(
    bd: BuildDir, cfg: FlowConfig, model_cfg: BrevitasModelConfig, progress: Progress
) -> JSON:
    """Train the factory's module on data.train with codesign's training loop (seeded,
    deterministic) and save its state dict in the build directory."""
    from codesign.frontend.models.user import build_user_model
    from codesign.frontend.quant.train import save_checkpoint, train_model

    split = _user_split(cfg, model_cfg)
    model = build_user_model(model_cfg, seed=cfg.train.seed)

    def report(epoch: int, loss: float) -> None:
        progress.epoch("quant", epoch, cfg.train.epochs, loss)

    res = train_model(model, split, cfg.train, progress=report)
    ckpt = bd.path("train", USER_CHECKPOINT)
    save_checkpoint(model, ckpt)
    rel = str(ckpt.relative_to(bd.root))
    run = {
        "method": "user",
        "test_accuracy": res.test_accuracy,
        "train_accuracy": res.train_accuracy,
        "seconds": round(res.seconds, 2),
        "source": "trained",
        "checkpoint": rel,
    }
    return {"runs": {"quant": run}, "artefacts": [rel]}


def _step_export_user(bd: BuildDir, cfg: FlowConfig, model_cfg: BrevitasModelConfig) -> JSON:
    """Build the factory's module, load its checkpoint (the user's, or the train step's),
    export it with the flow's own checks and store the checked test set beside it."""
    from codesign.frontend.data import save_npz
    from codesign.frontend.export import check_equivalence, export_graph
    from codesign.frontend.models.user import build_user_model, load_user_checkpoint, locate_module

    assert isinstance(cfg.data, NpzData) and cfg.data.input_type is not None
    test = _user_npz(cfg.data.path, cfg, model_cfg)
    model = build_user_model(model_cfg, seed=cfg.train.seed)
    if model_cfg.checkpoint is not None:
        ckpt, key = model_cfg.checkpoint, "model.checkpoint"
    else:
        ckpt, key = bd.path("train", USER_CHECKPOINT), "the train step's checkpoint"
    load_user_checkpoint(model, ckpt, key)
    _user_forward(model, model_cfg, test.x[:2])
    onnx_path = bd.path(EXPORT_DIR, "model.onnx")
    res = export_graph(model, cfg.data.input_type, test.x, onnx_path)
    report = check_equivalence(model, onnx_path, test.x, test.y)
    test_path = bd.path(EXPORT_DIR, "test.npz")
    save_npz(test_path, test)
    rel = [str(p.relative_to(bd.root)) for p in (onnx_path, test_path)]
    return {
        "onnx": rel[0],
        "test_set": rel[1],
        "factory": {"factory": model_cfg.factory, "source": str(locate_module(model_cfg))},
        "checkpoint": str(ckpt),
        "fixed_weight_quants": list(res.fixed_weight_quants),
        "equivalence": dataclasses.asdict(report),
        "artefacts": rel,
    }


def _user_forward(model: Any, model_cfg: BrevitasModelConfig, x: np.ndarray) -> None:
    """One eval forward on test inputs, so a module that does not take model.input_shape
    fails with a message naming it rather than deep in the export."""
    import torch

    model.eval()
    try:
        with torch.no_grad():
            model(torch.from_numpy(x))
    except Exception as err:
        raise ConfigError(
            f"model.input_shape {model_cfg.input_shape}: the module of model.factory "
            f"{model_cfg.factory!r} fails on a batch of shape {tuple(x.shape)}: "
            f"{type(err).__name__}: {err}"
        ) from err


def _load_quant_model(bd: BuildDir, cfg: FlowConfig) -> Any:
    from codesign.frontend.models import build_model
    from codesign.frontend.quant.train import load_checkpoint

    model = build_model(_builtin(cfg), cfg.quant, seed=cfg.train.seed)
    load_checkpoint(model, bd.path("train", "quant.pt"))
    return model


def _step_export(bd: BuildDir, cfg: FlowConfig) -> JSON:
    from codesign.frontend.export import check_equivalence, export_qonnx

    if isinstance(cfg.model, BrevitasModelConfig):
        return _step_export_user(bd, cfg, cfg.model)
    if cfg.quant.method == "float":
        raise ConfigError(
            "quant.method=float has no integer hardware path; use baseline, a2q or a2q_plus"
        )
    split = _digits(cfg)
    model = _load_quant_model(bd, cfg)
    onnx_path = bd.path("export", "model.onnx")
    export_qonnx(model, cfg.quant, split.x_test, onnx_path)
    report = check_equivalence(model, onnx_path, split.x_test, split.y_test)
    return {
        "onnx": str(onnx_path.relative_to(bd.root)),
        "equivalence": dataclasses.asdict(report),
        "artefacts": [str(onnx_path.relative_to(bd.root))],
    }


def _builtin(cfg: FlowConfig) -> AnyModelConfig:
    """The built-in model's config (digits, the model zoo and its quant presets)."""
    if isinstance(cfg.model, OnnxModelConfig):
        raise ConfigError(
            "model.kind onnx is imported, not trained or exported; its flow starts at the "
            "import step"
        )
    if isinstance(cfg.model, BrevitasModelConfig):
        raise ConfigError("model.kind brevitas trains and tests on its npz sets, not digits")
    return cfg.model


def _digits(cfg: FlowConfig) -> DigitsSplit:
    from codesign.frontend.data import load_digits_split

    shape = _builtin(cfg).input_shape
    return load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed, shape=shape)


def _step_import(bd: BuildDir, cfg: FlowConfig) -> JSON:
    """Check the user's ONNX file and npz test set (see :mod:`codesign.frontend.onnx_import`) and
    store them in the build directory, where the lowering and the checks read them."""
    from codesign.frontend.onnx_import import import_model

    assert isinstance(cfg.model, OnnxModelConfig) and isinstance(cfg.data, NpzData)
    report = import_model(
        cfg.model.path, cfg.data.path, cfg.data.input_type, bd.root, IMPORT_DIR
    )
    return report.to_json()


def _graph_file(bd: BuildDir, cfg: FlowConfig) -> Path:
    """The QONNX / FINN-ONNX graph the lowering starts from: the export or the import."""
    return bd.path(IMPORT_DIR if cfg.imported else EXPORT_DIR, "model.onnx")


def _test_set(bd: BuildDir, cfg: FlowConfig) -> tuple[np.ndarray, np.ndarray | None]:
    """The test inputs of the graph and their labels (None where the user gave none)."""
    from codesign.frontend.data import load_npz

    if cfg.user_model:  # checked and stored by the import or export step
        test = load_npz(bd.path(IMPORT_DIR if cfg.imported else EXPORT_DIR, "test.npz"))
        return test.x, test.y
    split = _digits(cfg)
    return split.x_test, split.y_test


def predictions(out: np.ndarray) -> np.ndarray:
    """Class per sample of a graph's outputs: the argmax of its scores, or the value
    itself where the graph emits one (a top-1 label).

    >>> predictions(np.array([[0.1, 0.7, 0.2], [0.9, 0.0, 0.1]])).tolist()
    [1, 0]
    >>> predictions(np.array([[3.0], [7.0]])).tolist()
    [3, 7]
    """
    flat = out.reshape(len(out), -1)
    return flat[:, 0].astype(np.int64) if flat.shape[1] == 1 else flat.argmax(-1)


def _accuracy(pred: np.ndarray, labels: np.ndarray | None) -> float | None:
    return None if labels is None else float((pred == labels).mean())


def _acc_bounds(acc: Accumulator, weight_dtype: str) -> JSON:
    """Accumulator widths of one accumulating layer, from the loosest bound to the
    tightest: the data types', the A2Q bound for its largest L1 norm, the weights'. An
    XNOR-popcount counts 0..fan_in whatever its weights: one bound, no A2Q (the L1 norm
    is that of its ±1 weights, fan_in)."""
    from qonnx.core.datatype import DataType

    if acc.popcount:
        bits = bounds.popcount_acc_bits(acc.fan_in)
        return {
            "fan_in": acc.fan_in, "acc_bits_dtype_bound": bits, "acc_bits_a2q_bound": None,
            "acc_bits_weight_bound": bits, "max_l1_norm": float(acc.fan_in),
            "weight_sparsity": 0.0,
        }
    wdt = DataType[weight_dtype]
    w = acc.weights
    dtype_bits, _ = bounds.dtype_acc_bits(acc.fan_in, acc.in_bits, acc.in_signed, wdt.bitwidth())
    weight_bits, _ = bounds.weight_acc_bits(w, acc.in_bits, acc.in_signed)
    l1 = float(np.abs(w).sum(axis=0).max())
    return {
        "fan_in": acc.fan_in,
        "acc_bits_dtype_bound": dtype_bits,
        "acc_bits_a2q_bound": bounds.a2q_min_acc_bits(l1, acc.in_bits, acc.in_signed),
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
    a prediction (a graph ending in a TopK emits its predictions: those must all agree).
    The accelerator is checked bit-exactly against FINN's graph, not QONNX.

    >>> want = np.array([[0.0, 1.0], [2.0, 0.0], [0.0, 3.0]])
    >>> check_hw_graph(want, want + [[0, 0], [0, 0], [0, 0.02]])
    1
    >>> try:
    ...     check_hw_graph(want, want + [[0, 0], [0, 0], [5, 0]])
    ... except VerificationError as err:
    ...     print(str(err).split(" (")[0], "/", str(err).split("), ")[1].split(";")[0])
    lowered FINN graph differs from QONNX on 1 of 3 test images / 1 with another prediction
    >>> try:
    ...     check_hw_graph(np.array([[3.0], [1.0]]), np.array([[3.0], [2.0]]))
    ... except VerificationError as err:
    ...     print(str(err).split("), ")[1].split(";")[0])
    1 with another prediction
    """
    flipped = np.flatnonzero(predictions(want) != predictions(got))
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
    from codesign.dataflow.graph import read_graph
    from codesign.dataflow.lower import execute_parent, layer_table, load_lowered, run_lower

    onnx_in = _graph_file(bd, cfg)
    res = run_lower(onnx_in, cfg, bd.root)
    if res.dataflow is None:
        raise VerificationError("lowering produced no dataflow partition")
    parent = load_lowered(res.parent)
    child = load_lowered(res.dataflow)
    x, labels = _test_set(bd, cfg)

    want = execute_parent(load_lowered(onnx_in), x)
    got = execute_parent(parent, x)
    differing = check_hw_graph(want, got)
    # the graph's own outputs, for the accelerator's agreement with them (rtl step)
    outputs = bd.path("lower", "graph_outputs.npy")
    np.save(outputs, want)

    graph = read_graph(child, name=cfg.name)
    layers = []
    for info in layer_table(child):
        row = info.as_dict()
        k = graph.node(info.name)
        if (acc := k.kernel.accumulator(k)) is not None:
            row.update(_acc_bounds(acc, str(info.weight_dtype)))
            row["acc_bits_finn"] = info.acc_bits
            row["acc_bits_target"] = None if cfg.user_model else cfg.quant.acc_bits
        layers.append(row)
    rel = [str(p.relative_to(bd.root)) for p in (res.parent, res.dataflow, outputs)]
    return {
        "parent": rel[0],
        "dataflow": rel[1],
        "graph_outputs": rel[2],
        "hw_graph_accuracy": _accuracy(predictions(got), labels),
        "hw_graph_agreement": float((predictions(got) == predictions(want)).mean()),
        "hw_graph_max_abs_diff": float(np.abs(want - got).max()),
        "hw_graph_images_differing": differing,
        "layers": layers,
        "artefacts": rel,
    }


def _lowered(bd: BuildDir, which: str) -> Any:
    """The lowered ``parent`` or ``dataflow`` model of a finished lower step."""
    from codesign.dataflow.lower import load_lowered

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


def _finn_accelerator(bd: BuildDir, cfg: FlowConfig) -> StreamGraph:
    """The accelerator with the accumulator widths FINN chose and, once the fifos step
    has run, the FIFO depths it measured."""
    from codesign.dataflow.fifos import with_depths
    from codesign.dataflow.graph import read_graph

    graph = read_graph(_dataflow(bd), name=cfg.name)
    sized = bd.step_result("fifos")
    return graph if sized is None else with_depths(graph, sized["depths"])


def _step_fifos(bd: BuildDir, cfg: FlowConfig) -> JSON:
    """FIFO depths from a full-rate simulation of the lowered design (deep FIFOs)."""
    from codesign.dataflow.fifos import size_fifos
    from codesign.dataflow.graph import read_graph

    graph = read_graph(_dataflow(bd), name=cfg.name)
    x = _accelerator_inputs(bd, cfg)[0][:SIZING_FRAMES]
    work = bd.path("fifos")
    shutil.rmtree(work, ignore_errors=True)
    sizing = size_fifos(graph, x, work, simulator=cfg.sim.simulator)
    return {"depths": sizing.depth, **sizing.to_json()}


def _as_built(finn_acc: StreamGraph, cfg: FlowConfig) -> StreamGraph:
    """The accelerator as built: FINN's widths, or squeezed to P for a squeezed baseline."""
    from codesign.dataflow.graph import with_acc_bits

    bits = _squeeze_bits(cfg)
    return finn_acc if bits is None else with_acc_bits(finn_acc, bits)


def _accelerator_inputs(
    bd: BuildDir, cfg: FlowConfig
) -> tuple[np.ndarray, np.ndarray | None]:
    """The test set as the accelerator receives it (the host nodes before the dataflow
    partition applied), and its labels (None where there are none)."""
    from codesign.dataflow.lower import dataflow_input

    x, labels = _test_set(bd, cfg)
    return dataflow_input(_lowered(bd, "parent"), x), labels


def _step_rtl(bd: BuildDir, cfg: FlowConfig) -> JSON:
    from codesign.backends.rtl import emit_rtl
    from codesign.backends.vectors import write_vectors
    from codesign.dataflow.graph import run_reference
    from codesign.dataflow.lower import execute_dataflow, execute_host_tail

    child = _dataflow(bd)
    finn_acc = _finn_accelerator(bd, cfg)
    x, labels = _accelerator_inputs(bd, cfg)
    # our bit-accurate model of the kernels must agree with FINN's execution first
    finn_out = execute_dataflow(child, x).reshape(len(x), -1)
    y = run_reference(finn_acc, x)
    mismatch = np.flatnonzero((y != finn_out).any(axis=1))
    if mismatch.size:
        raise VerificationError(
            f"the kernel reference model differs from FINN's execution on test image "
            f"{int(mismatch[0])} ({mismatch.size} images)"
        )
    acc = _as_built(finn_acc, cfg)
    if acc is not finn_acc:
        y = run_reference(acc, x)
    pred = predictions(execute_host_tail(_lowered(bd, "parent"), y))
    lower = bd.step_result("lower")
    assert lower is not None
    graph_pred = predictions(np.load(bd.root / lower["graph_outputs"]))
    project = emit_rtl(acc, bd.dir("rtl", "accel"))
    frames = cfg.sim.frames
    meta = write_vectors(acc, x[:frames], y[:frames], bd.dir("vectors"))
    artefacts = [project.top_file, project.filelist, *project.memories, meta]
    return {
        "top": project.top,
        "squeezed_acc_bits": _squeeze_bits(cfg),
        "accelerator_accuracy": _accuracy(pred, labels),
        "accelerator_agreement": float((pred == graph_pred).mean()),
        "outputs_differing_from_finn": int((y != finn_out).any(axis=1).sum()),
        "kernels": [
            {"node": k.node, "kernel": k.kind, "module": k.module, "params": k.params}
            for k in acc.nodes
        ],
        "est_ii_cycles": acc.est_ii,
        "est_ii_node": acc.critical_node,
        "words_per_frame": {"in": acc.words_in, "out": acc.words_out},
        "artefacts": [str(a.relative_to(bd.root)) for a in artefacts],
    }


def _step_overflow(bd: BuildDir, cfg: FlowConfig) -> JSON:
    """Drive every MVAU accumulator to its extremes in RTL simulation.

    Per output channel, the sign-aligned inputs (the largest input where the weight is
    positive, the smallest elsewhere, and the reverse) give the largest and smallest
    sum any input in the layer's input range can give. Each accumulating kernel is
    simulated alone on the frames its kernel builds from those inputs; its overflow
    monitor must fire exactly when some exact extreme sum falls outside its accumulator,
    and its (possibly wrapped) outputs must equal the reference.
    """
    from codesign.backends.rtl import emit_rtl
    from codesign.backends.vectors import write_vectors
    from codesign.dataflow.graph import run_reference, single_kernel
    from codesign.verify.junit import FILE as JUNIT
    from codesign.verify.junit import record_case
    from codesign.verify.sim import simulate_accelerator

    layers = []
    for k in _as_built(_finn_accelerator(bd, cfg), cfg).nodes:
        acc = k.kernel.accumulator(k)
        if acc is None:
            continue
        acc_lo, acc_hi = bounds.int_range(acc.bits, acc.signed)
        sum_lo, sum_hi = acc.sum_range()
        bad = (sum_hi > acc_hi) | (sum_lo < acc_lo)
        single = single_kernel(k, name=f"{cfg.name}_{k.node}")
        x = k.kernel.overflow_probe(k)
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
                    f"channels' extreme sums leave the {acc.bits}-bit range"
                )
        except VerificationError as err:
            record_case(bd.root / JUNIT, "overflow_proof", k.node, str(err),
                        time.monotonic() - t0)
            raise
        record_case(bd.root / JUNIT, "overflow_proof", k.node, None, time.monotonic() - t0)
        layers.append({
            "name": k.node, "channels": acc.channels, "fan_in": acc.fan_in,
            "acc_bits": acc.bits,
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
    from codesign.verify.junit import FILE as JUNIT
    from codesign.verify.junit import record_case
    from codesign.verify.sim import simulate_accelerator

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


def _step_csim(bd: BuildDir, cfg: FlowConfig) -> JSON:
    """The HLS top of the as-built accelerator, C-simulated with g++ on the rtl step's
    test vectors (every output word compared)."""
    from codesign.backends.hls import emit_hls
    from codesign.verify.csim import run_csim
    from codesign.verify.junit import FILE as JUNIT
    from codesign.verify.junit import record_case

    acc = _as_built(_finn_accelerator(bd, cfg), cfg)
    t0 = time.monotonic()
    try:
        project = emit_hls(acc, bd.dir("hls", "accel"))
        report = run_csim(project, bd.dir("vectors"), bd.dir("csim"))
    except VerificationError as err:
        record_case(bd.root / JUNIT, "stream_verification", "hls/g++", str(err),
                    time.monotonic() - t0)
        raise
    record_case(bd.root / JUNIT, "stream_verification", "hls/g++", None, time.monotonic() - t0)
    files = [*project.generated, bd.path("csim", "csim_report.json")]
    vitis = _vitis_hls(bd, cfg, project)
    if "script" in vitis:
        files.append(bd.root / vitis["script"])
    return {
        "verification": report.to_json(),
        "top": project.top,
        "headers": list(project.headers),
        "vitis_hls": vitis,
        "artefacts": [str(p.relative_to(bd.root)) for p in files],
    }


def _vitis_hls(bd: BuildDir, cfg: FlowConfig, project: Any) -> JSON:
    """The Vitis HLS script for the board (and, where Vitis HLS is installed, its csynth
    estimates); without the tool, why it did not run and the ready script."""
    from codesign.board.registry import get_board
    from codesign.errors import ToolNotFoundError
    from codesign.synth import vitis_hls

    board = get_board(cfg.board)
    if board.vendor != "xilinx":
        return {"ran": False, "reason": f"board {board.name} is not a Xilinx part"}
    script = vitis_hls.write_script(project, board, bd.dir("vectors"), bd.dir("hls", "vitis"))
    rel = str(script.relative_to(bd.root))
    try:
        report = vitis_hls.run_script(script)
    except ToolNotFoundError as err:
        return {"ran": False, "reason": str(err), "script": rel}
    return {"ran": True, "script": rel, "board": board.name, "part": board.part,
            **report.to_json()}


def _step_synth(bd: BuildDir, cfg: FlowConfig) -> JSON:
    """Per-kernel out-of-context Yosys runs (parallel, cached), summed per design."""
    from codesign.board.registry import get_board
    from codesign.cache import cache_dir
    from codesign.dataflow.graph import with_acc_bits
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


#: The code each step runs, digested into its key so that a re-run after a code change
#: redoes the step: codesign modules and subpackages (each digested whole, beside this
#: module, which holds the steps), top-level packages, and distributions by version.
_STEP_CODE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "import": (("frontend/data.py", "frontend/onnx_import.py"), ("onnx", "qonnx", "numpy")),
    # onnx_import.py: a Brevitas factory's npz sets are checked as an ONNX file's are
    "train": (
        ("frontend/data.py", "frontend/models", "frontend/quant", "bounds.py",
         "frontend/onnx_import.py"),
        ("torch", "brevitas", "qonnx", "numpy", "scikit-learn"),
    ),
    "export": (
        ("frontend/data.py", "frontend/models", "frontend/quant", "bounds.py",
         "frontend/export.py", "frontend/onnx_import.py"),
        ("torch", "brevitas", "qonnx", "onnx", "onnxruntime", "numpy"),
    ),
    "lower": (
        ("frontend/data.py", "frontend/quant", "bounds.py", "dataflow/lower", "dataflow/kernels"),
        ("finn-plus", "qonnx", "onnx", "numpy"),
    ),
    "fifos": (
        ("frontend/data.py", "dataflow", "backends", "tools.py", "rtl_sim"),
        ("finn-plus", "qonnx", "cocotb", "numpy"),
    ),
    "rtl": (
        ("frontend/data.py", "dataflow", "backends"),
        ("finn-plus", "qonnx", "onnx", "numpy"),
    ),
    "sim": (
        ("dataflow/kernels", "dataflow/graph.py", "dataflow/fifos.py", "backends", "verify",
         "tools.py", "rtl_sim"),
        ("cocotb", "cocotbext-axi"),
    ),
    "overflow": (
        ("frontend/quant", "bounds.py", "dataflow", "backends", "verify", "tools.py", "rtl_sim"),
        ("cocotb", "cocotbext-axi", "numpy"),
    ),
    "synth": (
        ("board/registry.py", "cache.py", "tools.py", "dataflow/kernels", "dataflow/graph.py",
         "dataflow/fifos.py", "backends", "synth"),
        ("numpy",),
    ),
    "csim": (
        ("board/registry.py", "cache.py", "tools.py", "dataflow/kernels", "dataflow/graph.py",
         "dataflow/fifos.py", "backends", "verify/csim.py", "synth/vitis_hls.py"),
        ("hls4ml", "numpy"),
    ),
}


@functools.cache
def _code_digest(step: str, package: Path | None = None) -> dict[str, str]:
    """Digest of the sources ``_STEP_CODE`` names for ``step`` (under ``package``, by
    default this one) and the versions of the distributions it names.

    >>> key = _code_digest("lower")
    >>> sorted(key)
    ['code', 'finn-plus', 'numpy', 'onnx', 'qonnx']
    """
    from importlib.metadata import version
    from importlib.util import find_spec

    from codesign.cache import files_digest

    package = package or Path(__file__).resolve().parent.parent
    names, dists = _STEP_CODE[step]
    files = {"codesign/flow/runner.py": package / "flow" / "runner.py"}
    for name in names:
        path = package / name
        spec = None if path.exists() or "." in name else find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            path = Path(next(iter(spec.submodule_search_locations)))  # a top-level package
        if not path.exists():
            raise FileNotFoundError(f"step {step!r} runs {name!r}: not found in {package}")
        sources = sorted(path.rglob("*")) if path.is_dir() else [path]
        for src in sources:
            if src.is_file() and src.suffix in (".py", ".v", ".sv", ".txt"):
                files[src.relative_to(path.parent).as_posix()] = src
    return {"code": files_digest(files)[:16], **{d: version(d) for d in dists}}


def _step_key(cfg: FlowConfig, step: str) -> Any:
    """What a step's result depends on beyond the design digest: the code it runs
    (:func:`_code_digest`), its settings and, from rtl on, the kernel library the design
    is built from."""
    from codesign.backends import hls
    from codesign.backends.rtl import library_digest

    code = _code_digest(step)
    if step in ("train", "export") and isinstance(cfg.model, BrevitasModelConfig):
        return {**code, **_user_code_key(cfg, cfg.model)}
    if step == "csim":
        return {"sim_frames": cfg.sim.frames, "board": cfg.board,
                "hls_library": hls.library_digest(), **code}
    if step == "fifos":
        return {"simulator": cfg.sim.simulator, "rtl_library": library_digest(), **code}
    if step in ("rtl", "sim", "overflow"):
        return {
            "sim": cfg.sim.model_dump(mode="json"), "rtl_library": library_digest(), **code
        }
    if step == "synth":
        return {
            "synth": cfg.synth.model_dump(mode="json"), "rtl_library": library_digest(), **code
        }
    return code


def _user_code_key(cfg: FlowConfig, model: BrevitasModelConfig) -> JSON:
    """What a Brevitas factory's train and export steps read beyond codesign's code: the
    factory's source file and the checkpoint's content (edits re-run the steps)."""
    from codesign.config import file_digest
    from codesign.frontend.models.user import source_digest

    key: JSON = {"factory_source": source_digest(model)}
    if model.checkpoint is not None:
        key["checkpoint"] = file_digest(model.checkpoint, "model.checkpoint")
    return key


def run_flow(
    cfg: FlowConfig,
    out: Path,
    progress: Progress | None = None,
    until: str | None = None,
    backend: str = "rtl",
) -> FlowResult:
    """Run the flow's steps in order (up to and including ``until``) in build dir ``out``
    for ``backend`` (rtl, hls or both)."""
    steps = flow_steps(cfg, backend)
    if until == "train" and isinstance(cfg.model, BrevitasModelConfig) and "train" not in steps:
        raise ConfigError(
            f"model.checkpoint {cfg.model.checkpoint} is given, so there is nothing to "
            "train; drop model.checkpoint to train the factory's module on data.train"
        )
    if until is not None and until not in steps:
        known = f"unknown step {until!r}" if until not in STEPS else f"no step {until!r}"
        raise ConfigError(
            f"{known} for model.kind {cfg.model.kind} and backend {backend}; its steps are: "
            f"{', '.join(steps)}"
        )
    prog = progress or _Silent()
    bd = BuildDir(out, cfg)
    step_fns: dict[str, Callable[[], JSON]] = {
        "train": lambda: _step_train(bd, cfg, prog),
        "export": lambda: _step_export(bd, cfg),
        "import": lambda: _step_import(bd, cfg),
        "lower": lambda: _step_lower(bd, cfg),
        "fifos": lambda: _step_fifos(bd, cfg),
        "rtl": lambda: _step_rtl(bd, cfg),
        "sim": lambda: _step_sim(bd, cfg),
        "overflow": lambda: _step_overflow(bd, cfg),
        "synth": lambda: _step_synth(bd, cfg),
        "csim": lambda: _step_csim(bd, cfg),
    }
    summaries: JSON = {}
    for name in steps:
        if name == "export" and cfg.quant.method == "float":
            break
        if name == "synth" and not cfg.synth.enabled:
            continue
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


def flow_steps(cfg: FlowConfig, backend: str = "rtl") -> tuple[str, ...]:
    """The steps of ``cfg``'s flow for ``backend``, in order: its front end's, then the
    shared ones, then the backend's."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    front = FRONT_ENDS[_front_end(cfg)]
    others = {step for steps in FRONT_ENDS.values() for step in steps} - set(front)
    for name, steps in BACKEND_STEPS.items():
        if backend not in (name, "both"):
            others |= set(steps)
    return tuple(step for step in STEPS if step not in others)


def _front_end(cfg: FlowConfig) -> str:
    if isinstance(cfg.model, BrevitasModelConfig):
        return "brevitas" if cfg.model.checkpoint is None else "brevitas_checkpoint"
    return "onnx" if cfg.imported else "builtin"


def _verification(s: JSON) -> JSON | None:
    """The stream verification of every backend that ran, under ``backends`` (rtl: the
    cocotb simulation, hls: the g++ C-simulation); the RTL record's keys also stay at the
    top level, and ``passed`` holds for every backend."""
    backends = {name: s[step]["verification"] for name, step in (("rtl", "sim"), ("hls", "csim"))
                if step in s}
    if not backends:
        return None
    top = dict(backends.get("rtl", {}))
    top["backends"] = backends
    top["passed"] = all(v["passed"] for v in backends.values())
    return top


def _assemble_results(cfg: FlowConfig, s: JSON) -> JSON:
    runs = s.get("train", {}).get("runs", {})
    lower = s.get("lower", {})
    verification = _verification(s)
    vitis = s.get("csim", {}).get("vitis_hls")
    accuracy = {
        "float": runs.get("float", {}).get("test_accuracy"),
        # torch's accuracy: the trained model's, or a user checkpoint's (export step)
        "quantized": runs.get("quant", {}).get(
            "test_accuracy", (s.get("export", {}).get("equivalence") or {}).get("torch_accuracy")
        ),
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
        # predictions equal to the graph's (QONNX / the imported file), and every output
        # word of the simulated accelerator equal to the reference: no labels needed
        "agreement": {
            "hw_graph": lower.get("hw_graph_agreement"),
            "accelerator": s.get("rtl", {}).get("accelerator_agreement"),
            "accelerator_outputs_bit_exact": verification and verification["passed"],
        },
        "import": {k: v for k, v in s.get("import", {}).items() if k != "artefacts"} or None,
        "export": s.get("export", {}).get("equivalence"),
        "layers": lower.get("layers", []),
        "verification": verification,
        "cycles": s.get("sim", {}).get("cycles"),
        "overflow": s.get("overflow"),
        "fifos": {k: v for k, v in s.get("fifos", {}).items() if k != "depths"} or None,
        "resources": {k: v for k, v in s.get("synth", {}).items() if k != "artefacts"} or None,
        "hls_synthesis": vitis,
    }


def vivado_bitstream(
    cfg: FlowConfig, out: Path, board: str, progress: Progress | None = None,
    until: str = "rtl",
) -> VivadoBuild:
    """``codesign bitstream --board B`` for a board of the Vivado flow: the flow up to
    ``until``, then the Vivado project in ``out/vivado`` (built where Vivado is installed)
    and the deployment folder ``out/deploy``. Returns the
    :class:`~codesign.synth.vivado.VivadoBuild`; a built design that misses timing raises
    :class:`~codesign.synth.vivado.VivadoError` after both folders are written."""
    from codesign.board.deploy import write_deployment
    from codesign.board.registry import get_board
    from codesign.synth.vivado import VivadoError, build_vivado

    target = get_board(board)
    run_flow(cfg, out, progress=progress, until=until)
    bd = BuildDir(out, cfg)
    graph = _as_built(_finn_accelerator(bd, cfg), cfg)
    child = _dataflow(bd)
    shape_in = tuple(child.get_tensor_shape(child.graph.input[0].name))[1:]
    shape_out = tuple(child.get_tensor_shape(child.graph.output[0].name))[1:]
    build = build_vivado(graph, target, bd.dir("vivado"))
    write_deployment(build.project, cfg.name, bd.dir("deploy"), shape_in, shape_out)
    if build.ran and not build.results["timing"]["met"]:
        t = build.results["timing"]
        raise VivadoError(
            f"{cfg.name} on {target.name} misses timing at {target.clock_mhz:g} MHz: WNS "
            f"{t['wns_ns']} ns (about {t.get('fmax_mhz')} MHz reachable); lower the board's "
            f"clock_mhz or see the critical paths in {build.project.reports}"
        )
    return build
