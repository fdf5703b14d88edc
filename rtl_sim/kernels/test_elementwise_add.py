"""cocotb testbench for cs_elementwise_add: the two input streams (lhs, rhs) stalled
independently, the sums against the ElementwiseAdd golden function.

Stimulus, expected frames (from codesign.dataflow.kernels.elementwise_add) and stall
probabilities come from the pytest side (tests/test_rtl_kernels_dws.py);
rtl_sim.kernels.streams streams them
under random valid/ready stalls on every port, then stall-free for the cycles per frame.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def elementwise_add_stream(dut: Any) -> None:
    await run(dut)
