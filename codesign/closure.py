"""Code digests: what a piece of the flow runs, digested from the import closure of its
modules, so that a cached result (a flow step, a trained checkpoint) is redone whenever
the code it runs changes, and for no other edit; nothing here is a hand-kept file list.

What counts as the code of some entry modules:

- **Their import closure** among the first-party packages (``codesign`` and ``rtl_sim``),
  found by parsing each module with :mod:`ast`: ``import`` and ``from`` statements at
  any depth, function-local ones included (the flow imports heavily inside functions),
  each parent package's ``__init__`` (importing a module runs them), and three kinds of
  reference that are not import statements:

  - a package that loads its submodules at run time (``pkgutil.iter_modules``, as the
    kernel and model-family registries do) imports every module beside it;
  - a string constant naming an ``rtl_sim`` module is a testbench cocotb runs by name in
    a subprocess, so it is code the step runs;
  - ``data_dir("rtl")`` (or hls, rtl_sim, boards) reads that folder's non-Python files:
    HDL, C++ headers, board files; the whole folder is digested.

  Imports under ``if TYPE_CHECKING:`` run nothing and do not count.
- **The flow's own machinery is not followed**: ``codesign.flow`` outside
  ``codesign.flow.steps`` (the table, the runner, the keys, the build directory, results
  assembly) schedules steps and stores what they return. Following it would put every
  step's module into every step's closure (the table imports them all), so that any edit
  anywhere re-ran everything; what a step computes lives in its own module and what that
  imports.
- **Distributions by version**: every third-party top-level package the closure imports,
  mapped to its distribution (``torch`` → torch, ``finn`` → finn-plus).
"""
from __future__ import annotations

import ast
import functools
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from codesign.cache import files_digest

FIRST_PARTY = ("codesign", "rtl_sim")
"""Top-level packages whose sources are digested (the rest is versioned)."""
NOT_FOLLOWED = "codesign.flow"
FOLLOWED_FLOW = "codesign.flow.steps"
DATA_DIRS = ("rtl", "hls", "rtl_sim", "boards")
"""Folders of non-Python files a module may read through ``data_dir(name)``."""
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
"""The folder that holds the ``codesign`` package (and rtl_sim, rtl/, hls/ beside it)."""


@dataclass
class _Refs:
    """What one module refers to."""

    modules: set[str]
    data: set[str]
    third_party: set[str]


class _ImportVisitor(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.names: set[str] = set()
        self.strings: set[str] = set()
        self.data: set[str] = set()
        self.loads_submodules = False

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
        if name == "TYPE_CHECKING":
            for stmt in node.orelse:
                self.visit(stmt)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        self.names.update(alias.name for alias in node.names)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            parts = self.package.split(".")
            parent = ".".join(parts[: len(parts) - node.level + 1])
            base = f"{parent}.{base}" if base else parent
        self.names.add(base)
        # ``from pkg import sub`` imports the submodule where one is so named
        self.names.update(f"{base}.{alias.name}" for alias in node.names)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name == "iter_modules":
            self.loads_submodules = True
        if name == "data_dir" and node.args and isinstance(node.args[0], ast.Constant):
            self.data.add(str(node.args[0].value))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and node.value.startswith("rtl_sim."):
            self.strings.add(node.value)


def _source(root: Path, module: str) -> Path | None:
    """The file of first-party ``module`` under ``root``, or None (not a module)."""
    base = root.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


@functools.lru_cache(maxsize=4096)
def _visit(module: str, is_package: bool, text: str) -> _ImportVisitor:
    """The references in one module's source (parsed once per content)."""
    visitor = _ImportVisitor(module, is_package)
    visitor.visit(ast.parse(text, filename=module))
    return visitor


def _refs(root: Path, module: str, path: Path) -> _Refs:
    visitor = _visit(module, path.name == "__init__.py", path.read_text())
    modules: set[str] = set()
    third: set[str] = set()
    for name in visitor.names | visitor.strings:
        top = name.partition(".")[0]
        if top in FIRST_PARTY:
            if _source(root, name) is not None:
                modules.add(name)
        elif name in visitor.names and top and top not in sys.stdlib_module_names:
            third.add(top)
    if visitor.loads_submodules:  # every module and subpackage beside it
        for sub in sorted(path.parent.iterdir()):
            module_file = sub.suffix == ".py" and sub.name != "__init__.py"
            if module_file or (sub / "__init__.py").is_file():
                modules.add(f"{visitor.package}.{sub.stem}")
    return _Refs(modules, visitor.data, third)


def _followed(module: str) -> bool:
    if module == FOLLOWED_FLOW or module.startswith(FOLLOWED_FLOW + "."):
        return True
    return not (module == NOT_FOLLOWED or module.startswith(NOT_FOLLOWED + "."))


def import_closure(entries: Iterable[str], root: Path = PACKAGE_ROOT) -> _Refs:
    """The first-party modules ``entries`` run (themselves included, with their parent
    packages), the data folders they read and the third-party packages they import.

    >>> refs = import_closure(["codesign.errors"])
    >>> sorted(refs.modules), sorted(refs.data), sorted(refs.third_party)
    (['codesign', 'codesign.errors'], [], [])
    """
    seen: set[str] = set()
    todo = list(entries)
    closure = _Refs(set(), set(), set())
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        seen.add(module)
        path = _source(root, module)
        if path is None:
            raise FileNotFoundError(f"module {module!r} not found under {root}")
        closure.modules.add(module)
        refs = _refs(root, module, path)
        closure.data |= refs.data
        closure.third_party |= refs.third_party
        parents = [module.rsplit(".", i)[0] for i in range(1, module.count(".") + 1)]
        todo += [m for m in (*refs.modules, *parents) if _followed(m) and m not in seen]
    return closure


def _data_files(root: Path, name: str) -> dict[str, Path]:
    """The non-Python files of data folder ``name`` (a wheel's, or the checkout's)."""
    for folder in (root / "codesign" / "_data" / name, root / name):
        if folder.is_dir():
            return {
                f"{name}/{p.relative_to(folder).as_posix()}": p
                for p in sorted(folder.rglob("*"))
                if p.is_file() and p.suffix not in (".py", ".pyc")
            }
    raise FileNotFoundError(f"data folder {name!r} not found under {root}")


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return dict(metadata.packages_distributions())


def _versions(packages: Iterable[str]) -> dict[str, str]:
    dists = {d for top in packages for d in _distributions().get(top, [])}
    return {d: metadata.version(d) for d in sorted(dists)}


@functools.cache
def code_digest(entries: tuple[str, ...], root: Path = PACKAGE_ROOT) -> dict[str, str]:
    """``code``: the digest of the closure of ``entries`` (sources and data files read);
    then the version of each distribution it imports.

    >>> key = code_digest(("codesign.verify.sim",))
    >>> "code" in key and "cocotb" in key and "torch" not in key
    True
    """
    refs = import_closure(entries, root)
    files: dict[str, Path] = {}
    for module in sorted(refs.modules):
        path = _source(root, module)
        assert path is not None  # import_closure found it
        files[path.relative_to(root).as_posix()] = path
    for name in sorted(refs.data):
        files.update(_data_files(root, name))
    return {"code": files_digest(files)[:16], **_versions(refs.third_party)}
