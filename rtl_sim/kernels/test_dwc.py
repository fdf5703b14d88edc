"""cocotb testbench for cs_dwc: random words under random stalls against dwc, then
full throughput without stalls (one word per cycle on the narrower side)."""

from __future__ import annotations

import math
import random
from typing import Any

import cocotb
from cocotb.utils import get_sim_steps

from codesign.dataflow.kernels.dwc import dwc
from rtl_sim.kernels.common import (
    CLOCK_NS,
    check,
    compare,
    config,
    junk_pad,
    recv_words,
    send_words,
    start,
    stream_ends,
)


@cocotb.test()
async def dwc_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    ie, oe, eb = cfg["IN_ELEMS"], cfg["OUT_ELEMS"], cfg["ELEM_BITS"]
    lcm = ie * oe // math.gcd(ie, oe)

    def words(n_groups: int) -> list[int]:
        return [rng.getrandbits(ie * eb) for _ in range(n_groups * lcm // ie)]

    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    w = words(cfg["n_groups"])
    exp = dwc(w, eb, ie, oe)
    cocotb.start_soon(send_words(src, junk_pad(w, ie * eb, rng)))
    got = await recv_words(snk, len(exp))
    check(compare([g for g, _ in got], exp, lcm // oe))

    src.clear_pause_generator()
    snk.clear_pause_generator()
    src.pause = False
    snk.pause = False
    w = words(max(4, 64 // lcm))
    exp = dwc(w, eb, ie, oe)
    cocotb.start_soon(send_words(src, junk_pad(w, ie * eb, rng)))
    got = await recv_words(snk, len(exp))
    check(compare([g for g, _ in got], exp, lcm // oe, "stall-free output"))
    span = (got[-1][1] - got[0][1]) / get_sim_steps(CLOCK_NS, "ns")
    ideal = (len(exp) - 1) * max(1.0, oe / ie)
    dut._log.info("%d output words in %.1f cycles (ideal %.1f)", len(exp), span, ideal)
    assert abs(span - ideal) <= max(2.0, 0.05 * ideal), f"{span} cycles, ideal {ideal}"
