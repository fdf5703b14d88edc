"""Board registry: one YAML data file per board in ``boards/`` (Amaranth style).

A board names its part, the Yosys family used for resource estimates, its default
clock, the resources of the device and the fraction of each resource that a design
may plan to use (FINN's planning limits for the Xilinx boards).

>>> board = get_board("zcu104")
>>> board.part, board.family, board.resources["DSP"]
('xczu7ev-ffvc1156-2-e', 'xcup', 1728)
>>> board.budget()["LUT"]
161280
>>> "zcu104" in list_boards()
True
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codesign.config import read_yaml_mapping
from codesign.errors import ConfigError
from codesign.paths import data_dir

Flow = Literal["vivado", "nextpnr-ice40", "nextpnr-ecp5"]
Family = Literal["xcup", "xcu", "xc7", "ice40", "ecp5"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")


class UnknownBoardError(ConfigError):
    """A board name is not in the registry; the message lists the known boards."""


class Board(BaseModel):
    """One FPGA board, as read from ``boards/<name>.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    vendor: Literal["xilinx", "lattice"]
    part: str
    family: Family
    """Yosys family: ``synth_xilinx -family`` for Xilinx, ``synth_<family>`` for Lattice."""
    clock_mhz: float = Field(gt=0)
    flow: Flow
    resources: dict[str, int]
    """Available resources by class (LUT, FF, BRAM36, URAM, DSP, EBR, SPRAM, ...)."""
    limits: dict[str, float] = Field(default_factory=dict)
    """Fraction of each resource a design may plan to use (missing class: 1.0)."""

    @model_validator(mode="after")
    def _check(self) -> Board:
        if not _NAME.match(self.name):
            raise ValueError(f"board name {self.name!r} must match {_NAME.pattern}")
        for key, value in self.resources.items():
            if value <= 0:
                raise ValueError(f"resources.{key} must be > 0, got {value}")
        for key, frac in self.limits.items():
            if key not in self.resources:
                raise ValueError(
                    f"limits.{key} names no resource; resources are {sorted(self.resources)}"
                )
            if not 0.0 < frac <= 1.0:
                raise ValueError(f"limits.{key} must be in (0, 1], got {frac}")
        return self

    @property
    def clock_period_ns(self) -> float:
        return 1000.0 / self.clock_mhz

    def budget(self) -> dict[str, int]:
        """Resources a design may plan to use: ``floor(available * limit)`` per class."""
        return {
            key: math.floor(avail * self.limits.get(key, 1.0))
            for key, avail in self.resources.items()
        }


def boards_dir() -> Path:
    """The folder holding the board data files."""
    return data_dir("boards")


def _board_files() -> dict[str, Path]:
    return {p.stem: p for p in sorted(boards_dir().glob("*.yaml"))}


def list_boards() -> list[str]:
    """Names of all known boards, sorted."""
    return sorted(_board_files())


def load_board(path: Path) -> Board:
    """Read and validate one board file (``yaml.safe_load``)."""
    raw = read_yaml_mapping(path, "board file")
    try:
        board = Board.model_validate(raw)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<board>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid board file {path}: {errors}") from exc
    if board.name != Path(path).stem:
        raise ConfigError(
            f"board file {path} declares name {board.name!r}; it must equal the file name"
        )
    return board


@functools.cache
def _get_board_cached(name: str) -> Board:
    files = _board_files()
    if name not in files:
        known = ", ".join(sorted(files)) or "(none)"
        raise UnknownBoardError(f"unknown board {name!r}; known boards: {known}")
    return load_board(files[name])


def get_board(name: str) -> Board:
    """Look a board up by name; an unknown name raises an error listing the known ones.

    >>> get_board("zcu42")
    Traceback (most recent call last):
    ...
    codesign.boards.UnknownBoardError: unknown board 'zcu42'; known boards: icebreaker, zcu104
    """
    return _get_board_cached(name.strip().lower())
