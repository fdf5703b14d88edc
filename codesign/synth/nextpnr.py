"""The open flow: Yosys synthesis of the whole board top (shell + accelerator) for the
family, the fit check, nextpnr place and route, and packing to the board's bitstream.

=========  ===================  ============================  ==================
family     Yosys                place and route               bitstream
=========  ===================  ============================  ==================
ice40      ``synth_ice40 -dsp``  ``nextpnr-ice40`` (.asc)       ``icepack`` .bin
ecp5       ``synth_ecp5``        ``nextpnr-ecp5`` (.config)     ``ecppack`` .bit
gowin      ``synth_gowin``       ``nextpnr-himbaechel`` (.json)  ``gowin_pack`` .fs
=========  ===================  ============================  ==================

Every tool runs in the work folder with relative file names (the YoWASP builds see
``/tmp`` as a private folder, see :func:`codesign.synth.yosys.run_yosys`), with argument
lists, never a shell. nextpnr's JSON report gives the utilisation and the achieved fmax;
a design over the board's budget is refused before place and route (:mod:`fit`), one
that misses the board clock after it (:class:`TimingError`), each with a named message.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codesign.backends.rtl import RtlProject
from codesign.board.registry import Board
from codesign.board.shell import ShellProject
from codesign.errors import CodesignError, ToolNotFoundError
from codesign.synth.fit import check_fit
from codesign.synth.yosys import synthesize
from codesign.synth.yosys_script import SynthesisError
from codesign.synth.yosys_stats import SynthResult
from codesign.tools import find_tool, install_hint, is_yowasp, tool_version

NETLIST = "netlist.json"
REPORT = "nextpnr_report.json"
PNR_LOG = "nextpnr.log"
PACK_LOG = "pack.log"

#: Per family: nextpnr tool, its placed output, the packer, and the bitstream file.
FAMILY_FLOW: dict[str, tuple[str, str, str, str]] = {
    "ice40": ("nextpnr-ice40", "board.asc", "icepack", "board.bin"),
    "ecp5": ("nextpnr-ecp5", "board.config", "ecppack", "board.bit"),
    "gowin": ("nextpnr-gowin", "pnr.json", "gowin_pack", "board.fs"),
}
#: Gowin families whose nextpnr ``--vopt family=`` name is also gowin_pack's ``-d`` device.
_GOWIN_FAMILIES = ("GW1N-1", "GW1N-4", "GW1N-9", "GW1N-9C", "GW1NS-4", "GW2A-18", "GW2A-18C")


class PlaceRouteError(CodesignError):
    """nextpnr or the bitstream packer failed; the message quotes the log."""


class TimingError(CodesignError):
    """The placed and routed design misses the board's clock."""


