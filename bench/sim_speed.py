"""Simulated clock cycles per second of the demo accelerator on Verilator and Icarus.

Both simulators run the same accelerator on the same vectors in one invocation (build
time excluded: cocotb's results give each test's simulated time and wall time). The
build directory comes from `codesign flow` (default: out/demo, run by `make demo`);
without one the flow runs up to the rtl step first.

    python bench/sim_speed.py --build out/demo --frames 20 --out bench/results/sim_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from codesign.backends.rtl import load_rtl_project
from codesign.config import load_config
from codesign.flow import run_flow
from codesign.paths import data_dir
from codesign.sim import simulate_accelerator
from rtl_sim.kernels.common import CLOCK_NS


def _cycles_and_seconds(results_xml: Path) -> tuple[float, float]:
    cycles = seconds = 0.0
    for case in ET.parse(results_xml).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        cycles += float(props["sim_time_duration"]) / CLOCK_NS
        seconds += float(case.get("time", "0"))
    return cycles, seconds


def subset_vectors(src: Path, dst: Path, frames: int) -> Path:
    """The first ``frames`` frames of a vectors folder (Icarus is slow on big designs)."""
    meta = json.loads((src / "meta.json").read_text())
    dst.mkdir(parents=True, exist_ok=True)
    for kind, words in (("input", meta["in"]["words_per_frame"]),
                        ("expected", meta["out"]["words_per_frame"])):
        lines = (src / meta["files"][kind]).read_text().split()[: frames * words]
        (dst / meta["files"][kind]).write_text("".join(f"{line}\n" for line in lines))
    meta["frames"] = min(frames, meta["frames"])
    (dst / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return dst


def measure(build: Path, simulator: str, frames: int, backpressure: float) -> dict[str, Any]:
    project = load_rtl_project(build / "rtl" / "accel")
    work = build / "bench" / simulator
    vectors = subset_vectors(build / "vectors", build / "bench" / "vectors", frames)
    report = simulate_accelerator(
        project, vectors, work, simulator=simulator,
        in_pause=backpressure, out_pause=backpressure, ii_frames=frames,
    )
    cycles, seconds = _cycles_and_seconds(work / "results.xml")
    return {
        "simulator": simulator,
        "frames_checked": report.frames,
        "simulated_cycles": cycles,
        "wall_seconds": round(seconds, 3),
        "cycles_per_second": round(cycles / seconds, 1),
        "ii_cycles": report.ii_cycles,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=data_dir("configs") / "mlp_a2q.yaml")
    ap.add_argument("--build", type=Path, default=Path("out/demo"))
    ap.add_argument("--frames", type=int, default=20, help="frames streamed per simulator")
    ap.add_argument("--backpressure", type=float, default=0.0)
    ap.add_argument("--out", type=Path, default=Path("bench/results/sim_speed.json"))
    args = ap.parse_args()
    if not (args.build / "rtl" / "accel" / "filelist.f").exists():
        run_flow(load_config(args.config), args.build, until="rtl")
    runs = [measure(args.build, s, args.frames, args.backpressure)
            for s in ("verilator", "icarus")]
    speedup = runs[0]["cycles_per_second"] / runs[1]["cycles_per_second"]
    result = {
        "benchmark": "sim_speed",
        "design": str(args.build),
        "machine": {"cpu_count": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
        "verilator_over_icarus": round(speedup, 2),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
