"""cocotb orchestration of the HDL-side streaming harness (``cs_axis_harness``).

The stimulus, the stalls and the check of every output word run inside the simulator;
Python sets the run's configuration during reset, waits for ``done`` and reads the
counters. The clock is the harness's own (``internal_clock``: an SV clock, so the
simulator calls into cocotb on no clock edge) or cocotb's GPI clock on ``ap_clk`` (C++,
no Python per cycle, but a VPI callback and write per edge).

``frames_under_backpressure``: every frame through the design with seeded stalls on
both ports. ``throughput``: frames back to back without stalls, for the II and the
latency. Both write the same record as the Python driver (rtl_sim.accel.test_accel).
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.accel import record
from rtl_sim.accel.harness import run
from rtl_sim.kernels.common import config


def _record(meta: dict[str, Any], frames: int, c: dict[str, Any]) -> dict[str, Any]:
    totals = (frames * meta["in"]["words_per_frame"], frames * meta["out"]["words_per_frame"])
    stalled = None
    if not c["done"] or c["timeout"]:
        stalled = record.stalled_stream(
            words_in=c["words_in"], words_out=c["words_out"], totals=totals,
            idle_in=c["idle_in"], idle_out=c["idle_out"], tready=bool(c["s_axis_tready"]),
            tvalid=bool(c["m_axis_tvalid"]), finished=bool(c["done"]),
        )
    first = None
    if c["mismatches"]:
        first = {"frame": c["first_frame"], "word": c["first_word"],
                 "expected": c["first_expected"], "got": c["first_got"]}
    return record.counters(
        meta, frames=frames, words_in=c["words_in"], words_out=c["words_out"],
        mismatches=c["mismatches"], extra_words=c["extra_words"], cycles=c["cycles"],
        first=first, ovf_bits=c["ovf"], latency=c["latency"],
        ii=(c["ii_sum"], c["ii_count"], c["ii_min"], c["ii_max"]),
        timing=c["timing_hash"], stalled=stalled,
    )


@cocotb.test()
async def frames_under_backpressure(dut: Any) -> None:
    cfg = config()
    meta = record.meta(cfg)
    frames = cfg.get("frames") or meta["frames"]
    c = await run(dut, frames, cfg["in_pause"], cfg["out_pause"], cfg["seed"],
                  cfg["limits"])
    rec = _record(meta, frames, c)
    record.conclude(cfg, "frames_under_backpressure", rec, driver="hdl",
                    in_pause=cfg["in_pause"], out_pause=cfg["out_pause"], **rec)


@cocotb.test()
async def throughput(dut: Any) -> None:
    cfg = config()
    meta = record.meta(cfg)
    frames = record.throughput_frames(cfg, meta)
    c = await run(dut, frames, 0.0, 0.0, cfg["seed"], cfg["limits"])
    rec = _record(meta, frames, c)
    record.conclude(cfg, "throughput", rec, **record.throughput(rec, meta))
