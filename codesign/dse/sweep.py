"""Design-space sweeps: grid and random search over config keys, resumable, local or Dask.

A sweep spec (YAML) names a base flow config and the keys to vary::

    base_config: mlp_a2q.yaml        # a flow config file, relative to the spec; and/or
    base: {train: {epochs: 10}}      # a mapping deep-merged on top of it
    until: null                      # last flow step to run (null: the whole flow)
    grid:                            # a mapping (cartesian product, last key fastest) or a
      quant.method: [a2q, baseline]  # list of mappings (their union, in order)
      quant.acc_bits: [12, 16]
    random:                          # optional: N points sampled from a space, after the grid
      samples: 4
      seed: 0
      space:
        quant.weight_bits: [4, 6, 8]
        train.lr: {low: 0.001, high: 0.1, log: true}
    pin_folding: {quant.method: baseline, quant.acc_bits: 32}   # optional, see below

Each point is the base with its overrides applied, validated by
:func:`codesign.config.parse_config` and identified by ``cfg.digest()``. A point whose
config is invalid is recorded as failed with the validation message. Every finished
point is one row in a :class:`~codesign.dse.store.SweepStore`; re-running a sweep
skips the points already done (failed ones only with ``retry_failed=True``), and each
point's build directory ``out_dir/<digest>`` lets an interrupted point resume its
finished flow steps. Workers only compute; the parent process is the only writer.

``fold.target_cycles`` lets FINN's SetFolding choose PE/SIMD per point, and its choice
follows the trained weights (a layer whose weights FINN narrows to 4 bits gets twice
the SIMD), so points would differ in folding as well as in what the sweep varies.
``pin_folding`` names a reference point (overrides on the base): the sweep first runs
its flow up to ``lower`` (in ``out_dir/fold_reference``), then builds every point with
that PE/SIMD as ``fold.layers`` (:func:`solve_folding`, :func:`pinned`).
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import random
import sys
import threading
import time
import traceback
import typing
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codesign.config import FlowConfig, parse_config, read_yaml_mapping
from codesign.dse.store import JSON, StoreRow, SweepStore
from codesign.errors import CodesignError, ConfigError
from codesign.tools import usable_cpus

Executor = Literal["local", "dask"]
FlowFn = Callable[..., Any]
ProgressFn = Callable[[int, int, str, str], None]
"""``progress(done, total, digest, status)``: called in the parent after every point that
finishes this session; ``total`` counts the points to run (skipped ones excluded) and
``status`` is ``"done"`` or ``"failed"``."""

__all__ = [
    "PointOutcome",
    "SweepError",
    "SweepPlan",
    "SweepPoint",
    "SweepSpec",
    "SweepStore",
    "SweepSummary",
    "expand_points",
    "fold_layers",
    "load_sweep_spec",
    "parse_sweep_spec",
    "pinned",
    "plan_sweep",
    "reference_point",
    "run_sweep",
    "solve_folding",
]


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


def _check_pin(spec: SweepSpec, where: str) -> None:
    """A pinned sweep varies no fold key, and its reference point solves a target."""
    assert spec.pin_folding is not None
    swept = [k for g in spec.grids() for k in g]
    swept += list(spec.random.space) if spec.random is not None else []
    for key in [*spec.pin_folding, *swept]:
        _check_key(key, where)
        if key.split(".")[0] == "fold":
            raise ConfigError(
                f"{where}: the sweep varies {key!r}, but pinning sets fold.layers on every "
                "point; drop pin_folding or the fold key"
            )
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
    """``spec`` with every point built with ``layers`` as ``fold.layers``.

    >>> spec = parse_sweep_spec({"grid": {"quant.acc_bits": [14, 16]},
    ...                          "pin_folding": {"quant.acc_bits": 16}})
    >>> [p.config["fold"] for p in expand_points(pinned(spec, [{"pe": 4, "simd": 8}]))]
    [{'target_cycles': None, 'layers': [{'pe': 4, 'simd': 8}]}, \
{'target_cycles': None, 'layers': [{'pe': 4, 'simd': 8}]}]
    """
    base = copy.deepcopy(spec.base)
    base["fold"] = {"layers": copy.deepcopy(layers)}
    return spec.model_copy(update={"base": base, "pin_folding": None})


def solve_folding(
    spec: SweepSpec, out_dir: Path | str, flow_fn: FlowFn | None = None, threads: int = 1
) -> list[JSON]:
    """Run the ``pin_folding`` reference point's flow up to ``lower`` in a worker process
    (build directory ``out_dir/fold_reference/<digest>``, so a resumed sweep finds it
    done) and return the PE/SIMD FINN chose for it, in ``fold.layers`` form."""
    if flow_fn is None:
        from codesign.flow.runner import run_flow

        flow_fn = run_flow
    ref = reference_point(spec)
    if ref.cfg is None:
        raise ConfigError(f"pin_folding: the reference point is not a valid config: {ref.error}")
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=1, mp_context=ctx, initializer=_worker_init, initargs=(threads, os.getpid())
    ) as pool:
        outcome = pool.submit(
            run_point, flow_fn, ref.config, str(Path(out_dir) / "fold_reference"), "lower",
            threads,
        ).result()
    where = ", ".join(f"{k}={v!r}" for k, v in (spec.pin_folding or {}).items())
    if outcome.status != "done" or outcome.results is None:
        first = (outcome.error or "no result").splitlines()[0]
        raise SweepError(f"pin_folding: the reference point ({where}) failed to lower: {first}")
    layers = fold_layers(outcome.results)
    if not layers:
        raise SweepError(f"pin_folding: the reference point ({where}) has no MVAU layer to pin")
    return layers


# --------------------------------------------------------------------------- planning


@dataclass(frozen=True)
class SweepPlan:
    """What a run of the spec against a store would do."""

    points: list[SweepPoint]
    to_run: list[SweepPoint]
    skipped: list[SweepPoint]
    """Points already in the store (done, or failed without ``retry_failed``)."""


def _covers(row: StoreRow, until: str | None) -> bool:
    return row.until is None or row.until == until


def plan_sweep(
    spec: SweepSpec, store: SweepStore, *, until: str | None = None, retry_failed: bool = False
) -> SweepPlan:
    """Split the spec's points into those to run and those the store already holds.

    A done row counts only if it ran the whole flow or up to the same ``until`` step.
    """
    until = until if until is not None else spec.until
    points = expand_points(spec)
    to_run: list[SweepPoint] = []
    skipped: list[SweepPoint] = []
    for p in points:
        row = store.get(p.digest)
        if row is None:
            keep = False
        elif row.status == "done":
            keep = _covers(row, until)
        else:
            keep = not retry_failed
        (skipped if keep else to_run).append(p)
    return SweepPlan(points=points, to_run=to_run, skipped=skipped)


# --------------------------------------------------------------------------- workers


@dataclass(frozen=True)
class PointOutcome:
    """What a worker sends back for one point (the parent writes it to the store)."""

    digest: str
    status: Literal["done", "failed"]
    results: JSON | None
    error: str | None
    seconds: float


def _limit_threads(threads: int) -> None:
    """Keep each worker to ``threads`` math threads (torch, OpenMP, BLAS) and Yosys
    processes (CODESIGN_JOBS) without importing torch: the environment covers a later
    import, ``set_num_threads`` an earlier one."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "CODESIGN_JOBS"):
        os.environ.setdefault(var, str(threads))
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


