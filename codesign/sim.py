"""Cycle simulation of a generated accelerator against its test vectors (cocotb)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from codesign.backends.rtl import RtlProject
from codesign.errors import VerificationError

TESTBENCH = "rtl_sim.accel.test_accel"


@dataclass(frozen=True)
class AccelSimReport:
    """What the accelerator testbench measured."""

    simulator: str
    frames: int
    words_compared: int
    mismatches: int
    ovf_flags: dict[str, bool]
    ii_cycles: float
    latency_cycles: float
    est_ii_cycles: int
    report_path: Path
    waves_dir: Path | None

    @property
    def ii_error(self) -> float:
        """Relative difference between the measured and FINN's analytical II."""
        return abs(self.ii_cycles - self.est_ii_cycles) / self.est_ii_cycles

    def to_json(self) -> dict[str, Any]:
        return {
            "simulator": self.simulator,
            "frames": self.frames,
            "words_compared": self.words_compared,
            "mismatches": self.mismatches,
            "overflow_flags": self.ovf_flags,
            "passed": self.mismatches == 0,
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
) -> AccelSimReport:
    """Run the accelerator testbench: all frames under random stalls, then throughput.

    Raises :class:`VerificationError` naming frame, word, expected and got on a mismatch
    (the build directory keeps the waveform when ``waves``).
    """
    from rtl_sim.runner import run_cocotb

    build = Path(build_dir).resolve()
    build.mkdir(parents=True, exist_ok=True)
    report = build / "sim_report.json"
    report.unlink(missing_ok=True)
    project.stage_memories(build)
    tb_cfg = {
        "vectors": str(Path(vectors_dir).resolve()),
        "report": str(report),
        "seed": seed,
        "in_pause": in_pause,
        "out_pause": out_pause,
        "ii_frames": ii_frames,
    }
    run_cocotb(
        toplevel=project.top,
        sources=project.sources,
        parameters={},
        test_module=TESTBENCH,
        simulator=simulator,
        build_dir=build,
        waves=waves,
        seed=seed,
        extra_env={"CS_TB_CONFIG": json.dumps(tb_cfg)},
    )
    data = json.loads(report.read_text())
    if data.get("mismatches"):
        raise VerificationError("\n".join(data["first_mismatches"]))
    return AccelSimReport(
        simulator=simulator,
        frames=data["frames"],
        words_compared=data["words_compared"],
        mismatches=data["mismatches"],
        ovf_flags=data["ovf_flags"],
        ii_cycles=data["ii_cycles"],
        latency_cycles=data["latency_cycles"],
        est_ii_cycles=data["est_ii_cycles"],
        report_path=report,
        waves_dir=build if waves else None,
    )
