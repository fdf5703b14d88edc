"""Board registry: one YAML data file per board in ``boards/`` (Amaranth style).

A board names its vendor part, the Yosys family its resources are counted in, its
default clock, the flow that builds a bitstream for it (``vivado`` for the Xilinx Zynq
boards, ``open`` for Yosys + nextpnr), the device's resources, the fraction of each
that a design may plan to use (FINN's planning limits on the Xilinx boards), the I/O the
UART shell uses and the pin constraints.

Resource keys are the resource *classes* :mod:`codesign.synth.yosys` counts (``LUT``,
``FF``, ``DSP``, ``BRAM36``, ``URAM``, ``EBR``, ``SPRAM``, ``BSRAM``, ...), so that a
synthesis result and a board compare key by key; each family's unit of a class (a LUT6
or a LUT4, a DSP48E2, a MULT18X18D or an SB_MAC16, a 4-Kbit or an 18-Kbit EBR) is in
:data:`UNITS` and shown by ``codesign boards``.

>>> board = get_board("zcu104")
>>> board.part, board.family, board.resources["DSP"]
('xczu7ev-ffvc1156-2-e', 'xcup', 1728)
>>> board.budget()["LUT"]
161280
>>> board.units()["DSP"]
'DSP48E2'
>>> get_board("icebreaker").finn_part  # FINN's estimates always get a Xilinx part
'xc7z020clg400-1'
>>> "zcu104" in list_boards()
True
"""

from __future__ import annotations

import functools
import math
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from codesign.config import read_yaml_mapping
from codesign.errors import ConfigError
from codesign.paths import data_dir

Vendor = Literal["xilinx", "lattice", "gowin"]
Flow = Literal["vivado", "open"]
Family = Literal["xcup", "xcu", "xc7", "ice40", "ecp5", "gowin"]
"""Yosys family: ``synth_xilinx -family`` for Xilinx, ``synth_<family>`` otherwise."""

_NAME = re.compile(r"^[a-z0-9][a-z0-9_\-]*$")
_SITE = re.compile(r"^[A-Za-z0-9_]+$")
_WORD = re.compile(r"^[A-Za-z0-9_.:\-]+$")

VENDOR_FAMILIES: dict[str, tuple[str, ...]] = {
    "xilinx": ("xcup", "xcu", "xc7"),
    "lattice": ("ice40", "ecp5"),
    "gowin": ("gowin",),
}

#: The family's unit of each resource class (what one count of the class is).
UNITS: dict[str, dict[str, str]] = {
    **{
        fam: {
            "LUT": "LUT6", "FF": "FF", "DSP": "DSP48E1" if fam == "xc7" else "DSP48E2",
            "BRAM36": "RAMB36 (36 Kbit; a RAMB18 counts 0.5)", "URAM": "URAM288 (288 Kbit)",
            "LUTRAM": "LUT6 used as memory", "CARRY": "CARRY4",
        }
        for fam in ("xcup", "xcu", "xc7")
    },
    "ice40": {
        "LUT": "SB_LUT4", "FF": "FF", "DSP": "SB_MAC16", "EBR": "SB_RAM40_4K (4 Kbit)",
        "SPRAM": "SB_SPRAM256KA (256 Kbit)", "CARRY": "SB_CARRY",
    },
    "ecp5": {
        "LUT": "LUT4", "FF": "FF", "DSP": "MULT18X18D", "EBR": "DP16KD (18 Kbit)",
        "LUTRAM": "TRELLIS_DPR16X4", "CARRY": "CCU2C",
    },
    "gowin": {
        "LUT": "LUT4", "FF": "FF", "DSP": "MULT18X18 (MULT9X9 = 0.5)",
        "BSRAM": "BSRAM (18 Kbit)", "LUTRAM": "RAM16 (SSRAM, 16x4 per 4 LUTs)",
        "CARRY": "ALU",
    },
}

