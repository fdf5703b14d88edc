"""The points of a sweep: the base config with each grid or random override applied,
identified by the resulting config's digest; and pinning a reference point's folding."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from codesign.config import FlowConfig, parse_config
from codesign.dse.spec import FOLDING_FREE_KEYS, Grid, RandomSpec, RangeSpec, SweepSpec
from codesign.dse.store import JSON
from codesign.errors import ConfigError

# --------------------------------------------------------------------------- points


@dataclass(frozen=True)
class SweepPoint:
    """One design point: the base config with ``overrides`` applied."""

    index: int
    overrides: JSON
    config: JSON
    """The merged mapping (validated form if valid)."""
    digest: str
    cfg: FlowConfig | None
    error: str | None = None
    """The ConfigError text when the merged mapping is not a valid flow config."""


def _set_dotted(data: JSON, key: str, value: Any) -> None:
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        nxt = node.get(part)
        if not isinstance(nxt, dict):
            nxt = {}
            node[part] = nxt
        node = nxt
    node[parts[-1]] = copy.deepcopy(value)


def _raw_digest(data: JSON) -> str:
    canonical = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _grid_overrides(grid: Grid) -> Iterator[JSON]:
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        yield dict(zip(keys, values, strict=True))


def _sample(rng: random.Random, dom: list[Any] | RangeSpec) -> Any:
    if isinstance(dom, list):
        return copy.deepcopy(rng.choice(dom))
    as_int = float(dom.low).is_integer() and float(dom.high).is_integer()
    if dom.log:
        x = math.exp(rng.uniform(math.log(dom.low), math.log(dom.high)))
    else:
        x = rng.uniform(dom.low, dom.high)
    if as_int:
        return int(min(max(round(x), dom.low), dom.high))
    return x


def _random_overrides(spec: RandomSpec) -> Iterator[JSON]:
    rng = random.Random(spec.seed)
    for _ in range(spec.samples):
        yield {key: _sample(rng, dom) for key, dom in spec.space.items()}


def expand_points(spec: SweepSpec) -> list[SweepPoint]:
    """The spec's points in order: grid points (last key varying fastest), then random
    samples. Points with the same config digest are kept once (the first).
    With neither grid keys nor random samples, the sweep is the base config alone."""
    overrides: list[JSON] = []
    for grid in spec.grids():
        if grid:
            overrides.extend(_grid_overrides(grid))
    if spec.random is not None:
        overrides.extend(_random_overrides(spec.random))
    if not overrides:
        overrides = [{}]
    points: list[SweepPoint] = []
    seen: set[str] = set()
    for ov in overrides:
        point = _point(len(points), spec.base, ov)
        if point.digest in seen:
            continue
        seen.add(point.digest)
        points.append(point)
    return points


def _point(index: int, base: JSON, overrides: JSON) -> SweepPoint:
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        _set_dotted(merged, key, value)
    label = ", ".join(f"{k}={v!r}" for k, v in overrides.items()) or "base"
    try:
        cfg = parse_config(merged, source=f"sweep point ({label})")
    except ConfigError as err:
        return SweepPoint(index, overrides, merged, _raw_digest(merged), None, str(err))
    return SweepPoint(index, overrides, cfg.model_dump(mode="json"), cfg.digest(), cfg)


def reference_point(spec: SweepSpec) -> SweepPoint:
    """The point ``pin_folding`` names: the base with those overrides."""
    if spec.pin_folding is None:
        raise ConfigError("the sweep spec has no pin_folding reference point")
    return _point(0, spec.base, spec.pin_folding)


def fold_layers(results: JSON) -> list[JSON]:
    """A flow result's folding of its weighted layers (the ones ``fold.layers`` folds:
    those with weights) in ``fold.layers`` form (graph order).

    >>> fold_layers({"layers": [{"weight_count": 64, "pe": 16, "simd": 4},
    ...                         {"pe": 1, "simd": None}]})
    [{'pe': 16, 'simd': 4}]
    """
    return [
        {"pe": int(ly["pe"]), "simd": int(ly["simd"])}
        for ly in results.get("layers") or []
        if isinstance(ly, dict) and ly.get("weight_count") is not None
    ]


def pinned(spec: SweepSpec, layers: list[JSON]) -> SweepSpec:
    """``spec`` with every point built with ``layers`` as ``fold.layers`` (and the base's
    :data:`~codesign.dse.spec.FOLDING_FREE_KEYS`, ``fold.mac_resource``, which a point may
    vary: they leave the folding alone).

    >>> from codesign.dse.spec import parse_sweep_spec
    >>> spec = parse_sweep_spec({"grid": {"quant.acc_bits": [14, 16]},
    ...                          "pin_folding": {"quant.acc_bits": 16}})
    >>> [p.config["fold"] for p in expand_points(pinned(spec, [{"pe": 4, "simd": 8}]))]
    [{'target_cycles': None, 'layers': [{'pe': 4, 'simd': 8}]}, \
{'target_cycles': None, 'layers': [{'pe': 4, 'simd': 8}]}]
    """
    base = copy.deepcopy(spec.base)
    kept = {k: v for k, v in (base.get("fold") or {}).items()
            if f"fold.{k}" in FOLDING_FREE_KEYS}
    base["fold"] = {"layers": copy.deepcopy(layers), **kept}
    return spec.model_copy(update={"base": base, "pin_folding": None})


