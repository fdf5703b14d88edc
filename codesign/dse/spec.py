"""Sweep specs: the YAML that names a base flow config and the keys to vary (the format is
in :mod:`codesign.dse.sweep`), checked against :class:`FlowConfig`'s keys."""

from __future__ import annotations

import copy
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codesign.config import FlowConfig, read_yaml_mapping
from codesign.dse.store import JSON
from codesign.errors import CodesignError, ConfigError


class SweepError(CodesignError):
    """The sweep machinery itself failed (not a point: failed points are rows)."""


# --------------------------------------------------------------------------- spec


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RangeSpec(_Strict):
    """A numeric range; integers if both bounds are integers, log-uniform if ``log``."""

    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> RangeSpec:
        if self.high < self.low:
            raise ValueError(f"high ({self.high}) must be >= low ({self.low})")
        if self.log and self.low <= 0:
            raise ValueError("log ranges need low > 0")
        return self


class RandomSpec(_Strict):
    samples: int = Field(ge=1)
    seed: int = 0
    space: dict[str, list[Any] | RangeSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _nonempty_choices(self) -> RandomSpec:
        for key, dom in self.space.items():
            if isinstance(dom, list) and not dom:
                raise ValueError(f"random.space.{key}: needs at least one choice")
        return self


Grid = dict[str, list[Any]]


class SweepSpec(_Strict):
    """A validated sweep spec; build it with :func:`parse_sweep_spec` or
    :func:`load_sweep_spec` (they resolve ``base_config`` and check the swept keys)."""

    name: str | None = None
    base: dict[str, Any] = Field(default_factory=dict)
    """The base flow config mapping (``base_config`` already merged in)."""
    base_config: str | None = None
    until: str | None = None
    grid: Grid | list[Grid] = Field(default_factory=dict)
    random: RandomSpec | None = None
    pin_folding: dict[str, Any] | None = None
    """Overrides (on ``base``) of the point whose solved folding every point is built
    with; None lets each point solve its own."""

    def grids(self) -> list[Grid]:
        return self.grid if isinstance(self.grid, list) else [self.grid]


def _config_models(ann: Any) -> list[type[BaseModel]]:
    """The config sections an annotation holds: one model, or every model of a union
    (``model`` is the union of the model kinds' configs)."""
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    return [m for arg in typing.get_args(ann) for m in _config_models(arg)]


def _config_keys(model: type[BaseModel], prefix: str = "") -> dict[str, type[BaseModel] | None]:
    keys: dict[str, type[BaseModel] | None] = {}
    for name, info in model.model_fields.items():
        subs = _config_models(info.annotation)
        keys[prefix + name] = subs[0] if subs else None
        for sub in subs:
            keys.update(_config_keys(sub, f"{prefix}{name}."))
    return keys


_CONFIG_KEYS = _config_keys(FlowConfig)


def _check_key(key: str, where: str) -> None:
    if key in _CONFIG_KEYS:
        return
    parent = key.rpartition(".")[0]
    known = sorted(k for k in _CONFIG_KEYS if k.rpartition(".")[0] == parent)
    if not known:
        known = sorted(k for k in _CONFIG_KEYS if "." not in k)
    raise ConfigError(f"{where}: unknown config key {key!r}; known keys here: {', '.join(known)}")


def _deep_merge(base: JSON, top: JSON) -> JSON:
    out = copy.deepcopy(base)
    for k, v in top.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def parse_sweep_spec(data: JSON, source: str = "<dict>", base_dir: Path | None = None) -> SweepSpec:
    """Validate a sweep spec mapping; ``base_config`` is read relative to ``base_dir``.

    >>> from codesign.dse.points import expand_points
    >>> spec = parse_sweep_spec({"grid": {"quant.acc_bits": [12, 16]}})
    >>> [p.overrides for p in expand_points(spec)]
    [{'quant.acc_bits': 12}, {'quant.acc_bits': 16}]
    >>> parse_sweep_spec({"grids": {}})
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: invalid sweep spec <dict>:
      grids: unknown key
    """
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        lines = [f"invalid sweep spec {source}:"]
        for e in err.errors():
            key = ".".join(str(p) for p in e["loc"]) or "(top level)"
            msg = "unknown key" if e["type"] == "extra_forbidden" else e["msg"]
            lines.append(f"  {key}: {msg}")
        raise ConfigError("\n".join(lines)) from None
    for i, grid in enumerate(spec.grids()):
        where = f"sweep spec {source} grid" + (f"[{i}]" if isinstance(spec.grid, list) else "")
        for key, values in grid.items():
            _check_key(key, where)
            if not isinstance(values, list) or not values:
                raise ConfigError(f"{where}.{key}: needs a non-empty list of values")
    if spec.random is not None:
        for key in spec.random.space:
            _check_key(key, f"sweep spec {source} random.space")
    if spec.base_config is not None:
        path = Path(spec.base_config)
        if not path.is_absolute():
            path = (base_dir or Path.cwd()) / path
        base = _deep_merge(read_yaml_mapping(path, "base config"), spec.base)
        spec = spec.model_copy(update={"base": base})
    if spec.pin_folding is not None:
        _check_pin(spec, f"sweep spec {source} pin_folding")
    return spec


FOLDING_FREE_KEYS = ("fold.mac_resource",)
"""Fold keys a pinned sweep may vary: they leave PE/SIMD alone."""


def _check_pin(spec: SweepSpec, where: str) -> None:
    """A pinned sweep varies no fold key, and its reference point solves a target."""
    assert spec.pin_folding is not None
    swept = [k for g in spec.grids() for k in g]
    swept += list(spec.random.space) if spec.random is not None else []
    for key in [*spec.pin_folding, *swept]:
        _check_key(key, where)
        if key.split(".")[0] == "fold" and key not in FOLDING_FREE_KEYS:
            raise ConfigError(
                f"{where}: the sweep varies {key!r}, but pinning sets fold.layers on every "
                "point; drop pin_folding or the fold key"
            )
    from codesign.dse.points import reference_point  # points build on specs: not at the top

    ref = reference_point(spec)
    if ref.cfg is None:
        raise ConfigError(f"{where}: the reference point is not a valid config: {ref.error}")
    if ref.cfg.fold.target_cycles is None:
        raise ConfigError(
            f"{where}: the reference point has fold.layers already, so every point has the "
            "same folding; pinning needs fold.target_cycles to solve (or drop pin_folding)"
        )


def load_sweep_spec(path: Path | str) -> SweepSpec:
    """Read and validate a sweep spec YAML file (``yaml.safe_load`` only)."""
    path = Path(path)
    return parse_sweep_spec(
        read_yaml_mapping(path, "sweep spec"), source=str(path), base_dir=path.parent
    )


