"""cocotb testbench for a whole accelerator (``accel_top``), driven by a vectors folder.

``frames_under_backpressure``: every frame of ``input.hex`` through the design with
random valid/ready stalls on both streams; every output word against ``expected.hex``;
the overflow monitors' bits recorded.
``throughput``: frames back to back without stalls; the steady-state interval between
frames (II) and the latency of one frame through an empty pipeline, in clock cycles.
Both write their findings to the JSON report named by the configuration.
"""

from __future__ import annotations

import itertools
import json
import random
import statistics
from pathlib import Path
from typing import Any

import cocotb
from cocotb.triggers import ClockCycles
from cocotb.utils import get_sim_steps, get_sim_time

from codesign.backends.vectors import read_hex
from rtl_sim.kernels.common import (
    CLOCK_NS,
    check,
    compare,
    config,
    recv_words,
    send_words,
    start,
    stream_ends,
)


def _vectors(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[int], list[int]]:
    d = Path(cfg["vectors"])
    meta = json.loads((d / "meta.json").read_text())
    return meta, read_hex(d / meta["files"]["input"]), read_hex(d / meta["files"]["expected"])


def _update_report(cfg: dict[str, Any], **fields: Any) -> None:
    path = Path(cfg["report"])
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(fields)
    path.write_text(json.dumps(data, indent=2) + "\n")


@cocotb.test()
async def frames_under_backpressure(dut: Any) -> None:
    cfg = config()
    meta, words_in, expected = _vectors(cfg)
    rng = random.Random(cfg["seed"])
    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    t0 = get_sim_time("ns")
    cocotb.start_soon(send_words(src, words_in))
    got = [w for w, _ in await recv_words(snk, len(expected))]
    await ClockCycles(dut.ap_clk, 2)
    errors = compare(got, expected, meta["out"]["words_per_frame"])
    ovf = int(dut.ovf.value)
    _update_report(
        cfg,
        frames=meta["frames"],
        words_compared=len(expected),
        mismatches=len(errors),
        first_mismatches=errors[:10],
        ovf_bits=ovf,
        ovf_flags={n: bool(ovf >> i & 1) for i, n in enumerate(meta["ovf_monitors"])},
        in_pause=cfg["in_pause"],
        out_pause=cfg["out_pause"],
        backpressure_cycles=round((get_sim_time("ns") - t0) / CLOCK_NS),
    )
    check(errors)


@cocotb.test()
async def throughput(dut: Any) -> None:
    cfg = config()
    meta, words_in, expected = _vectors(cfg)
    n_in, n_out = meta["in"]["words_per_frame"], meta["out"]["words_per_frame"]
    frames = min(meta["frames"], cfg["ii_frames"])
    await start(dut)
    src, snk = stream_ends(dut, None, 0.0, 0.0)
    t0 = get_sim_time("step")
    cocotb.start_soon(send_words(src, words_in[: frames * n_in]))
    got = await recv_words(snk, frames * n_out)
    check(compare([w for w, _ in got], expected[: frames * n_out], n_out, "throughput-phase"))
    period = get_sim_steps(CLOCK_NS, "ns")
    ends = [t for i, (_, t) in enumerate(got) if i % n_out == n_out - 1]
    # the first frame fills the pipeline; the II is the steady gap between frame ends
    gaps = [(b - a) / period for a, b in itertools.pairwise(ends[1:])]
    ii = statistics.median(gaps) if gaps else float("nan")
    latency = (ends[0] - t0) / period
    _update_report(cfg, ii_cycles=ii, latency_cycles=latency, ii_frames=frames,
                   est_ii_cycles=meta["est_ii_cycles"])
