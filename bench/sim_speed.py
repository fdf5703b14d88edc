"""Simulated clock cycles per second: Verilator and Icarus x HDL harness and Python driver.

Every configuration streams the design's test vectors (repeated) for at least
``--cycles`` simulated cycles under ``--backpressure`` random stalls on both ports, through
``codesign.verify.sim.simulate_accelerator``; the rate is the simulated cycles of that run over
its wall time in cocotb's results (build time is reported apart). The same harness is
also built as a native Verilator C++ program without cocotb (rtl_sim/accel/native_main.cpp)
and every Verilator run is given as a ratio to it. The HDL harness runs its own SV clock
(``clock``: harness); ``--gpi-clock`` also measures it clocked by cocotb's GPI clock.
Build directories come from ``codesign flow`` (default: out/demo, from `make demo`); a
missing one is built up to the rtl step first. ``--build`` may be given once per design
(the demo and a larger one).

    python bench/sim_speed.py --build out/demo --out bench/results/sim_speed.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from provenance import machine

from codesign.backends.rtl import load_rtl_project
from codesign.config import load_config
from codesign.flow.runner import run_flow
from codesign.paths import data_dir
from codesign.tools import default_jobs
from codesign.verify.harness import harness_source, stage_harness
from codesign.verify.sim import run_limits, simulate_accelerator
from codesign.verify.simulators import VERILATOR_FLAGS, simulator_path
from rtl_sim.accel.stalls import seeds, threshold
from rtl_sim.kernels.common import CLOCK_NS

# C++ optimisation of the Verilator models measured here: long runs want an optimised
# model (the flow builds with -O0, tuned for its short runs; --flow-opt measures that too)
BENCH_CXX_OPT = "-O2"


def _test_case(results_xml: Path, name: str) -> tuple[float, float]:
    """Simulated cycles and wall seconds of one cocotb test."""
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        if case.get("name") == name:
            props = {p.get("name"): p.get("value") or "" for p in case.iter("property")}
            return float(props["sim_time_duration"]) / CLOCK_NS, float(case.get("time", "0"))
    raise RuntimeError(f"{results_xml} has no test {name}")


def frames_for(meta: dict[str, Any], cycles: int) -> int:
    """Frames whose stream takes at least ``cycles`` cycles: the slowest kernel needs its
    II per frame, stalls only add to that.

    >>> frames_for({"est_ii_cycles": 64}, 1_000_000)
    15625
    """
    return math.ceil(cycles / int(meta["est_ii_cycles"]))


def measure(build: Path, simulator: str, driver: str, cycles: int, backpressure: float,
            cxx_opt: str, gpi_clock: bool = False) -> dict[str, Any]:
    project = load_rtl_project(build / "rtl" / "accel")
    vectors = build / "vectors"
    meta = json.loads((vectors / "meta.json").read_text())
    opt = cxx_opt if simulator == "verilator" else None
    clock = None if driver != "hdl" else "gpi" if gpi_clock else "harness"
    work = build / "bench" / f"{simulator}-{driver}{opt or ''}{'-gpi' if gpi_clock else ''}"
    shutil.rmtree(work, ignore_errors=True)  # build time counts: no cached model
    frames = frames_for(meta, cycles)
    t0 = time.monotonic()
    report = simulate_accelerator(
        project, vectors, work, simulator=simulator, driver=driver, frames=frames,
        in_pause=backpressure, out_pause=backpressure, seed=1, cxx_opt=opt,
        internal_clock=not gpi_clock,
    )
    total = time.monotonic() - t0
    sim_cycles, seconds = _test_case(work / "results.xml", "frames_under_backpressure")
    _, ii_seconds = _test_case(work / "results.xml", "throughput")
    return {
        "design": str(build), "simulator": simulator, "driver": driver,
        "cxx_opt": opt, "clock": clock, "frames": report.frames,
        "words_compared": report.words_compared,
        "mismatches": report.mismatches, "simulated_cycles": sim_cycles,
        "wall_seconds": round(seconds, 3), "cycles_per_second": round(sim_cycles / seconds, 1),
        "build_and_start_seconds": round(total - seconds - ii_seconds, 1),
    }


def native(build: Path, cycles: int, backpressure: float, cxx_opt: str) -> dict[str, Any]:
    """The same harness as a native Verilator program (no cocotb, no VPI)."""
    project = load_rtl_project(build / "rtl" / "accel")
    vectors = build / "vectors"
    meta = json.loads((vectors / "meta.json").read_text())
    work = build / "bench" / f"native{cxx_opt}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    project.stage_memories(work)
    params = stage_harness(vectors, work, meta)
    exe = simulator_path("verilator")
    env = {**os.environ, "VERILATOR_ROOT": str(exe.parent.parent)}
    cmd = [
        str(exe), "--cc", "--exe", "--build", "-j", str(default_jobs()), *VERILATOR_FLAGS,
        "--top-module", "cs_axis_harness", "--prefix", "Vharness", "-o", "Vharness",
        "-Mdir", str(work / "obj"),
        "-MAKEFLAGS", f"CFG_CXXFLAGS_PCH_I=-include OPT_FAST={cxx_opt} OPT_GLOBAL={cxx_opt}",
        *(f"-G{k}={v}" for k, v in params.items()),
        *(str(s) for s in project.sources), str(harness_source()),
        str(harness_source().with_name("native_main.cpp")),
    ]
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=work, env=env, check=True, capture_output=True)
    build_s = time.monotonic() - t0
    frames = frames_for(meta, cycles)
    limits = run_limits(meta, frames, backpressure, backpressure)
    s_in, s_out = seeds(1)
    run = subprocess.run(
        [str(work / "obj" / "Vharness"), str(frames), str(threshold(backpressure)),
         str(threshold(backpressure)), str(s_in), str(s_out), str(limits["watchdog"]),
         str(limits["drain"]), str(limits["max_cycles"])],
        cwd=work, check=True, capture_output=True, text=True,
    )
    data = json.loads(run.stdout)
    return {
        "design": str(build), "simulator": "verilator", "driver": "native C++ (no cocotb)",
        "cxx_opt": cxx_opt, "frames": frames, "mismatches": data["mismatches"],
        "simulated_cycles": data["simulated_cycles"], "wall_seconds": data["seconds"],
        "cycles_per_second": round(data["simulated_cycles"] / data["seconds"], 1),
        "build_and_start_seconds": round(build_s, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=data_dir("configs") / "mlp_a2q.yaml",
                    help="config that makes a missing --build")
    ap.add_argument("--build", type=Path, action="append",
                    help="build directory of a design (repeat for more; default out/demo)")
    ap.add_argument("--cycles", type=int, default=1_000_000,
                    help="simulated cycles per configuration (at least)")
    ap.add_argument("--backpressure", type=float, default=0.3)
    ap.add_argument("--flow-opt", action="store_true",
                    help="also measure the Verilator HDL driver at the flow's -O0 build")
    ap.add_argument("--gpi-clock", action="store_true",
                    help="also measure the Verilator HDL driver clocked by cocotb's GPI clock "
                         "(the harness's own SV clock is the default)")
    ap.add_argument("--out", type=Path, default=Path("bench/results/sim_speed.json"))
    args = ap.parse_args()
    builds = [b.resolve() for b in args.build or [Path("out/demo")]]  # tools run elsewhere
    runs: list[dict[str, Any]] = []
    load = [os.getloadavg()[0]]

    def write(complete: bool) -> dict[str, Any]:
        # after every run, so a long run that is stopped keeps what it measured, marked
        result = {
            "benchmark": "sim_speed",
            "complete": complete,
            "backpressure": args.backpressure,
            "min_cycles": args.cycles,
            "command": "python bench/sim_speed.py " + " ".join(sys.argv[1:]),
            "machine": machine(load_average_at_start=[round(x, 2) for x in load]),
            "runs": runs,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        return result

    for build in builds:
        if not (build / "rtl" / "accel" / "filelist.f").exists():
            run_flow(load_config(args.config), build, until="rtl")
        ref = native(build, args.cycles, args.backpressure, BENCH_CXX_OPT)
        runs.append(ref)
        print(json.dumps(ref), flush=True)
        configs = [("verilator", "hdl", BENCH_CXX_OPT, False),
                   ("verilator", "python", BENCH_CXX_OPT, False),
                   ("icarus", "hdl", "", False), ("icarus", "python", "", False)]
        if args.gpi_clock:
            configs.insert(1, ("verilator", "hdl", BENCH_CXX_OPT, True))
        if args.flow_opt:
            configs.insert(1, ("verilator", "hdl", "-O0", False))
        for simulator, driver, opt, gpi in configs:
            run = measure(build, simulator, driver, args.cycles, args.backpressure, opt, gpi)
            if simulator == "verilator":
                run["ratio_to_native"] = round(run["cycles_per_second"]
                                               / ref["cycles_per_second"], 3)
            runs.append(run)
            print(json.dumps(run), flush=True)
            write(complete=False)
    load.append(os.getloadavg()[0])
    print(json.dumps(write(complete=True), indent=2))


if __name__ == "__main__":
    main()
