"""Reading Yosys's statistics and hierarchy JSON into per-module and per-instance
resources (own cells, and totals including every submodule)."""


from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from codesign.board.registry import Board
from codesign.synth.cells import _IGNORED, add_counts, cell_resources, tidy_counts
from codesign.synth.fit import check_fit
from codesign.synth.yosys_script import SynthesisError

# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class ModuleResources:
    """One synthesized module (a distinct parameterisation of a source module)."""

    name: str
    """Yosys module name, e.g. ``$paramod\\mvau\\PE=s32'...``."""
    display_name: str
    """Readable name, e.g. ``mvau(PE=4,SIMD=8)`` or ``mvau`` when Yosys hashed the params."""
    cells: dict[str, int]
    """Mapped primitive cells placed directly in this module."""
    own: dict[str, float]
    """Resource classes of :attr:`cells`."""
    total: dict[str, float]
    """Resource classes including every submodule instance."""
    submodules: dict[str, str]
    """Instance name -> module name of the user-module instances inside this module."""


@dataclass(frozen=True)
class InstanceResources:
    """One instance in the hierarchy below the top, with its resources incl. children."""

    path: str
    """Dotted instance path from the top, e.g. ``u_layer0.u_mvau``."""
    module: str
    display_name: str
    total: dict[str, float]


@dataclass(frozen=True)
class SynthResult:
    """Resources of a synthesized design, per module, per instance and in total."""

    top: str
    board: str
    part: str
    family: str
    yosys: str
    yosys_version: str | None
    command: list[str]
    totals: dict[str, float]
    """Resource classes of the whole design (see the module docstring)."""
    available: dict[str, int]
    """The board's resources (from ``boards/<board>.yaml``)."""
    percent: dict[str, float]
    """``100 * totals / available`` for every class the board lists."""
    budget: dict[str, int]
    """The board's planning budget (available x limit)."""
    cells: dict[str, int]
    """Primitive cell counts of the whole design."""
    modules: dict[str, ModuleResources]
    instances: dict[str, InstanceResources]
    out_dir: str
    log_path: str
    seconds: float
    notes: list[str] = field(default_factory=list)

    def over_budget(self) -> dict[str, float]:
        """Classes whose use exceeds the board's planning budget: class -> amount used."""
        return {k: v for k, v in self.totals.items() if k in self.budget and v > self.budget[k]}

    def require_fit(self, board: Board) -> None:
        """Refuse (:class:`~codesign.synth.fit.FitError`) a design over the budget."""
        check_fit(self.totals, board, self.top)

    def to_dict(self) -> dict[str, object]:
        return asdict(self)



# ----------------------------------------------------------------------------- parsing


def _unescape(name: str) -> str:
    return name[1:] if name.startswith("\\") else name


def _decode_param(value: str) -> str:
    match = re.fullmatch(r"(s?)(\d+)'([01xz]+)", value)
    if not match or any(ch in "xz" for ch in match.group(3)):
        return value
    signed, width, bits = match.group(1), int(match.group(2)), match.group(3)
    number = int(bits, 2)
    if signed and width and bits[0] == "1" and len(bits) == width:
        number -= 1 << width
    return str(number)


def display_name(module: str) -> str:
    """A readable name for a Yosys module name.

    >>> display_name("$paramod\\\\radd\\\\W=s32'00000000000000000000000000001100")
    'radd(W=12)'
    >>> display_name("$paramod$1869ca6b\\\\rom")
    'rom'
    >>> display_name("\\\\top")
    'top'
    """
    module = _unescape(module)
    if not module.startswith("$paramod"):
        return module
    parts = module.split("\\")
    if parts[0] != "$paramod":  # $paramod$<hash>\name: parameters hashed away
        return parts[-1] if len(parts) > 1 else module
    base, params = parts[1], parts[2:]
    decoded = []
    for p in params:
        key, _, value = p.partition("=")
        decoded.append(f"{key}={_decode_param(value)}")
    return f"{base}({','.join(decoded)})" if decoded else base


