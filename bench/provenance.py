"""Where a benchmark's figures come from, recorded in each ``bench/results`` JSON: the
commit of the code that measured them and the machine that ran it. Benchmarks run as
scripts (``python bench/NAME.py``), so they import this module by its bare name."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commit(repo: Path = ROOT) -> str:
    """HEAD's short hash, with ``-dirty`` when the measured code (codesign/, bench/) has
    uncommitted changes; results files are outputs, not code. Empty outside a git tree."""
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=False).stdout.strip()
    if not head:
        return ""
    dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--", "codesign",
                            "bench", ":!bench/results"], capture_output=True, text=True,
                           check=False).stdout
    return head + ("-dirty" if dirty.strip() else "")


def machine(**extra: object) -> dict[str, object]:
    """The CPUs this process may use, Python's version and the load average now (a loaded
    machine stretches timings), plus ``extra`` (a library's version, threads used)."""
    return {"cpus": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "load_average": [round(x, 2) for x in os.getloadavg()], **extra}
