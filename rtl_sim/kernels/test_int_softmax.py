"""cocotb testbench for cs_int_softmax: rows of scores under random stalls, the outputs
against the IntSoftmax golden function (codesign.dataflow.kernels.int_softmax).

Stimulus, expected frames and stall probabilities come from the pytest side
(tests/test_rtl_kernels_attention.py); rtl_sim.kernels.streams streams them.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def int_softmax_stream(dut: Any) -> None:
    await run(dut)
