"""The kernel registry: every op type has one kernel, every kernel an rtl/ module, and no
code outside codesign/kernels switches on a hardware op type."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from typer.testing import CliRunner

import codesign
from codesign.backends.rtl import module_parameters
from codesign.cli import app
from codesign.dataflow.kernels import (
    DOMAIN,
    Lowering,
    custom_op,
    is_hw_domain,
    kernel_for,
    kernel_named,
    kernels,
    lowerings,
)
from codesign.dataflow.kernels._lowering import order_lowerings
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


def test_no_lowering_outside_the_registry() -> None:
    """Only kernel modules import FINN's convert_to_hw transformations or name one: the
    lowering sequence, the lowerable ops and the import allowlist come from the kernels'
    Lowering declarations."""
    import finn.transformation.fpgadataflow.convert_to_hw as convert_to_hw

    infer = set()
    for mod in pkgutil.iter_modules(convert_to_hw.__path__):
        mod_name = f"{convert_to_hw.__name__}.{mod.name}"
        module = importlib.import_module(mod_name)
        own = {n for n, v in vars(module).items() if getattr(v, "__module__", "") == mod_name}
        infer |= own
    assert {"InferQuantizedMatrixVectorActivation", "InferDuplicateStreamsLayer"} <= infer
    named = re.compile(rf"convert_to_hw\b[\w.]*\s+import|\b({'|'.join(sorted(infer))})\b")
    offenders = []
    for src in PACKAGE.rglob("*.py"):
        if "kernels" in src.relative_to(PACKAGE).parts:
            continue
        for i, line in enumerate(src.read_text().splitlines(), 1):
            if named.search(line) or re.match(r"\s*import\s+\S*convert_to_hw", line):
                offenders.append(f"{src.relative_to(PACKAGE)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_every_kernel_says_how_its_node_comes_to_exist() -> None:
    for k in kernels():
        assert bool(k.lowerings) != bool(k.created_by), k.name


def test_lowerings_run_in_finn_builder_order() -> None:
    assert [lw.name for lw in lowerings()] == [
        "InferBinaryMatrixVectorActivation", "InferQuantizedMatrixVectorActivation",
        "InferVectorVectorActivation", "InferLabelSelectLayer", "InferThresholdingLayer",
        "InferPool", "InferConvInpGen", "InferConcatLayer", "InferSplitLayer",
        "InferElementwiseBinaryOperation", "InferGlobalAccPoolLayer", "InferIntSoftmax",
        "InferLinearAttention", "InferStreamMatMul", "InferStreamReshape", "InferUpsample",
        "InferDuplicateStreamsLayer",
    ]


def _lw(name: str, **kw: Any) -> Lowering:
    return Lowering(name, list, **kw)


def test_lowering_order_constraints() -> None:
    order = order_lowerings([("k1", _lw("D", last=True)), ("k2", _lw("C", before=("A",))),
                             ("k3", _lw("A")), ("k4", _lw("B", after=("A",)))])
    assert [lw.name for lw in order] == ["C", "A", "B", "D"]
    with pytest.raises(LoweringError, match=r"kernel k2: lowering B .*unknown lowering\(s\) Z"):
        order_lowerings([("k1", _lw("A")), ("k2", _lw("B", after=("Z",)))])
    with pytest.raises(LoweringError, match=r"lowering A is declared by kernels k1 and k2"):
        order_lowerings([("k1", _lw("A")), ("k2", _lw("A"))])
    with pytest.raises(LoweringError, match=r"wait on each other: A, B"):
        order_lowerings([("k1", _lw("A", after=("B",))), ("k2", _lw("B", after=("A",)))])


def test_hw_domains() -> None:
    assert is_hw_domain("finn.custom_op.fpgadataflow")
    assert is_hw_domain("finn.custom_op.fpgadataflow.rtl")
    assert is_hw_domain(DOMAIN) and importlib.import_module(DOMAIN).custom_op is custom_op
    assert not is_hw_domain("qonnx.custom_op.general") and not is_hw_domain("")


def test_codesign_never_imports_rtl_sim() -> None:
    imports = re.compile(r"^\s*(from|import)\s+rtl_sim\b", re.MULTILINE)
    assert not [p for p in PACKAGE.rglob("*.py") if imports.search(p.read_text())]
