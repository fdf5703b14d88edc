"""The kernel registry: every op type has one kernel, every kernel an rtl/ module, and no
code outside codesign/kernels switches on a hardware op type."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

import codesign
from codesign.backends.rtl import module_parameters
from codesign.cli import app
from codesign.dataflow.kernels import kernel_for, kernel_named, kernels
from codesign.errors import LoweringError

PACKAGE = Path(codesign.__file__).parent


def test_every_kernel_has_its_rtl_module() -> None:
    found = {k.name: module_parameters(k.rtl_module) for k in kernels()}
    assert {"mvau", "thresholding", "fifo", "dwc", "label_select"} <= set(found)
    assert all(found.values())


def test_unknown_op_names_node_and_supported_ops() -> None:
    node = SimpleNamespace(name="Lookup_3", op_type="Lookup")
    with pytest.raises(LoweringError, match=r"node Lookup_3 \(Lookup\) has no kernel.*MVAU"):
        kernel_for(node)
    with pytest.raises(LoweringError, match=r"known kernels: .*mvau"):
        kernel_named("mvu")


def test_cli_lists_every_registered_op() -> None:
    result = CliRunner().invoke(app, ["kernels"], env={"COLUMNS": "250"})
    assert result.exit_code == 0, result.output
    for k in kernels():
        assert k.rtl_module in result.output
        for op in k.op_types:
            assert op in result.output


def test_no_op_type_switch_outside_the_registry() -> None:
    """A quoted hardware op type (e.g. "MVAU") in code outside codesign/kernels would be a
    per-op switch or table; per-op knowledge belongs to the kernel modules."""
    ops = sorted({op for k in kernels() for op in k.op_types})
    names = "|".join(map(re.escape, ops))
    literal = re.compile(rf"""["']({names})(_hls|_rtl)?["']""")
    offenders = []
    for src in PACKAGE.rglob("*.py"):
        if "kernels" in src.relative_to(PACKAGE).parts:
            continue
        for i, line in enumerate(src.read_text().splitlines(), 1):
            if literal.search(line):
                offenders.append(f"{src.relative_to(PACKAGE)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_codesign_never_imports_rtl_sim() -> None:
    imports = re.compile(r"^\s*(from|import)\s+rtl_sim\b", re.MULTILINE)
    assert not [p for p in PACKAGE.rglob("*.py") if imports.search(p.read_text())]
