"""cocotb testbench for cs_global_acc_pool: random frames and the extreme ones (every
pixel at the input type's minimum, then its maximum: the sums at the ends of FINN's
output type) under random valid/ready stalls, against the GlobalAccPool golden function;
then stall-free frames for the cycles per frame.

Frames and expected sums come from the pytest side (tests/test_rtl_kernels_accpool.py);
rtl_sim.kernels.streams streams them.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test(timeout_time=2, timeout_unit="ms")  # a lost word fails, not hangs
async def global_acc_pool_stream(dut: Any) -> None:
    await run(dut)