#: Bits one count of each memory class holds, per family (LUT: a LUT used as ROM/RAM).
MEMORY_BITS: dict[str, dict[str, int]] = {
    **{fam: {"BRAM36": 36 * 1024, "URAM": 288 * 1024, "LUT": 64} for fam in ("xcup", "xcu")},
    "xc7": {"BRAM36": 36 * 1024, "LUT": 64},
    "ice40": {"EBR": 4 * 1024, "SPRAM": 256 * 1024},
    "ecp5": {"EBR": 18 * 1024, "LUT": 16},
    "gowin": {"BSRAM": 18 * 1024, "LUT": 16},
}

#: Suffix of a pin-constraint file per family (a board's ``constraints`` file name).
CONSTRAINT_SUFFIX: dict[str, str] = {
    "xcup": ".xdc", "xcu": ".xdc", "xc7": ".xdc", "ice40": ".pcf", "ecp5": ".lpf",
    "gowin": ".cst",
}


class UnknownBoardError(ConfigError):
    """A board name is not in the registry; the message lists the known boards."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Pin(_Strict):
    """One package pin: its site (``"35"`` on a QFN, ``"G2"`` on a BGA), optionally its
    I/O standard (default: the board's ``io.standard``) and pull. A plain string in the
    board file is the site."""

    site: str = Field(pattern=_SITE.pattern)
    standard: str | None = Field(default=None, pattern=_WORD.pattern)
    pull: Literal["up", "down", "none"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_site(cls, data: Any) -> Any:
        if isinstance(data, str | int) and not isinstance(data, bool):
            return {"site": str(data)}
        return data


class UartIO(_Strict):
    """The UART the shell talks over (FPGA's view: ``rx`` in, ``tx`` out)."""

    rx: Pin
    tx: Pin
    baud: int = Field(default=115200, ge=1200, le=12_000_000)


class ResetIO(_Strict):
    """A push button that resets the shell."""

    pin: Pin
    active_low: bool


class BoardIO(_Strict):
    """The I/O the UART shell uses."""

    clock: Pin
    """The oscillator input the shell runs on (at the board's ``clock_mhz``)."""
    uart: UartIO | None = None
    reset: ResetIO | None = None
    leds: list[Pin] = Field(default_factory=list, max_length=16)
    leds_active_low: bool = False
    standard: str = Field(default="LVCMOS33", pattern=_WORD.pattern)
    """I/O standard of every pin that names none (ECP5 and Gowin constraint files)."""


class VivadoOptions(_Strict):
    """What the Vivado flow needs beyond the part."""

    board_part: str | None = Field(default=None, pattern=_WORD.pattern)
    """Vivado board part, e.g. ``xilinx.com:zcu104:part0:1.1`` (None: the part alone)."""
    ps: Literal["zynq_ultra_ps_e", "processing_system7"]
    """The processing-system IP of the block design."""


class Board(_Strict):
    """One FPGA board, as read from ``boards/<name>.yaml``."""

    name: str
    description: str = ""
    vendor: Vendor
    part: str = Field(pattern=r"^[A-Za-z0-9_.:/\-]+$")
    """The vendor part (Vivado part; nextpnr device/package for the open flow)."""
    family: Family
    clock_mhz: float = Field(gt=0)
    flow: Flow
    resources: dict[str, int]
    """Available resources by class (see :data:`UNITS` for the family's units)."""
    limits: dict[str, float] = Field(default_factory=dict)
    """Fraction of each resource a design may plan to use (missing class: 1.0)."""
    io: BoardIO | None = None
    """Pins of the UART shell (required for the open flow)."""
    constraints: list[str] | str | None = None
    """Pin-constraint lines appended to the ones written from ``io``, or the name of a
    constraint file (``.pcf`` / ``.lpf`` / ``.cst`` / ``.xdc``) next to the board file
    used instead of them."""
    estimate_part: str | None = Field(default=None, pattern=_WORD.pattern)
    """Xilinx part FINN's resource and cycle estimates are computed for (default: the
    part on Xilinx boards; required on the others, whose parts FINN does not know)."""
    vivado: VivadoOptions | None = None
    nextpnr: list[str] = Field(default_factory=list)
    """Extra nextpnr arguments of the open flow (device selection and such)."""
    _source_dir: Path | None = PrivateAttr(default=None)

    @field_validator("nextpnr")
    @classmethod
    def _nextpnr_words(cls, words: list[str]) -> list[str]:
        for word in words:
            if not re.match(r"^[A-Za-z0-9_.=/:\-]+$", word):
                raise ValueError(f"nextpnr argument {word!r} may hold letters, digits, ._=/:-")
        return words

    @model_validator(mode="after")
    def _check(self) -> Board:
        if not _NAME.match(self.name):
            raise ValueError(f"board name {self.name!r} must match {_NAME.pattern}")
        if self.family not in VENDOR_FAMILIES[self.vendor]:
            raise ValueError(
                f"family {self.family!r} is not a {self.vendor} family; "
                f"{self.vendor} families: {', '.join(VENDOR_FAMILIES[self.vendor])}"
            )
        if (self.flow == "vivado") != (self.vendor == "xilinx"):
            raise ValueError(
                f"flow {self.flow!r} does not build {self.vendor} parts; "
                f"use flow {'vivado' if self.vendor == 'xilinx' else 'open'}"
            )
        if self.vivado is not None and self.flow != "vivado":
            raise ValueError("the vivado section applies only to flow: vivado")
        if self.flow == "open" and (self.io is None or self.io.uart is None):
            raise ValueError("flow open needs io.clock and io.uart (the shell's pins)")
        if self.vendor != "xilinx" and self.estimate_part is None:
            raise ValueError(
                "estimate_part is required on non-Xilinx boards: the Xilinx part FINN's "
                "estimates are computed for (e.g. xc7z020clg400-1)"
            )
        if isinstance(self.constraints, str):
            want = CONSTRAINT_SUFFIX[self.family]
            if not re.match(r"^[A-Za-z0-9_.\-]+$", self.constraints) or not (
                self.constraints.endswith(want)
            ):
                raise ValueError(
                    f"constraints {self.constraints!r} must be a file name (no folder) "
                    f"ending in {want}, or a list of constraint lines"
                )
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

    @property
    def finn_part(self) -> str:
        """The Xilinx part FINN's estimates (folding, cycles, resources) use."""
        return self.estimate_part or self.part

    @property
    def has_dsp(self) -> bool:
        """Whether the device has DSP blocks (multipliers a design can map to)."""
        return self.resources.get("DSP", 0) > 0

    def budget(self) -> dict[str, int]:
        """Resources a design may plan to use: ``floor(available * limit)`` per class."""
        return {
            key: math.floor(avail * self.limits.get(key, 1.0))
            for key, avail in self.resources.items()
        }

    def memory_bits(self) -> dict[str, int]:
        """On-chip memory a design may plan to use, in bits per class (its budget times
        the bits one count holds; LUTs counted as if all held memory: an upper bound)."""
        bits, budget = MEMORY_BITS[self.family], self.budget()
        return {key: budget[key] * per for key, per in bits.items() if key in budget}

    def units(self) -> dict[str, str]:
        """The family's unit of each of the board's resource classes."""
        units = UNITS[self.family]
        return {key: units.get(key, key) for key in self.resources}

    def constraints_file(self) -> Path | None:
        """The constraint file ``constraints`` names (next to the board file), or None
        when the board gives lines (or nothing)."""
        if not isinstance(self.constraints, str):
            return None
        path = (self._source_dir or boards_dir()) / self.constraints
        if not path.is_file():
            raise ConfigError(f"board {self.name}: constraint file {path} not found")
        return path

    def constraint_lines(self) -> list[str]:
        """The extra constraint lines the board file gives (empty for a file)."""
        return list(self.constraints) if isinstance(self.constraints, list) else []


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
    path = Path(path)
    raw = read_yaml_mapping(path, "board file")
    try:
        board = Board.model_validate(raw)
    except ValidationError as exc:
        errors = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<board>'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid board file {path}: {errors}") from exc
    if board.name != path.stem:
        raise ConfigError(
            f"board file {path} declares name {board.name!r}; it must equal the file name"
        )
    board._source_dir = path.parent
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

    >>> get_board("zcu42")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    codesign.board.registry.UnknownBoardError: unknown board 'zcu42'; known boards: ...
    """
    return _get_board_cached(name.strip().lower())
