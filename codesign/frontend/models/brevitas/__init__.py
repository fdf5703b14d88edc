"""The ``brevitas`` family: a Brevitas module built by a factory in the user's code (see
:mod:`codesign.frontend.models.brevitas.factory`, which builds it), with npz training and
test sets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from codesign.frontend.models.registry import Family, register
from codesign.schema import ModelSection, existing_file, file_digest, search_dir

if TYPE_CHECKING:
    from codesign.config import FlowConfig


FACTORY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
"""``module.path:callable``: a dotted module name, a colon, a function name."""


class BrevitasModelConfig(ModelSection):
    """``model.kind: brevitas``: a Brevitas module built by a factory in the user's code.

    The flow imports ``factory`` (see :mod:`codesign.frontend.models.brevitas.factory`),
    builds the module, loads ``checkpoint`` (or, without one, trains it on ``data.train``),
    and exports it with its own checks as for the built-in models. Importing the factory runs the
    user's Python code: a config naming a factory is trusted code, unlike an ONNX file.
    The module carries its own quantization, so the ``quant`` section does not apply.
    """

    kind: Literal["brevitas"]
    factory: str
    """``pkg.module:make_net``: a callable taking no arguments that returns the
    ``torch.nn.Module``."""
    checkpoint: Path | None = None
    """Its state dict (``torch.save(net.state_dict(), path)``), relative to the config
    file; None: ``codesign train`` trains the module on ``data.train``."""
    input_shape: list[int] = Field(min_length=1)
    """One input sample's shape without the batch dimension, e.g. ``[1, 8, 8]``."""
    source_dir: Path | None = Field(default=None, validate_default=True)
    """Where the factory's module is looked up first (then ``sys.path``); default: the
    config file's directory."""

    _checkpoint = field_validator("checkpoint")(existing_file)
    _source = field_validator("source_dir")(search_dir)

    @field_validator("factory")
    @classmethod
    def _factory_form(cls, value: str) -> str:
        module, _, fn = value.partition(":")
        if module.endswith(".py"):
            raise ValueError(
                f"{value!r} names a file; name its module without .py: "
                f"'{module.removesuffix('.py')}:{fn}'"
            )
        if not re.fullmatch(FACTORY_PATTERN, value):
            raise ValueError(
                f"{value!r} is not 'module.path:function' (a dotted module name, a colon, "
                "the name of a callable in it; e.g. 'mynet:make_net')"
            )
        return value

    @field_validator("input_shape")
    @classmethod
    def _positive_dims(cls, value: list[int]) -> list[int]:
        if any(d < 1 for d in value):
            raise ValueError(f"every dimension must be >= 1, got {value}")
        return value

    @property
    def module_name(self) -> str:
        return self.factory.partition(":")[0]

    @property
    def callable_name(self) -> str:
        return self.factory.partition(":")[2]


def _check(cfg: FlowConfig) -> None:
    """data.input_type, and data.train where there is no checkpoint."""
    model, data = cfg.model, cfg.data
    assert isinstance(model, BrevitasModelConfig)
    if data.kind != "npz":
        return  # the flow's own check names the missing npz set
    if data.input_type is None:
        raise ValueError(
            "model.kind brevitas needs data.input_type, the qonnx DataType of the codes "
            "in x (e.g. UINT8): it becomes the exported graph's input annotation"
        )
    if model.checkpoint is None and data.train is None:
        raise ValueError(
            "model.kind brevitas without model.checkpoint is trained by codesign: give "
            "data.train (an npz with x and y), or a checkpoint"
        )


def _identity(section: BrevitasModelConfig, dumped: dict[str, Any]) -> None:
    # where the code is does not define the design: the step keys digest what the
    # factory's source and the checkpoint hold (codesign.flow.table)
    dumped["source_dir"] = None
    if section.checkpoint is not None:
        dumped["checkpoint"] = True


def _content(section: BrevitasModelConfig, dumped: dict[str, Any]) -> None:
    if section.checkpoint is not None:
        dumped["checkpoint"] = file_digest(section.checkpoint, "model.checkpoint")


FAMILY = register(Family(
    "brevitas", BrevitasModelConfig, streamline="imported", source="factory",
    check=_check, identity=_identity, content=_content,
))