@dataclass(frozen=True)
class OpenFlowResult:
    """What one open-flow run produced and measured."""

    board: str
    family: str
    part: str
    bitstream: str
    """The bitstream file, relative to the work folder."""
    clock_mhz: float
    fmax_mhz: float | None
    timing_met: bool
    synth_resources: dict[str, float]
    """Yosys's resource classes of the whole board top (see codesign.synth.yosys)."""
    utilisation: dict[str, dict[str, int]]
    """nextpnr's used / available per BEL type."""
    budget: dict[str, int]
    seconds: dict[str, float]
    tools: dict[str, str | None]
    commands: list[list[str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "board": self.board, "family": self.family, "part": self.part,
            "flow": "open", "bitstream": self.bitstream,
            "clock_mhz": self.clock_mhz, "fmax_mhz": self.fmax_mhz,
            "timing_met": self.timing_met,
            "resources": self.synth_resources, "budget": self.budget,
            "utilisation": self.utilisation, "seconds": self.seconds, "tools": self.tools,
            "commands": self.commands,
        }


def _require(name: str) -> Path:
    exe = find_tool(name)
    if exe is None:
        raise ToolNotFoundError(f"{name} not found; to get it: {install_hint(name)}")
    return exe


def _tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "    (no log)"
    keep = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join("    " + line for line in keep)


def _run(command: list[str], cwd: Path, log: Path, what: str, timeout_s: float) -> float:
    """Run one tool in ``cwd`` (relative names only), its output into ``log``."""
    for word in command[1:]:
        if word.startswith("/"):
            raise PlaceRouteError(f"{what}: argument {word!r} is absolute; tools run in {cwd}")
    start = time.monotonic()
    try:
        proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True,
                              timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PlaceRouteError(f"{what} did not finish within {timeout_s:.0f} s") from exc
    except OSError as exc:
        raise ToolNotFoundError(f"cannot run {command[0]}: {exc}") from exc
    log.write_text(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise PlaceRouteError(
            f"{what} failed (exit {proc.returncode}); last lines of {log}:\n{_tail(log)}"
        )
    return time.monotonic() - start


def nextpnr_command(board: Board, exe: Path, constraints: str, seed: int) -> list[str]:
    """The nextpnr argument list for ``board`` (file names relative to the work folder)."""
    _, placed, _, _ = FAMILY_FLOW[board.family]
    words = [str(exe), *board.nextpnr, "--json", NETLIST, "--freq", f"{board.clock_mhz:g}",
             "--seed", str(seed), "--report", REPORT, "--timing-allow-fail"]
    if board.family == "ice40":
        words += ["--pcf", constraints, "--asc", placed]
    elif board.family == "ecp5":
        words += ["--lpf", constraints, "--textcfg", placed]
    else:
        words += ["--vopt", f"cst={constraints}", "--write", placed]
    if not is_yowasp(exe):
        words += ["--threads", "1"]
    return words


def _gowin_family(board: Board) -> str:
    for i, word in enumerate(board.nextpnr[:-1]):
        if word == "--vopt" and board.nextpnr[i + 1].startswith("family="):
            family = board.nextpnr[i + 1].split("=", 1)[1]
            if family in _GOWIN_FAMILIES:
                return family
    raise PlaceRouteError(
        f"board {board.name}: its nextpnr arguments name no known Gowin family "
        f"(--vopt family=..., one of {', '.join(_GOWIN_FAMILIES)})"
    )


def pack_command(board: Board, exe: Path) -> list[str]:
    _, placed, _, bitstream = FAMILY_FLOW[board.family]
    if board.family == "ice40":
        return [str(exe), placed, bitstream]
    if board.family == "ecp5":
        return [str(exe), "--compress", placed, "--bit", bitstream]
    return [str(exe), "-d", _gowin_family(board), "-o", bitstream, placed]


def parse_report(report: dict[str, Any]) -> tuple[float | None, dict[str, dict[str, int]]]:
    """Achieved fmax of the slowest clock (MHz) and used/available per BEL type of a
    nextpnr ``--report`` file.

    >>> parse_report({"fmax": {"clk": {"achieved": 31.5, "constraint": 12.0}},
    ...               "utilization": {"ICESTORM_LC": {"used": 10, "available": 5280}}})
    (31.5, {'ICESTORM_LC': {'used': 10, 'available': 5280}})
    """
    fmax_table = report.get("fmax") or {}
    achieved = [float(v["achieved"]) for v in fmax_table.values() if "achieved" in v]
    util = {
        str(bel): {"used": int(v["used"]), "available": int(v["available"])}
        for bel, v in (report.get("utilization") or {}).items()
        if int(v.get("used", 0)) > 0
    }
    return (min(achieved) if achieved else None), util


def run_open_flow(
    shell: ShellProject,
    accel: RtlProject,
    board: Board,
    work: Path,
    *,
    seed: int = 1,
    timeout_s: float = 3600.0,
) -> OpenFlowResult:
    """Synthesize, check the fit, place and route and pack ``shell`` for ``board`` in
    ``work`` (emptied of earlier outputs first). Raises :class:`FitError`
    (before place and route), :class:`PlaceRouteError` or :class:`TimingError`; on a
    timing failure the result is still written to ``work/open_flow.json``."""
    if board.flow != "open" or board.family not in FAMILY_FLOW:
        raise CodesignError(
            f"board {board.name} is built by flow {board.flow!r}, not the open flow "
            f"(open-flow families: {', '.join(FAMILY_FLOW)})"
        )
    tool, placed, packer, bitstream = FAMILY_FLOW[board.family]
    pnr_exe, pack_exe = _require(tool), _require(packer)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    for stale in (NETLIST, REPORT, placed, bitstream, "open_flow.json"):
        (work / stale).unlink(missing_ok=True)
    accel.stage_memories(work)  # $readmemh names ROM files relative to the tool's folder
    constraints = shutil.copyfile(shell.constraints, work / shell.constraints.name)

    res = _synthesize(shell, board, work, timeout_s)
    check_fit(res.totals, board, f"the accelerator with its UART shell ({shell.top})")

    seconds = {"synth": res.seconds}
    commands = [res.command]
    pnr = nextpnr_command(board, pnr_exe, constraints.name, seed)
    seconds["place_route"] = round(_run(pnr, work, work / PNR_LOG, tool, timeout_s), 3)
    commands.append(pnr)
    pack = pack_command(board, pack_exe)
    seconds["pack"] = round(_run(pack, work, work / PACK_LOG, packer, timeout_s), 3)
    commands.append(pack)
    if not (work / bitstream).is_file():
        raise PlaceRouteError(f"{packer} wrote no {bitstream}; log: {work / PACK_LOG}")
    try:
        report = json.loads((work / REPORT).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise PlaceRouteError(f"cannot read nextpnr's report {work / REPORT}: {exc}") from exc
    fmax, util = parse_report(report)
    met = fmax is not None and fmax >= board.clock_mhz
    result = OpenFlowResult(
        board=board.name, family=board.family, part=board.part, bitstream=bitstream,
        clock_mhz=board.clock_mhz, fmax_mhz=None if fmax is None else round(fmax, 2),
        timing_met=met, synth_resources=dict(res.totals), utilisation=util,
        budget=board.budget(), seconds=seconds,
        tools={name: tool_version(name) for name in ("yosys", tool)},
        commands=[[Path(c[0]).name, *c[1:]] for c in commands],
    )
    (work / "open_flow.json").write_text(json.dumps(result.to_json(), indent=2) + "\n")
    if not met:
        got = "no clock found in the report" if fmax is None else f"fmax {fmax:.1f} MHz"
        raise TimingError(
            f"{shell.top} on {board.name} misses timing: {got} < the board clock "
            f"{board.clock_mhz:g} MHz (report {work / REPORT}); fold more (shorter "
            "adder trees) or narrow the accumulators (quant.acc_bits)"
        )
    return result


def _synthesize(
    shell: ShellProject, board: Board, work: Path, timeout_s: float
) -> SynthResult:
    """Yosys on the whole board top in ``work`` (the ROM files are staged there)."""
    try:
        return synthesize(list(shell.sources), shell.top, board, work, netlist=NETLIST,
                          timeout_s=timeout_s)
    except SynthesisError as err:
        raise SynthesisError(f"synthesizing the board top for {board.name}: {err}") from err

