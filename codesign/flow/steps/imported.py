"""The import step: a user's ONNX file and npz test set, checked and stored."""

from __future__ import annotations

from codesign.config import NpzData
from codesign.flow.steps import JSON, StepRun
from codesign.flow.steps.data import IMPORT_DIR
from codesign.frontend.models.onnx_file import OnnxModelConfig


def import_graph(run: StepRun) -> JSON:
    """Check the user's ONNX file and npz test set (see :mod:`codesign.frontend.onnx_import`)
    and store them in the build directory, where the lowering and the checks read them."""
    from codesign.frontend.onnx_import import import_model

    cfg = run.cfg
    assert isinstance(cfg.model, OnnxModelConfig) and isinstance(cfg.data, NpzData)
    report = import_model(cfg.model.path, cfg.data.path, cfg.data.input_type, run.bd.root,
                          IMPORT_DIR)
    return report.to_json()
