"""cocotb testbench for cs_elementwise_binary: the streamed operands (lhs, rhs; one of them
for a constant operand, which the kernel's ROM holds) stalled independently, the results
against the elementwise binary golden function.

Stimulus, expected frames (from codesign.dataflow.kernels.elementwise_binary) and stall
probabilities come from the pytest side (tests/test_rtl_kernels_eltwise.py);
rtl_sim.kernels.streams streams them under random valid/ready stalls on every port, then
stall-free for the cycles per frame.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def elementwise_binary_stream(dut: Any) -> None:
    await run(dut)