def _watch_parent(parent_pid: int) -> None:
    while True:
        time.sleep(1.0)
        if os.getppid() != parent_pid:
            os._exit(1)


def _worker_init(threads: int, parent_pid: int) -> None:
    """Process-pool initializer: limit threads and exit if the parent process dies
    (a SIGKILLed sweep leaves no orphan workers running points)."""
    _limit_threads(threads)
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _flow_results(ret: Any) -> JSON:
    results = getattr(ret, "results", ret)
    if not isinstance(results, dict):
        raise SweepError(f"flow function returned {type(ret).__name__}, not a results mapping")
    return json.loads(json.dumps(results))


def run_point(
    flow_fn: FlowFn,
    config: JSON,
    out_dir: str,
    until: str | None,
    threads: int = 1,
    jobs_file: str | None = None,
) -> PointOutcome:
    """Run one point in a worker: ``flow_fn(cfg, out_dir/<digest>, until=until)``.

    ``jobs_file`` (see :class:`_CpuShare`) tells the flow's tool processes the point's
    current CPU share. Never raises for a failing flow: the error (type and message,
    plus the last traceback frames) comes back in the outcome.
    """
    _limit_threads(threads)
    if jobs_file is not None:
        os.environ["CODESIGN_JOBS_FILE"] = jobs_file
    else:
        os.environ.pop("CODESIGN_JOBS_FILE", None)
    t0 = time.perf_counter()
    digest = "?"
    try:
        cfg = parse_config(config, source="sweep point")
        digest = cfg.digest()
        ret = flow_fn(cfg, Path(out_dir) / digest, until=until)
        results = _flow_results(ret)
    except Exception as err:
        tb = traceback.format_exc(limit=-6)
        return PointOutcome(
            digest=digest,
            status="failed",
            results=None,
            error=f"{type(err).__name__}: {err}\n{tb}".rstrip(),
            seconds=time.perf_counter() - t0,
        )
    return PointOutcome(digest, "done", results, None, time.perf_counter() - t0)


