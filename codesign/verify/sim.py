"""Cycle simulation of a generated accelerator against its test vectors (cocotb).

Two drivers give one verdict (``sim.driver``):

- ``hdl`` (default): the streaming harness ``rtl_sim/accel/cs_axis_harness.sv`` wraps
  ``accel_top``; stimulus, seeded stalls and the check of every output word run in the
  simulator and cocotb only orchestrates (``rtl_sim.accel.test_harness``);
- ``python``: cocotbext-axi drives the ports from Python with per-beat stalls, for
  debugging and for cross-checking the harness (``rtl_sim.accel.test_accel``).

Both draw the same stalls from the same seed and write the same record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.backends.rtl import RtlProject
from codesign.errors import VerificationError
from codesign.verify.harness import harness_testbench

DRIVERS = ("hdl", "python")
TESTBENCHES = {"hdl": "rtl_sim.accel.test_harness", "python": "rtl_sim.accel.test_accel"}
VERIFY_TEST = "frames_under_backpressure"
"""The cocotb test of both drivers that streams every frame and checks every word."""


@dataclass(frozen=True)
class AccelSimReport:
    """What the accelerator testbench measured."""

    simulator: str
    driver: str
    frames: int
    words_compared: int
    mismatches: int
    ovf_flags: dict[str, bool]
    ii_cycles: float
    latency_cycles: float
    est_ii_cycles: int
    cycles: int
    seconds: float
    """Wall seconds of the verification run (cocotb's time of :data:`VERIFY_TEST`: the
    model's build and the II measurement apart)."""
    report_path: Path
    waves_dir: Path | None

    @property
    def ii_error(self) -> float:
        """Relative difference between the measured and FINN's analytical II."""
        return abs(self.ii_cycles - self.est_ii_cycles) / self.est_ii_cycles

    @property
    def frames_per_second(self) -> float:
        """Frames of the verification run over its wall time (under its stalls)."""
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "simulator": self.simulator,
            "driver": self.driver,
            "frames": self.frames,
            "words_compared": self.words_compared,
            "mismatches": self.mismatches,
            "overflow_flags": self.ovf_flags,
            "passed": self.mismatches == 0,
            "sim_seconds": round(self.seconds, 3),
            "frames_per_second": round(self.frames_per_second, 1),
        }


