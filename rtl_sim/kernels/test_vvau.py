"""cocotb testbench for cs_vvau: random frames and the overflow probe (each channel's
accumulator driven to its largest and smallest value) against the VVAU golden function;
the sticky ovf flag against vvau_overflows.

Stimulus, expected frames (from codesign.dataflow.kernels.vvau) and stall probabilities come from
the pytest side (tests/test_rtl_kernels_dws.py); rtl_sim.kernels.streams streams them
under random valid/ready stalls on every port, then stall-free for the cycles per frame.
"""

from __future__ import annotations

from typing import Any

import cocotb

from rtl_sim.kernels.streams import run


@cocotb.test()
async def vvau_stream(dut: Any) -> None:
    await run(dut)
