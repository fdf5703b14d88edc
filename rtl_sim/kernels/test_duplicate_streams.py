"""cocotb testbench for cs_duplicate_streams: every output carries the input's words, each
output stalled on its own.

Stimulus, expected frames (from codesign.dataflow.kernels.duplicate_streams) and stall probabilities
come from the pytest side (tests/test_rtl_kernels_dws.py); rtl_sim.kernels.streams streams
them under random valid/ready stalls on every port, then stall-free for the cycles per
frame.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def duplicate_streams_stream(dut: Any) -> None:
    await run(dut)
