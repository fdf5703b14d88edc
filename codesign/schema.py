"""What every config section shares: strict pydantic models, file paths resolved against
the config file's directory, content digests of the user's files, and the base of a model
family's section."""

from __future__ import annotations

import hashlib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationInfo

from codesign.errors import ConfigError


class Strict(BaseModel):
    """A config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelSection(Strict):
    """The ``model`` section of one model family (see
    :mod:`codesign.frontend.models.registry`); ``kind`` names the family."""

    kind: str


class BuiltinModelSection(ModelSection):
    """The section of a family codesign builds, trains on digits and exports."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, without the batch dimension."""
        raise NotImplementedError(f"model.kind {self.kind} does not give its input shape")

    @property
    def pixel_order(self) -> tuple[int, ...] | None:
        """The order the host sends an image's row-major pixels in (None: row-major)."""
        return None


BASE_DIR_CONTEXT = "base_dir"
"""Validation context key: the directory relative file paths are read from (the config
file's directory; the working directory when absent)."""


def existing_file(value: Path | None, info: ValidationInfo) -> Path | None:
    """``value`` resolved against the config's base directory; it must be a file."""
    if value is None:
        return None  # an optional file the user left out
    base = Path((info.context or {}).get(BASE_DIR_CONTEXT) or Path.cwd())
    path = (value if value.is_absolute() else base / value).resolve()
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


def search_dir(value: Path | None, info: ValidationInfo) -> Path:
    """``value`` (default: the config's base directory) resolved; it must be a directory."""
    base = Path((info.context or {}).get(BASE_DIR_CONTEXT) or Path.cwd())
    path = base if value is None else value if value.is_absolute() else base / value
    path = path.resolve()
    if not path.is_dir():
        raise ValueError(f"directory not found: {path}")
    return path


def file_digest(path: Path, key: str) -> str:
    """``sha256:<hex>`` of a user's file; unreadable: a ConfigError naming ``key``."""
    h = hashlib.sha256()
    try:
        with Path(path).open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as err:
        raise ConfigError(f"{key}: cannot read {path}: {err.strerror}") from None
    return f"sha256:{h.hexdigest()}"