def _submodules(
    hierarchy: Mapping[str, object], names: Mapping[str, object]
) -> dict[str, dict[str, str]]:
    """Per module of the statistics, its instances of other such modules (name: type)."""
    hier_modules = hierarchy.get("modules", {})
    assert isinstance(hier_modules, dict)
    submods: dict[str, dict[str, str]] = {name: {} for name in names}
    for mod_name, mod in hier_modules.items():
        mod_name = _unescape(mod_name)
        if mod_name not in names:
            continue
        cells = mod.get("cells", {}) if isinstance(mod, dict) else {}
        submods[mod_name] = {
            _unescape(inst): _unescape(cell["type"])
            for inst, cell in cells.items()
            if _unescape(cell["type"]) in names
        }
    return submods


def _own_cells(data: object, names: Mapping[str, object]) -> dict[str, int]:
    """A module's own primitive cells by type (submodules and constants excluded)."""
    by_type = data.get("num_cells_by_type", {}) if isinstance(data, dict) else {}
    cells = {
        _unescape(t): int(n)
        for t, n in by_type.items()
        if _unescape(t) not in names and _unescape(t) not in _IGNORED
    }
    return dict(sorted(cells.items()))


class _Totals:
    """Resources and cells of a module including every submodule, computed once each."""

    def __init__(self, own_cells: dict[str, dict[str, int]], family: str,
                 submods: dict[str, dict[str, str]]) -> None:
        self.own_cells, self.submods = own_cells, submods
        self.own: dict[str, dict[str, float]] = {}
        for mod_name, cells in own_cells.items():
            classes: dict[str, float] = {}
            for cell_type, count in cells.items():
                add_counts(classes, cell_resources(family, cell_type), count)
            self.own[mod_name] = classes
        self.resources: dict[str, dict[str, float]] = {}
        self.cells: dict[str, dict[str, int]] = {}

    def of(self, mod_name: str, depth: int = 0) -> dict[str, float]:
        if depth > 256:
            raise SynthesisError(f"module hierarchy too deep (recursive module {mod_name}?)")
        if mod_name not in self.resources:
            acc = dict(self.own[mod_name])
            cells = dict(self.own_cells[mod_name])
            for child in self.submods[mod_name].values():
                add_counts(acc, self.of(child, depth + 1))
                for cell_type, n in self.cells[child].items():
                    cells[cell_type] = cells.get(cell_type, 0) + n
            self.resources[mod_name] = acc
            self.cells[mod_name] = cells
        return self.resources[mod_name]


def parse_stats(
    stat: Mapping[str, object], hierarchy: Mapping[str, object], family: str, top: str
) -> tuple[dict[str, ModuleResources], dict[str, InstanceResources], dict[str, int]]:
    """Per module (own and total resources), per instance path under ``top``, and the
    design's cells by type, from Yosys's ``stat -json`` and hierarchy JSON."""
    raw_modules = stat.get("modules", {})
    assert isinstance(raw_modules, dict)
    names = {_unescape(k): v for k, v in raw_modules.items()}
    if top not in names:
        raise SynthesisError(f"top module {top!r} missing from the Yosys statistics")
    submods = _submodules(hierarchy, names)
    totals = _Totals({m: _own_cells(d, names) for m, d in names.items()}, family, submods)
    modules = {
        mod_name: ModuleResources(
            name=mod_name,
            display_name=display_name(mod_name),
            cells=totals.own_cells[mod_name],
            own=tidy_counts(totals.own[mod_name]),
            total=tidy_counts(totals.of(mod_name)),
            submodules=dict(sorted(submods[mod_name].items())),
        )
        for mod_name in names
    }
    instances: dict[str, InstanceResources] = {}

    def walk(mod_name: str, prefix: str) -> None:
        for inst, child in submods[mod_name].items():
            path = f"{prefix}.{inst}" if prefix else inst
            instances[path] = InstanceResources(
                path=path, module=child, display_name=display_name(child),
                total=modules[child].total,
            )
            walk(child, path)

    walk(top, "")
    return modules, instances, dict(sorted(totals.cells[top].items()))
