"""Parsers of Vivado's text reports (UG906): ``report_utilization`` (flat and
``-hierarchical``) and ``report_timing_summary``.

Both reports are tables of ``|``-separated cells (utilisation) or whitespace-separated
columns under a header line and a dashes line (timing). Columns are found by their
header names, not positions, because Vivado versions add columns (``Prohibited``,
``Util%``) and families name rows differently (``CLB LUTs`` on UltraScale+, ``Slice
LUTs`` on 7-series).
"""

from __future__ import annotations

import re
from typing import Any

from codesign.errors import CodesignError


class ReportError(CodesignError):
    """A Vivado report does not have the table it should."""


#: Our resource classes and the utilisation-report rows that count them, first found wins.
#: Flip-flops: the register row that excludes latches where the report has it.
_SITE_ROWS: dict[str, tuple[str, ...]] = {
    "LUT": ("CLB LUTs", "Slice LUTs"),
    "FF": ("Register as Flip Flop", "CLB Registers", "Slice Registers"),
    "BRAM36": ("Block RAM Tile",),
    "URAM": ("URAM",),
    "DSP": ("DSPs",),
}


def _number(cell: str) -> float | int | None:
    cell = cell.strip().rstrip("%")
    if not cell:
        return None
    try:
        value = float(cell)
    except ValueError:
        return None
    return int(value) if value.is_integer() and "." not in cell else value


def _tables(text: str) -> list[list[list[str]]]:
    """Every ``|``-table of the report as rows of stripped cells (header row first);
    ``+---+`` rule lines are dropped."""
    tables: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("|") and s.endswith("|") and len(s) > 1:
            current.append([c.strip() for c in s[1:-1].split("|")])
        elif s.startswith("+") and set(s) <= {"+", "-", "="}:
            continue
        elif current:
            tables.append(current)
            current = []
    if current:
        tables.append(current)
    return tables


def parse_utilization(text: str) -> dict[str, Any]:
    """Used and available resources per class from a flat ``report_utilization``.

    Returns ``{"LUT": {"used": .., "available": .., "percent": ..}, ...}`` for every class
    of :data:`_SITE_ROWS` the report has (BRAM36 counts 36 Kb tiles: a RAMB18 is 0.5),
    plus ``device`` and ``design_state`` from the header where given.
    """
    found: dict[str, dict[str, Any]] = {}
    for table in _tables(text):
        header = [h.lower() for h in table[0]]
        if "site type" not in header or "used" not in header:
            continue
        col = {name: header.index(name) for name in ("site type", "used", "available", "util%")
               if name in header}
        for row in table[1:]:
            if len(row) != len(header):
                continue
            site = row[col["site type"]].rstrip("*").strip()
            for cls, names in _SITE_ROWS.items():
                if site not in names:
                    continue
                rank = names.index(site)
                if cls in found and found[cls]["_rank"] <= rank:
                    continue
                found[cls] = {
                    "used": _number(row[col["used"]]),
                    "available": _number(row[col["available"]]) if "available" in col else None,
                    "percent": _number(row[col["util%"]]) if "util%" in col else None,
                    "_rank": rank,
                }
    if not found:
        raise ReportError("no utilisation table (Site Type | Used | ...) in the report")
    result: dict[str, Any] = {
        cls: {k: v for k, v in rec.items() if k != "_rank"} for cls, rec in found.items()
    }
    for key, label in (("device", "Device"), ("design_state", "Design State")):
        m = re.search(rf"^\|\s*{label}\s*:\s*(.+?)\s*$", text, re.MULTILINE)
        if m:
            result[key] = m.group(1)
    return result


def parse_hierarchical_utilization(text: str) -> list[dict[str, Any]]:
    """Rows of ``report_utilization -hierarchical``: instance (indentation stripped),
    depth (from it), module and every numeric column by its header name."""
    for table in _tables(text):
        header = table[0]
        if not header or header[0] != "Instance" or "Module" not in header:
            continue
        rows = []
        for raw in text.splitlines():  # depth needs the indentation the cells lose
            s = raw.strip()
            if not (s.startswith("|") and s.endswith("|")):
                continue
            cells = s[1:-1].split("|")
            if len(cells) != len(header) or cells[0].strip() == "Instance":
                continue
            name = cells[0].rstrip()
            rec: dict[str, Any] = {
                "instance": name.strip(),
                "depth": (len(name) - len(name.lstrip()) - 1) // 2,
                "module": cells[header.index("Module")].strip(),
            }
            for h, c in zip(header, cells, strict=True):
                if h not in ("Instance", "Module"):
                    rec[h] = _number(c)
            rows.append(rec)
        return rows
    raise ReportError("no hierarchical utilisation table (Instance | Module | ...) in the report")


_SUMMARY_KEYS = {
    "WNS(ns)": "wns_ns", "TNS(ns)": "tns_ns", "TNS Failing Endpoints": "tns_failing_endpoints",
    "TNS Total Endpoints": "tns_total_endpoints", "WHS(ns)": "whs_ns", "THS(ns)": "ths_ns",
    "THS Failing Endpoints": "ths_failing_endpoints",
    "THS Total Endpoints": "ths_total_endpoints", "WPWS(ns)": "wpws_ns", "TPWS(ns)": "tpws_ns",
    "TPWS Failing Endpoints": "tpws_failing_endpoints",
    "TPWS Total Endpoints": "tpws_total_endpoints",
}


def _section(text: str, title: str) -> list[str]:
    """Lines of the report section titled ``| title`` up to the next section."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == f"| {title}":
            body: list[str] = []
            for follow in lines[i + 1:]:
                if follow.strip().startswith("| ") and body:
                    break
                body.append(follow)
            return body
    raise ReportError(f"no '{title}' section in the timing summary")


def parse_timing_summary(text: str) -> dict[str, Any]:
    """WNS/TNS/WHS/... from ``report_timing_summary``'s Design Timing Summary, the clocks
    of its Clock Summary, whether all constraints are met, and the fmax the worst setup
    slack gives on the primary clock (``1000 / (period - WNS)`` MHz)."""
    body = _section(text, "Design Timing Summary")
    header_at = next((i for i, s in enumerate(body) if "WNS(ns)" in s), None)
    if header_at is None or header_at + 2 >= len(body):
        raise ReportError("the Design Timing Summary has no WNS(ns) header and values")
    names = re.split(r"\s{2,}", body[header_at].strip())
    values = body[header_at + 2].split()
    if len(names) != len(values):
        raise ReportError(
            f"Design Timing Summary: {len(names)} columns but {len(values)} values"
        )
    result: dict[str, Any] = {
        _SUMMARY_KEYS.get(n, n): _number(v) for n, v in zip(names, values, strict=True)
    }
    clocks: list[dict[str, Any]] = []
    for line in _section(text, "Clock Summary"):
        m = re.match(r"^\s*(\S+)\s+(\{[^}]*\})\s+([\d.]+)\s+([\d.]+)\s*$", line)
        if m:
            clocks.append({"name": m.group(1), "waveform": m.group(2),
                           "period_ns": float(m.group(3)), "freq_mhz": float(m.group(4))})
    result["clocks"] = clocks
    if "All user specified timing constraints are met." in text:
        result["met"] = True
    elif "Timing constraints are not met." in text:
        result["met"] = False
    else:
        raise ReportError("the timing summary says neither that constraints are met nor not")
    wns = result.get("wns_ns")
    if clocks and isinstance(wns, int | float):
        period = float(clocks[0]["period_ns"])
        result["fmax_mhz"] = round(1000.0 / (period - wns), 3) if period > wns else None
    return result