# --------------------------------------------------------------------------- running


@dataclass
class SweepSummary:
    """The outcome of one :func:`run_sweep` call."""

    store_path: Path
    out_dir: Path
    total: int
    """Distinct points in the spec."""
    skipped: int
    """Points the store already held (not run this session)."""
    done: int = 0
    failed: int = 0
    seconds: float = 0.0
    failed_digests: list[str] = field(default_factory=list)
    folding: list[JSON] | None = None
    """The ``fold.layers`` pinned on every point (``pin_folding``), else None."""

    @property
    def ran(self) -> int:
        return self.done + self.failed


class _CpuShare:
    """This machine's CPUs shared out among the points running on it, in a file the
    workers read when they start tool processes (Yosys runs, compiler jobs; see
    :func:`codesign.tools.default_jobs`). While every worker is busy each point gets
    ``cpus // workers``; once fewer points than workers are left, the last ones also get
    the CPUs of the idle workers (torch and BLAS threads stay at the static share)."""

    def __init__(self, path: Path, cpus: int, workers: int, points: int) -> None:
        self.path, self.cpus, self.workers, self.left = path, cpus, workers, points
        self._write()

    def point_finished(self) -> None:
        self.left = max(0, self.left - 1)
        self._write()

    def _write(self) -> None:
        running = max(1, min(self.workers, self.left))
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        tmp.write_text(f"{max(1, self.cpus // running)}\n")
        os.replace(tmp, self.path)


class _Recorder:
    def __init__(
        self,
        store: SweepStore,
        summary: SweepSummary,
        total: int,
        until: str | None,
        progress: ProgressFn | None,
    ) -> None:
        self.store, self.summary, self.total, self.until = store, summary, total, until
        self.progress = progress
        self.count = 0
        self.share: _CpuShare | None = None

    def record(self, point: SweepPoint, outcome: PointOutcome) -> None:
        self.store.put(
            point.digest,
            config=point.config,
            overrides=point.overrides,
            status=outcome.status,
            results=outcome.results,
            error=outcome.error,
            seconds=outcome.seconds,
            until=self.until,
        )
        self.count += 1
        if self.share is not None:
            self.share.point_finished()
        if outcome.status == "done":
            self.summary.done += 1
        else:
            self.summary.failed += 1
            self.summary.failed_digests.append(point.digest)
        if self.progress is not None:
            self.progress(self.count, self.total, point.digest, outcome.status)


def _failed(point: SweepPoint, error: str, seconds: float = 0.0) -> PointOutcome:
    return PointOutcome(point.digest, "failed", None, error, seconds)


