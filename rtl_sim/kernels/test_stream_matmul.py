"""cocotb testbench for cs_stream_matmul: the row stream and the buffered operand's stream
stalled independently, the products against the StreamMatMul golden function
(codesign.dataflow.kernels.stream_matmul).

Stimulus, expected frames and stall probabilities come from the pytest side
(tests/test_rtl_kernels_attention.py); rtl_sim.kernels.streams streams them.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def stream_matmul_stream(dut: Any) -> None:
    await run(dut)
