"""What runs in a sweep's worker processes: one point's flow, its outcome, and the
worker's thread limits."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from codesign.config import parse_config
from codesign.dse.points import SweepPoint
from codesign.dse.spec import SweepError
from codesign.dse.store import JSON

FlowFn = Callable[..., Any]


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




def _failed(point: SweepPoint, error: str, seconds: float = 0.0) -> PointOutcome:
    return PointOutcome(point.digest, "failed", None, error, seconds)
