"""cocotb testbench for cs_stream_reshape: the words pass through unchanged under stalls
(pad bits cleared), against the StreamReshape golden function
(codesign.dataflow.kernels.stream_reshape).

Stimulus, expected frames and stall probabilities come from the pytest side
(tests/test_rtl_kernels_attention.py); rtl_sim.kernels.streams streams them.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def stream_reshape_stream(dut: Any) -> None:
    await run(dut)
