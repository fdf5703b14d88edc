"""The HDL streaming harness (``rtl_sim/accel/cs_axis_harness.sv``) around a generated
accelerator: its source, its vector files and parameters, its build. Verification
(:mod:`codesign.verify.sim`) and FIFO sizing (:mod:`codesign.dataflow.fifos`) both run
it; this module names no testbench, so a step's code key covers only the testbench it
runs (:mod:`codesign.closure`)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from codesign.backends.rtl import RtlProject
from codesign.paths import data_dir

HARNESS_TOP = "cs_axis_harness"
HARNESS_DUT = "dut"
"""The harness's instance of accel_top: a path below accel_top is one below it."""
HARNESS_FILES = {"input": "harness_input.hex", "expected": "harness_expected.hex"}
HARNESS_CLOCK_HALF = 5
"""Half period of the harness's own clock in TIMESCALE units (1 ns): the testbenches'
10 ns clock (rtl_sim.kernels.common.CLOCK_NS)."""


def harness_source() -> Path:
    """The SystemVerilog streaming harness (shipped beside the testbenches in rtl_sim/,
    found by path: codesign never imports rtl_sim)."""
    return data_dir("rtl_sim") / "accel" / "cs_axis_harness.sv"


def stage_harness(vectors: Path, build: Path, meta: dict[str, Any]) -> dict[str, object]:
    """Copy the vector files where the harness's $readmemh finds them; its parameters."""
    for kind, name in HARNESS_FILES.items():
        shutil.copyfile(vectors / meta["files"][kind], build / name)
    frames = int(meta["frames"])
    return {
        "IN_BITS": meta["in"]["tdata_bits"],
        "OUT_BITS": meta["out"]["tdata_bits"],
        "N_OVF": max(1, len(meta["ovf_monitors"])),
        "IN_WORDS": frames * meta["in"]["words_per_frame"],
        "OUT_WORDS": frames * meta["out"]["words_per_frame"],
        "IN_WPF": meta["in"]["words_per_frame"],
        "OUT_WPF": meta["out"]["words_per_frame"],
    }


def harness_testbench(
    project: RtlProject, vectors: Path, build: Path, meta: dict[str, Any],
    internal_clock: bool,
) -> tuple[str, list[Path], dict[str, object], list[str]]:
    """Top module, sources, parameters and extra build arguments of the HDL harness
    around the accelerator, its vector files staged in ``build``; ``internal_clock``
    clocks it inside the simulator (Verilator builds with --timing)."""
    parameters = stage_harness(vectors, build, meta)
    build_args = []
    if internal_clock:
        parameters["CLOCK_HALF"] = HARNESS_CLOCK_HALF
        build_args.append("--timing")
    return HARNESS_TOP, [*project.sources, harness_source()], parameters, build_args
