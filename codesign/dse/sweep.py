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
import multiprocessing
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from codesign.dse.executors import (
    ProgressFn,
    SweepSummary,
    _CpuShare,
    _Recorder,
    _run_dask,
    _run_local,
)
from codesign.dse.points import SweepPoint, expand_points, fold_layers, pinned, reference_point
from codesign.dse.spec import SweepError, SweepSpec
from codesign.dse.store import JSON, StoreRow, SweepStore
from codesign.dse.workers import FlowFn, _failed, _worker_init, run_point
from codesign.errors import ConfigError
from codesign.tools import usable_cpus

Executor = Literal["local", "dask"]


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


# --------------------------------------------------------------------------- running





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
    workers, threads, share_cpus = _worker_shares(executor, workers, scheduler,
                                                  threads_per_worker)
    if flow_fn is None:
        from codesign.flow.runner import run_flow

        flow_fn = run_flow
    until = until if until is not None else spec.until
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    folding = None
    if spec.pin_folding is not None:
        folding = solve_folding(spec, out, flow_fn, threads)
        spec = pinned(spec, folding)
    with SweepStore(store_path) as store:
        plan = plan_sweep(spec, store, until=until, retry_failed=retry_failed)
        summary = SweepSummary(store_path=Path(store_path), out_dir=out,
                               total=len(plan.points), skipped=len(plan.skipped),
                               folding=folding)
        rec = _Recorder(store, summary, len(plan.to_run), until, progress)
        runnable = []
        for p in plan.to_run:
            if p.error is not None:  # an invalid config: recorded, never run
                rec.record(p, _failed(p, p.error))
            else:
                runnable.append(p)
        if runnable and share_cpus and (executor == "local" or scheduler is None):
            # workers on this machine: the last points get the CPUs idle workers leave
            rec.share = _CpuShare(out / ".cpu_share", usable_cpus(), workers, len(runnable))
        if runnable and executor == "local":
            _run_local(runnable, rec, flow_fn, out, until, min(workers, len(runnable)), threads)
        elif runnable:
            _run_dask(runnable, rec, flow_fn, out, until, workers, threads, scheduler)
        if rec.share is not None:
            rec.share.path.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - t0
    return summary


def _worker_shares(executor: str, workers: int | None, scheduler: str | None,
                   threads_per_worker: int | None) -> tuple[int, int, bool]:
    """Workers, threads per worker and whether the CPU share follows the points left
    (only when the threads were not given), checked; ConfigError names a bad value."""
    if executor not in ("local", "dask"):
        raise ConfigError(f"unknown sweep executor {executor!r}; executors are: local, dask")
    workers = usable_cpus() if workers is None else workers
    if workers < 1:
        raise ConfigError(f"sweep workers must be >= 1, got {workers}")
    threads = max(1, usable_cpus() // workers) if threads_per_worker is None else threads_per_worker
    if threads < 1:
        raise ConfigError(f"sweep threads per worker must be >= 1, got {threads}")
    if scheduler is not None and executor != "dask":
        raise ConfigError("a scheduler address needs executor 'dask'")
    return workers, threads, threads_per_worker is None
