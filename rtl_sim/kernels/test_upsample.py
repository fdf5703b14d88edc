"""cocotb testbench for cs_upsample: random frames under random valid/ready stalls against
codesign.dataflow.kernels.upsample.upsample_nn, then stall-free frames for the cycles per
frame (one output word per cycle: FINN's estimate).

Stimulus, expected frames and stall probabilities come from the pytest side
(tests/test_rtl_kernels_upsample.py); rtl_sim.kernels.streams streams them.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test(timeout_time=1, timeout_unit="ms")  # a lost word fails, not hangs
async def upsample_stream(dut: Any) -> None:
    await run(dut)
