"""cocotb testbench for cs_avgpool: random windows and the extreme ones (every element at
the input type's minimum, then its maximum) under random valid/ready stalls, against
codesign.dataflow.kernels.pool.avg_pool_stream (FINN's QuantAvgPool); then stall-free
frames for the cycles per frame.

Frames and expected outputs come from the pytest side (tests/test_rtl_kernels_accpool.py);
rtl_sim.kernels.streams streams them.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test(timeout_time=2, timeout_unit="ms")  # a lost word fails, not hangs
async def avgpool_stream(dut: Any) -> None:
    await run(dut)
