"""The executors that run a sweep's points (a local spawn process pool that survives
dying workers, or a Dask cluster), the recorder that stores each outcome, and the CPU
share of the points running on this machine."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from codesign.dse.points import SweepPoint
from codesign.dse.store import JSON, SweepStore
from codesign.dse.workers import FlowFn, PointOutcome, _failed, _worker_init, run_point

ProgressFn = Callable[[int, int, str, str], None]
"""``progress(done, total, digest, status)``: called in the parent after every point that
finishes this session; ``total`` counts the points to run (skipped ones excluded) and
``status`` is ``"done"`` or ``"failed"``."""


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




class _LocalPool:
    """A spawn process pool that can be replaced after a worker died, with the points in
    flight on it."""

    def __init__(self, workers: int, threads: int) -> None:
        self.workers, self.threads = workers, threads
        self.pool = self.new_pool()
        self.inflight: dict[cf.Future[PointOutcome], SweepPoint] = {}

    def new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_worker_init, initargs=(self.threads, os.getpid()),
        )

    def restart(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.pool = self.new_pool()


def _next_batch(pending: deque[SweepPoint], suspects: set[str], inflight: int,
                workers: int) -> list[SweepPoint]:
    """The points to submit now: a suspect alone once nothing is in flight (and nothing
    else while one waits), else as many as there are free workers."""
    suspect = next((p for p in pending if p.digest in suspects), None)
    if suspect is not None:
        if inflight:
            return []
        pending.remove(suspect)
        return [suspect]
    batch: list[SweepPoint] = []
    while pending and inflight + len(batch) < workers:
        batch.append(pending.popleft())
    return batch


def _after_break(local: _LocalPool, broken: list[SweepPoint], rec: _Recorder,
                 pending: deque[SweepPoint], suspects: set[str]) -> None:
    """A worker died: record what finished, re-queue the other points in flight as
    suspects (to run alone), record a suspect that broke its pool again as failed, and
    start a new pool."""
    local.pool.shutdown(wait=True, cancel_futures=True)
    for fut, point in local.inflight.items():
        if not fut.cancelled() and fut.exception() is None:
            rec.record(point, fut.result())
        else:
            broken.append(point)
    local.inflight.clear()
    for point in broken:
        if point.digest in suspects:
            rec.record(point, _failed(
                point, "WorkerDied: the worker process running this point died "
                "(killed, out of memory or crashed)"))
        else:
            suspects.add(point.digest)
            pending.appendleft(point)
    local.pool = local.new_pool()


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
    jobs_file = str(rec.share.path) if rec.share is not None else None
    pending: deque[SweepPoint] = deque(points)
    suspects: set[str] = set()
    local = _LocalPool(workers, threads)
    try:
        while pending or local.inflight:
            batch = _next_batch(pending, suspects, len(local.inflight), workers)
            for i, p in enumerate(batch):
                try:
                    fut = local.pool.submit(
                        run_point, flow_fn, p.config, str(out_dir), until, threads, jobs_file
                    )
                except cf.process.BrokenProcessPool:
                    # a worker died since the last wait: its future reports it below
                    pending.extendleft(reversed(batch[i:]))
                    break
                local.inflight[fut] = p
            if not local.inflight:  # broken with nothing in flight: start afresh
                local.restart()
                continue
            finished, _ = cf.wait(local.inflight, return_when=cf.FIRST_COMPLETED)
            broken: list[SweepPoint] = []
            for fut in finished:
                point = local.inflight.pop(fut)
                try:
                    outcome = fut.result()
                except cf.process.BrokenProcessPool:
                    broken.append(point)
                    continue
                except Exception as err:  # e.g. the flow's result could not be pickled
                    outcome = _failed(point, f"{type(err).__name__}: {err}")
                rec.record(point, outcome)
            if broken:  # the other in-flight futures fail the same way unless finished
                _after_break(local, broken, rec, pending, suspects)
    finally:
        local.pool.shutdown(wait=True, cancel_futures=True)


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


