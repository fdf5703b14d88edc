"""cocotb testbench for cs_fifo: random words through, random stalls on both sides, then
a stall-free run that must move one word per cycle."""

from __future__ import annotations

import random
from typing import Any

import cocotb
from cocotb.utils import get_sim_steps

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


@cocotb.test()
async def fifo_stream(dut: Any) -> None:
    cfg = config()
    rng = random.Random(cfg["seed"])
    width, n = int(cfg["WIDTH"]), int(cfg["n_words"])
    await start(dut)
    src, snk = stream_ends(dut, rng, cfg["in_pause"], cfg["out_pause"])
    words = [rng.getrandbits(width) for _ in range(n)]
    cocotb.start_soon(send_words(src, words))
    got = await recv_words(snk, n)
    check(compare([w for w, _ in got], words, n))

    # stall-free: one word per cycle once the pipeline is full
    src.clear_pause_generator()
    snk.clear_pause_generator()
    src.pause = False
    snk.pause = False
    words = [rng.getrandbits(width) for _ in range(64)]
    cocotb.start_soon(send_words(src, words))
    got = await recv_words(snk, len(words))
    check(compare([w for w, _ in got], words, len(words)))
    span = (got[-1][1] - got[0][1]) / get_sim_steps(CLOCK_NS, "ns")
    assert span == len(words) - 1, f"{len(words)} words took {span} cycles, expected 1/cycle"
