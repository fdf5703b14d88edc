"""The Yosys script of a synthesis run: read the sources, set the top's parameters, run
the family's ``synth_*`` command and write statistics, with every path relative to the
output folder (the YoWASP build sees ``/tmp`` as a private folder)."""


from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from codesign.board.registry import Board
from codesign.errors import CodesignError

#: Files written into the output folder.
SCRIPT_NAME = "synth.ys"
LOG_NAME = "yosys.log"
STAT_JSON = "stat.json"
STAT_TXT = "stat.txt"
HIER_JSON = "hierarchy.json"
RESULT_JSON = "synth.json"

#: Default ``synth_xilinx`` flags: out-of-context (no I/O buffers, no global clock buffer).
XILINX_FLAGS: tuple[str, ...] = ("-noiopad", "-noclkbuf")
XILINX_FAMILIES = ("xcup", "xcu", "xc7")

ParamValue = int | str | Path
DefineValue = int | str | None


class SynthesisError(CodesignError):
    """Yosys failed, or its input was rejected; the message quotes the log and names it."""



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
    if board.family in XILINX_FAMILIES:
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


#: The label after Xilinx's ``map_memory``, and the check that its memory mapping chose
#: no block or ultra RAM: no ``$__`` cell but LUT-RAMs is left for a later map to take.
XILINX_AFTER_MEMORY = "map_ffram"
NO_BLOCK_RAM = "select -assert-none t:$__* t:$__XILINX_LUTRAM* %d"
_BLOCK_RAM_MAP = re.compile(r"^techmap -map \+/xilinx/(brams|urams)_[A-Za-z0-9_]*\.v$")


def without_block_ram(label_commands: Sequence[str]) -> list[str] | None:
    """Xilinx's ``map_memory`` commands (as this Yosys runs them) for a design without
    block RAM: its memory mapping, :data:`NO_BLOCK_RAM`, and its techmaps but the block
    and ultra RAM ones. Parsing those maps costs about 3 s of a small kernel's 5 s in the
    WebAssembly Yosys; on a design with no cell for them they change nothing. None if
    the label runs anything else (then it runs whole).

    >>> for line in without_block_ram(["memory_libmap -lib +/xilinx/lutrams_xcu.txt",
    ...     "techmap -map +/xilinx/lutrams_xc5v_map.v", "techmap -map +/xilinx/brams_xcu_map.v"]):
    ...     print(line)
    memory_libmap -lib +/xilinx/lutrams_xcu.txt
    select -assert-none t:$__* t:$__XILINX_LUTRAM* %d
    techmap -map +/xilinx/lutrams_xc5v_map.v
    >>> without_block_ram(["memory_libmap -lib x.txt", "opt"]) is None
    True
    """
    libmaps = [c for c in label_commands if c.startswith("memory_libmap ")]
    techmaps = [c for c in label_commands if c.startswith("techmap -map ")]
    if len(libmaps) != 1 or len(libmaps) + len(techmaps) != len(label_commands):
        return None
    kept = [c for c in techmaps if not _BLOCK_RAM_MAP.match(c)]
    return [*libmaps, NO_BLOCK_RAM, *kept]


def synth_steps(
    board: Board, top: str, out_dir: Path, flags: Sequence[str] = (),
    map_memory: Sequence[str] | None = None,
) -> list[str]:
    """The script lines that synthesize ``top``: the family's synthesis command, split
    where it maps memories to map the distributed ROMs onto LUTs first. ``map_memory``
    replaces a Xilinx command's ``map_memory`` label (:func:`without_block_ram`)."""
    command = synth_command(board, top, flags)
    label, library, techmap = _LUTROM[board.family]
    library, techmap = (script_path(LUTROM_DIR / f, out_dir) for f in (library, techmap))
    rest = [f"{command} -run {label}:"]
    if map_memory is not None:
        if board.family not in XILINX_FAMILIES:
            raise SynthesisError(f"map_memory replaces a Xilinx label, not {board.family}'s")
        rest = [*map_memory, f"{command} -run {XILINX_AFTER_MEMORY}:"]
    return [
        f"{command} -run :{label}",
        # only ROMs that ask for it: unstyled memories stay with the family's own choice
        f"memory_libmap -no-auto-distributed -lib {library}",
        "setundef -zero -params t:$__CS_LUTROM*",  # words past a ROM's depth read 0
        f"techmap -map {techmap}",
        *rest,
    ]


def flatten_flags(board: Board) -> tuple[str, ...]:
    """The flags that flatten a design before synthesis: ``synth_xilinx`` keeps the
    hierarchy unless told, the other families' commands flatten by default.

    >>> from codesign.board.registry import get_board
    >>> flatten_flags(get_board("zcu104")), flatten_flags(get_board("icebreaker"))
    (('-flatten',), ())
    """
    return ("-flatten",) if board.family in XILINX_FAMILIES else ()


def recipe_digest(board: Board, flags: Sequence[str] = ()) -> str:
    """Digest of how :func:`synth_steps` synthesizes for ``board`` with ``flags``
    (command and ROM mapping files), for cache keys."""
    h = hashlib.sha256(synth_command(board, "top", flags).encode())
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
    map_memory: Sequence[str] | None = None,
) -> Path:
    """Write ``out_dir/synth.ys`` and return its path (no Yosys is run). ``netlist``
    names a JSON netlist file written after synthesis (for place and route);
    ``map_memory`` as for :func:`synth_steps`."""
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
    lines += [*synth_steps(board, top, out_dir, flags, map_memory), *_outputs(netlist)]
    script = out_dir / SCRIPT_NAME
    script.write_text("\n".join(lines) + "\n")
    return script


def _outputs(netlist: str | None) -> list[str]:
    """The script lines after synthesis: statistics, the netlist, the hierarchy."""
    return [
        f"tee -q -o {STAT_JSON} stat -json",
        f"tee -q -o {STAT_TXT} stat",
        *([f"write_json {_file_name(netlist)}"] if netlist else []),
        # keep only the user-module instances, to record the hierarchy compactly
        "delete */c:* * %C %d",
        "delete =A:blackbox",
        "opt_clean -purge",
        f"write_json {HIER_JSON}",
    ]


def _file_name(name: str) -> str:
    if not re.match(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$", name):
        raise SynthesisError(f"output file name {name!r} must be a plain file name")
    return name


