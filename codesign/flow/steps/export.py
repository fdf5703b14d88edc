"""The export step: the trained (or the user's) model to QONNX, checked equal to torch
on the test set, which is stored beside the graph for every later step."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from codesign.config import BuiltinModelSection, NpzData
from codesign.errors import ConfigError
from codesign.flow.steps import JSON, StepRun
from codesign.flow.steps.data import EXPORT_DIR, GRAPH_FILE, TEST_FILE
from codesign.flow.steps.train import USER_CHECKPOINT
from codesign.frontend.models.brevitas import BrevitasModelConfig

if TYPE_CHECKING:
    from pathlib import Path

    from codesign.frontend.data import EvalSet


def export(run: StepRun, *, test_data: EvalSet) -> JSON:
    from codesign.frontend.export import check_equivalence, export_qonnx
    from codesign.frontend.models import build_model, family
    from codesign.frontend.quant.train import load_checkpoint

    cfg, bd = run.cfg, run.bd
    if isinstance(cfg.model, BrevitasModelConfig):
        return _export_user(run, cfg.model, test_data)
    if cfg.quant.method == "float":
        raise ConfigError(
            "quant.method=float has no integer hardware path; use baseline, a2q or a2q_plus"
        )
    assert isinstance(cfg.model, BuiltinModelSection)  # an ONNX file is imported, not exported
    model = build_model(cfg.model, cfg.quant, seed=cfg.train.seed)
    load_checkpoint(model, bd.path("train", "quant.pt"))
    onnx_path = bd.path(EXPORT_DIR, GRAPH_FILE)
    export_qonnx(model, cfg.quant, test_data.x, onnx_path)
    classifies = family(cfg.model.kind).metric.classifies
    report = check_equivalence(model, onnx_path, test_data.x,
                               test_data.y if classifies else None, classifies=classifies)
    test_path = _store_test_set(run, test_data)
    return {
        "onnx": str(onnx_path.relative_to(bd.root)),
        "equivalence": dataclasses.asdict(report),
        "artefacts": [str(p.relative_to(bd.root)) for p in (onnx_path, test_path)],
    }


def _store_test_set(run: StepRun, test: EvalSet) -> Path:
    from codesign.frontend.data import save_npz

    path = run.bd.path(EXPORT_DIR, TEST_FILE)
    save_npz(path, test)
    return path


def _export_user(run: StepRun, model_cfg: BrevitasModelConfig, test: EvalSet) -> JSON:
    """Build the factory's module, load its checkpoint (the user's, or the train step's),
    export it with the flow's own checks and store the checked test set beside it."""
    from codesign.frontend.export import check_equivalence, export_graph
    from codesign.frontend.models.brevitas.factory import (
        build_user_model,
        load_user_checkpoint,
        locate_module,
    )

    cfg, bd = run.cfg, run.bd
    assert isinstance(cfg.data, NpzData) and cfg.data.input_type is not None
    model = build_user_model(model_cfg, seed=cfg.train.seed)
    if model_cfg.checkpoint is not None:
        ckpt, key = model_cfg.checkpoint, "model.checkpoint"
    else:
        ckpt, key = bd.path("train", USER_CHECKPOINT), "the train step's checkpoint"
    load_user_checkpoint(model, ckpt, key)
    onnx_path = bd.path(EXPORT_DIR, GRAPH_FILE)
    res = export_graph(model, cfg.data.input_type, test.x, onnx_path)
    report = check_equivalence(model, onnx_path, test.x, test.y)
    rel = [str(p.relative_to(bd.root)) for p in (onnx_path, _store_test_set(run, test))]
    return {
        "onnx": rel[0],
        "test_set": rel[1],
        "factory": {"factory": model_cfg.factory, "source": str(locate_module(model_cfg))},
        "checkpoint": str(ckpt),
        "fixed_weight_quants": list(res.fixed_weight_quants),
        "equivalence": dataclasses.asdict(report),
        "artefacts": rel,
    }
