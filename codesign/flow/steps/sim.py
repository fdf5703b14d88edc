"""The sim step: the RTL accelerator cycle-simulated with cocotb, bit-exact and
cycle-honest."""

from __future__ import annotations

import time

from codesign.errors import VerificationError
from codesign.flow.steps import JSON, StepRun


def sim(run: StepRun) -> JSON:
    """The accelerator the rtl step wrote, cycle-simulated on its test vectors with
    random stalls: every output word compared, II against the estimate."""
    from codesign.backends.rtl import load_rtl_project
    from codesign.verify.junit import FILE as JUNIT
    from codesign.verify.junit import record_case
    from codesign.verify.sim import simulate_accelerator

    bd, cfg = run.bd, run.cfg
    case = f"{cfg.sim.simulator}/{cfg.sim.driver}"
    t0 = time.monotonic()
    try:
        report = simulate_accelerator(
            load_rtl_project(bd.path("rtl", "accel")),
            bd.dir("vectors"),
            bd.dir("sim", cfg.sim.simulator),
            simulator=cfg.sim.simulator,
            driver=cfg.sim.driver,
            waves=cfg.sim.waves,
            seed=cfg.train.seed,
            in_pause=cfg.sim.backpressure,
            out_pause=cfg.sim.backpressure,
            ii_frames=cfg.sim.ii_frames,
        )
        if report.ii_error > 0.05:
            raise VerificationError(
                f"measured II {report.ii_cycles} cycles differs from FINN's estimate "
                f"{report.est_ii_cycles} by {report.ii_error:.1%} (> 5%)"
            )
    except VerificationError as err:
        record_case(bd.root / JUNIT, "stream_verification", case, str(err),
                    time.monotonic() - t0)
        raise
    record_case(bd.root / JUNIT, "stream_verification", case, None, time.monotonic() - t0)
    return {
        "verification": {**report.to_json(), "backpressure": cfg.sim.backpressure},
        "cycles": {
            "ii_measured": report.ii_cycles,
            "ii_estimated": report.est_ii_cycles,
            "ii_error": report.ii_error,
            "latency_measured": report.latency_cycles,
        },
        "artefacts": [str(report.report_path.relative_to(bd.root))],
    }