def run_limits(meta: dict[str, Any], frames: int, in_pause: float,
               out_pause: float) -> dict[str, int]:
    """Cycle limits of a run: ``watchdog`` cycles without a transfer on a stream that
    still has words to move is a deadlock; ``drain`` cycles after the last expected word
    are watched for extra words; ``max_cycles`` bounds the whole run.

    The drain is two frames' worth of cycles, but at most 64 output-word intervals (at
    the estimated rate) plus 1000: an extra word leaves the design at its output rate,
    so a 128x128 frame of ~1e7 cycles is watched for 13 k cycles after it, not 2e7.

    >>> meta = {"est_ii_cycles": 64, "in": {"words_per_frame": 16},
    ...         "out": {"words_per_frame": 2}}
    >>> run_limits(meta, 360, 0.3, 0.3)
    {'watchdog': 6248, 'drain': 210, 'max_cycles': 253475}
    >>> big = {"est_ii_cycles": 9_453_377, "in": {"words_per_frame": 49_152},
    ...        "out": {"words_per_frame": 49_152}}
    >>> run_limits(big, 1, 0.3, 0.3)["drain"]
    13480
    """
    out_words = int(meta["out"]["words_per_frame"])
    step = int(meta["est_ii_cycles"]) + int(meta["in"]["words_per_frame"]) + out_words
    slow = 1.0 / ((1.0 - in_pause) * (1.0 - out_pause))
    watchdog = 64 * step + 1000
    return {
        "watchdog": watchdog,
        "drain": min(2 * step + 46, 64 * -(-step // max(1, out_words)) + 1000),
        "max_cycles": int(4 * frames * step * slow) + 2 * watchdog,
    }


def simulate_accelerator(
    project: RtlProject,
    vectors_dir: Path,
    build_dir: Path,
    simulator: str = "verilator",
    waves: bool = False,
    seed: int = 0,
    in_pause: float = 0.3,
    out_pause: float = 0.3,
    ii_frames: int = 24,
    driver: str = "hdl",
    frames: int | None = None,
    cxx_opt: str | None = None,
    internal_clock: bool = True,
) -> AccelSimReport:
    """Stream every frame of ``vectors_dir`` through the accelerator under seeded stalls
    (``frames`` > the vectors' frames repeats them), then measure II and latency without
    stalls. ``cxx_opt`` overrides the C++ optimisation of a Verilator build (default:
    :func:`~codesign.verify.simulators.cxx_opt_for` the frames at the estimated II).
    ``internal_clock`` (hdl driver) clocks the harness from an SV clock inside the
    simulator (Verilator builds with --timing) instead of cocotb's GPI clock, whose VPI
    callback and write on every edge cost the Verilator run about as much as the design
    itself.

    Raises :class:`VerificationError` naming frame, word, expected and got on a mismatch,
    or the stalled stream on a deadlock (the build directory keeps the waveform when
    ``waves``).
    """
    from codesign.verify.simulators import cxx_opt_for, run_cocotb

    if driver not in DRIVERS:
        raise VerificationError(f"unknown sim driver {driver!r}; known: {', '.join(DRIVERS)}")
    vectors = Path(vectors_dir).resolve()
    meta = json.loads((vectors / "meta.json").read_text())
    build = Path(build_dir).resolve()
    build.mkdir(parents=True, exist_ok=True)
    report = build / "sim_report.json"
    report.unlink(missing_ok=True)
    project.stage_memories(build)
    n_frames = frames or int(meta["frames"])
    tb_cfg = {
        "vectors": str(vectors), "report": str(report), "seed": seed, "in_pause": in_pause,
        "out_pause": out_pause, "ii_frames": ii_frames, "frames": n_frames,
        "limits": run_limits(meta, n_frames, in_pause, out_pause),
    }
    top, sources, parameters, build_args = _testbench(
        project, driver, vectors, build, meta, internal_clock)
    if driver == "hdl" and internal_clock:  # the testbench only waits for done
        tb_cfg["internal_clock"] = True
    result = run_cocotb(
        toplevel=top, sources=sources, parameters=parameters,
        test_module=TESTBENCHES[driver], simulator=simulator, build_dir=build, waves=waves,
        seed=seed, extra_env={"CS_TB_CONFIG": json.dumps(tb_cfg)}, check=False,
        public=driver == "python",
        cxx_opt=cxx_opt or cxx_opt_for((n_frames + ii_frames) * int(meta["est_ii_cycles"])),
        build_args=build_args,
    )
    data = json.loads(report.read_text()) if report.is_file() else {}
    failed = data.get("failures") or []
    if failed or not result.passed or "ii_cycles" not in data:
        where = f"(report {report}, log {build / 'sim.log'}, build dir {build})"
        detail = "\n".join(failed) if failed else result.failure_text()
        raise VerificationError(
            f"{top} on {simulator} with the {driver} driver failed {where}:\n{detail}"
        )
    return _report(data, simulator, driver, result.case_seconds(VERIFY_TEST), report,
                   build if waves else None)


def _testbench(
    project: RtlProject, driver: str, vectors: Path, build: Path, meta: dict[str, Any],
    internal_clock: bool,
) -> tuple[str, list[Path], dict[str, object], list[str]]:
    """Top module, sources, parameters and extra build arguments of the simulation: the
    HDL harness around the accelerator (``hdl``, clocked inside the simulator with
    ``internal_clock``) or the accelerator alone (``python``, cocotbext-axi drives it)."""
    if driver != "hdl":
        return project.top, list(project.sources), {}, []
    return harness_testbench(project, vectors, build, meta, internal_clock)


def _report(data: dict[str, Any], simulator: str, driver: str, seconds: float,
            report: Path, waves_dir: Path | None) -> AccelSimReport:
    return AccelSimReport(
        simulator=simulator,
        driver=driver,
        frames=data["frames"],
        words_compared=data["words_compared"],
        mismatches=data["mismatches"],
        ovf_flags=data["ovf_flags"],
        ii_cycles=data["ii_cycles"],
        latency_cycles=data["latency_cycles"],
        est_ii_cycles=data["est_ii_cycles"],
        cycles=data["cycles"],
        seconds=seconds,
        report_path=report,
        waves_dir=waves_dir,
    )
