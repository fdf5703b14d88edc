"""cocotb testbench for cs_linear_attention: queries, keys and values stalled
independently, the outputs against the LinearAttention golden function
(codesign.dataflow.kernels.linear_attention).

Stimulus, expected frames and stall probabilities come from the pytest side
(tests/test_rtl_kernels_attention.py); rtl_sim.kernels.streams streams them.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def linear_attention_stream(dut: Any) -> None:
    await run(dut)
