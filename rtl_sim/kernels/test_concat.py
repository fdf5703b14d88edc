"""cocotb testbench for cs_concat: the input streams (2..4, unequal channel counts and
element widths) stalled independently, the concatenated words against the StreamingConcat
golden function.

Stimulus, expected frames (from codesign.dataflow.kernels.concat) and stall probabilities
come from the pytest side (tests/test_rtl_kernels_concat.py); rtl_sim.kernels.streams
streams them under random valid/ready stalls on every port, then stall-free for the cycles
per frame.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def concat_stream(dut: Any) -> None:
    await run(dut)