def _run_local(
    points: list[SweepPoint],
    rec: _Recorder,
    flow_fn: FlowFn,
    out_dir: Path,
    until: str | None,
    workers: int,
    threads: int,
) -> None:
    """A spawn process pool with at most ``workers`` points in flight.

    If a worker process dies (segfault, OOM kill) the pool breaks; the points in flight
    become suspects, the pool is restarted, and each suspect is then re-run alone, so
    the point that kills its worker is recorded as failed and no other point is.
    """
    ctx = multiprocessing.get_context("spawn")
    jobs_file = str(rec.share.path) if rec.share is not None else None
    pending: deque[SweepPoint] = deque(points)
    suspects: set[str] = set()

    def new_pool() -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=workers,
            mp_context=ctx,
            initializer=_worker_init,
            initargs=(threads, os.getpid()),
        )

    pool = new_pool()
    inflight: dict[cf.Future[PointOutcome], SweepPoint] = {}
    try:
        while pending or inflight:
            # suspects run alone: wait for the pool to drain, then submit one
            suspect = next((p for p in pending if p.digest in suspects), None)
            batch: list[SweepPoint] = []
            if suspect is not None and not inflight:
                pending.remove(suspect)
                batch = [suspect]
            elif suspect is None:
                while pending and len(inflight) + len(batch) < workers:
                    batch.append(pending.popleft())
            for i, p in enumerate(batch):
                try:
                    fut = pool.submit(
                        run_point, flow_fn, p.config, str(out_dir), until, threads, jobs_file
                    )
                except cf.process.BrokenProcessPool:
                    # a worker died since the last wait: its future reports it below
                    pending.extendleft(reversed(batch[i:]))
                    break
                inflight[fut] = p
            if not inflight:  # broken with nothing in flight: start afresh
                pool.shutdown(wait=True, cancel_futures=True)
                pool = new_pool()
                continue
            finished, _ = cf.wait(inflight, return_when=cf.FIRST_COMPLETED)
            broken: list[SweepPoint] = []
            for fut in finished:
                point = inflight.pop(fut)
                try:
                    outcome = fut.result()
                except cf.process.BrokenProcessPool:
                    broken.append(point)
                    continue
                except Exception as err:  # e.g. the flow's result could not be pickled
                    outcome = _failed(point, f"{type(err).__name__}: {err}")
                rec.record(point, outcome)
            if broken:
                # the other in-flight futures fail the same way unless they had finished
                pool.shutdown(wait=True, cancel_futures=True)
                for fut, point in inflight.items():
                    if not fut.cancelled() and fut.exception() is None:
                        rec.record(point, fut.result())
                    else:
                        broken.append(point)
                inflight.clear()
                for point in broken:
                    if point.digest in suspects:
                        rec.record(
                            point,
                            _failed(
                                point,
                                "WorkerDied: the worker process running this point died "
                                "(killed, out of memory or crashed)",
                            ),
                        )
                    else:
                        suspects.add(point.digest)
                        pending.appendleft(point)
                pool = new_pool()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_dask(
    points: list[SweepPoint],
    rec: _Recorder,
    flow_fn: FlowFn,
    out_dir: Path,
    until: str | None,
    workers: int,
    threads: int,
    scheduler: str | None,
) -> None:
    """Submit every point to a Dask cluster; results are recorded as they complete.

    With ``scheduler`` (``tcp://HOST:PORT``, or ``tls://`` when the user configured TLS)
    the sweep uses that cluster, whose workers must see ``out_dir`` at the same path
    and import codesign and ``flow_fn``'s module. Without it, a LocalCluster of
    ``workers`` single-threaded processes is started and closed again.
    A task whose worker keeps dying ends as a failed point (Dask's KilledWorker).
    """
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    jobs_file = str(rec.share.path) if rec.share is not None else None
    try:
        futures = {}
        for p in points:
            fut = client.submit(
                run_point,
                flow_fn,
                p.config,
                str(out_dir),
                until,
                threads,
                jobs_file,
                key=f"codesign-sweep-{p.digest}-{os.getpid()}-{time.time_ns()}",
                pure=False,
                retries=0,
            )
            futures[fut.key] = (fut, p)
        for fut in as_completed([f for f, _ in futures.values()]):
            point = futures[fut.key][1]
            try:
                outcome = fut.result()
            except Exception as err:
                outcome = _failed(point, f"{type(err).__name__}: {err}")
            fut.release()
            rec.record(point, outcome)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_sweep(
    spec: SweepSpec,
    store_path: Path | str,
    out_dir: Path | str,
    executor: Executor = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    flow_fn: FlowFn | None = None,
    progress: ProgressFn | None = None,
    *,
    until: str | None = None,
    retry_failed: bool = False,
    threads_per_worker: int | None = None,
) -> SweepSummary:
    """Run every point of ``spec`` not already in the store at ``store_path``.

    ``flow_fn(cfg, out, until=...)`` (default :func:`codesign.flow.runner.run_flow`) must be a
    picklable top-level function returning a FlowResult or a results mapping; it runs
    in worker processes, each point in ``out_dir/<digest>``. ``until`` overrides the
    spec's ``until``. With ``pin_folding`` the reference point is lowered first and its
    folding pinned on every point (:func:`solve_folding`; this runs on this machine, for
    the Dask executor too). Invalid configs are recorded as failed without running. A
    point that raises is recorded as failed and the sweep goes on. ``progress(done, total,
    digest, status)`` is called after each point recorded in this session.

    ``workers`` points run at once (default: one per usable CPU), each with
    ``threads_per_worker`` math threads and Yosys processes. By default the CPUs are
    shared out among the workers, and on this machine (local executor, LocalCluster)
    the share of tool processes grows for the last points as workers fall idle (see
    :class:`_CpuShare`); an explicit ``threads_per_worker`` stays fixed.
    """
    if executor not in ("local", "dask"):
        raise ConfigError(f"unknown sweep executor {executor!r}; executors are: local, dask")
    workers = usable_cpus() if workers is None else workers
    if workers < 1:
        raise ConfigError(f"sweep workers must be >= 1, got {workers}")
    share_cpus = threads_per_worker is None  # an explicit share stays fixed
    if threads_per_worker is None:
        threads_per_worker = max(1, usable_cpus() // workers)
    if threads_per_worker < 1:
        raise ConfigError(f"sweep threads per worker must be >= 1, got {threads_per_worker}")
    if scheduler is not None and executor != "dask":
        raise ConfigError("a scheduler address needs executor 'dask'")
    if flow_fn is None:
        from codesign.flow.runner import run_flow

        flow_fn = run_flow
    until = until if until is not None else spec.until
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folding = None
    if spec.pin_folding is not None:
        folding = solve_folding(spec, out, flow_fn, threads_per_worker)
        spec = pinned(spec, folding)
    with SweepStore(store_path) as store:
        plan = plan_sweep(spec, store, until=until, retry_failed=retry_failed)
        summary = SweepSummary(
            store_path=Path(store_path),
            out_dir=out,
            total=len(plan.points),
            skipped=len(plan.skipped),
            folding=folding,
        )
        rec = _Recorder(store, summary, len(plan.to_run), until, progress)
        runnable = []
        for p in plan.to_run:
            if p.error is not None:
                rec.record(p, _failed(p, p.error))
            else:
                runnable.append(p)
        if runnable and share_cpus and (executor == "local" or scheduler is None):
            # workers on this machine: the last points get the CPUs idle workers leave
            rec.share = _CpuShare(out / ".cpu_share", usable_cpus(), workers, len(runnable))
        if runnable:
            if executor == "local":
                _run_local(
                    runnable,
                    rec,
                    flow_fn,
                    out,
                    until,
                    min(workers, len(runnable)),
                    threads_per_worker,
                )
            else:
                _run_dask(
                    runnable, rec, flow_fn, out, until, workers, threads_per_worker, scheduler
                )
        if rec.share is not None:
            rec.share.path.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - t0
    return summary
