"""The ``onnx`` family: a user's QONNX or FINN-ONNX file, imported with its npz test set."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator

from codesign.frontend.models.registry import Family, register
from codesign.schema import ModelSection, existing_file, file_digest


class OnnxModelConfig(ModelSection):
    """``model.kind: onnx``: a user's QONNX or FINN-ONNX file as the model.

    The flow neither trains nor exports: its ``import`` step checks the file (see
    :mod:`codesign.frontend.onnx_import`) and the lowering starts from it. The graph carries its
    own quantization, so the ``quant`` and ``train`` sections do not apply.
    """

    kind: Literal["onnx"]
    path: Path
    """The .onnx file; a relative path is relative to the config file."""

    _resolve = field_validator("path")(existing_file)


def _identity(section: OnnxModelConfig, dumped: dict[str, Any]) -> None:
    # the same file gives the same design wherever it is; another content another one
    dumped["path"] = file_digest(section.path, "model.path")


FAMILY = register(
    Family("onnx", OnnxModelConfig, streamline="imported", source="file", identity=_identity)
)
