"""cocotb testbench for cs_split: every output (2..4, unequal channel counts) stalled on
its own, the words of each against the StreamingSplit golden function.

Stimulus, expected frames (from codesign.dataflow.kernels.split) and stall probabilities
come from the pytest side (tests/test_rtl_kernels_concat.py); rtl_sim.kernels.streams
streams them under random valid/ready stalls on every port, then stall-free for the cycles
per frame.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def split_stream(dut: Any) -> None:
    await run(dut)
