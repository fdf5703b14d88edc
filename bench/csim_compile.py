"""Compile time of an accelerator's C-simulation: the whole g++ call codesign.verify.csim makes,
then each translation unit alone (the top with the params headers it includes, the params
headers alone, the C-sim main), and the binary's frames/s on the build's test vectors.

The build directory comes from ``codesign csim`` / ``codesign flow --backend hls|both``
(its ``hls/accel`` project and ``vectors``). Nothing is cached: every compile is timed
from scratch into a temporary folder. Results are added to ``--out`` under ``--label``
(the runs of a label measured again are appended), so two checkouts can be measured into
one file in turn: run this script with each one's ``PYTHONPATH``; it uses only what both
have (``codesign.verify.csim.CXXFLAGS``, ``ap_types_dir``, ``codesign.backends.hls``).

    python bench/csim_compile.py --build out/demo --out bench/results/csim_compile.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from provenance import commit, machine

from codesign.backends.hls import HlsProject, library_dir, load_hls_project
from codesign.verify.csim import CXXFLAGS, ap_types_dir


def _timed(cmd: list[str]) -> dict[str, float]:
    """Wall and CPU (user + sys of the children) seconds of one command; raises on failure."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    res = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{res.stderr[-4000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2)}


def _params_unit(project: HlsProject, path: Path) -> Path:
    """A translation unit of the params headers alone, every array used (so that none is
    dropped before code generation)."""
    lines = [f'#include "params/{p.name}"' for p in project.params]
    names = _array_names(project)
    lines.append("const void* cs_bench_arrays[] = {" + ", ".join(f"&{n}" for n in names) + "};")
    path.write_text("\n".join(lines) + "\n")
    return path


def _array_names(project: HlsProject) -> list[str]:
    names = []
    for p in project.params:
        for line in p.read_text().splitlines():
            if line.startswith("static const "):
                names.append(line.split()[-2].split("[")[0])
    return names


def measure(build: Path, opt: str) -> dict[str, Any]:
    project = load_hls_project(build / "hls" / "accel")
    flags = [f if not f.startswith("-O") else f"-O{opt}" for f in CXXFLAGS]
    incs = ["-I", str(library_dir()), "-I", str(project.out_dir), "-isystem", str(ap_types_dir())]
    gxx = shutil.which("g++")
    if gxx is None:
        raise SystemExit("g++ is not on PATH")
    with tempfile.TemporaryDirectory(prefix="csim_compile_") as tmp:
        work = Path(tmp)
        binary = work / "csim"
        total = _timed([gxx, *flags, *incs, str(project.top_file), str(project.main_file),
                        "-o", str(binary)])
        units = {"top": project.top_file, "main": project.main_file}
        if project.params:
            units["params"] = _params_unit(project, work / "params_only.cpp")
        pieces = {name: _timed([gxx, *flags, *incs, "-c", str(src), "-o", str(work / "x.o")])
                  for name, src in units.items()}
        vectors = build / "vectors"
        meta = json.loads((vectors / "meta.json").read_text())
        res = subprocess.run(
            [str(binary), str(meta["frames"]), str(vectors / meta["files"]["input"]),
             str(work / "out.hex"), str(vectors / meta["files"]["expected"])],
            capture_output=True, text=True, check=False, cwd=work)
        run = json.loads(res.stdout.strip().splitlines()[-1])
    return {
        "flags": flags, "compile": total, "pieces": pieces,
        "frames": run["frames"], "mismatches": run["mismatches"],
        "run_s": round(float(run["seconds"]), 4),
        "frames_per_second": round(run["frames"] / float(run["seconds"]), 1),
        "params_bytes": sum(p.stat().st_size for p in project.params),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", type=Path, default=Path("out/demo"))
    ap.add_argument("--out", type=Path, default=Path("bench/results/csim_compile.json"))
    ap.add_argument("--label", default="", help="key of these runs (default: the commit)")
    ap.add_argument("--opt", nargs="+", default=["2"],
                    help="optimisation levels to measure (g++ -O of each)")
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args(argv)
    code = Path(library_dir()).parent
    label = args.label or commit(code)
    runs = [{"opt": opt, **measure(args.build.resolve(), opt)}
            for opt in args.opt for _ in range(args.repeat)]
    for r in runs:
        print(f"{label} {r['opt']}: compile {r['compile']['wall_s']} s wall, "
              f"{r['compile']['cpu_s']} s CPU; pieces "
              + ", ".join(f"{k} {v['cpu_s']} s" for k, v in r["pieces"].items())
              + f"; {r['frames_per_second']} frames/s, {r['mismatches']} mismatches")
    data: dict[str, Any] = json.loads(args.out.read_text()) if args.out.is_file() else {}
    earlier = data.get("results", {}).get(label, {}).get("runs", [])
    data.setdefault("results", {})[label] = {
        "code": str(code), "commit": commit(code), "build": str(args.build),
        "gxx": subprocess.run(["g++", "--version"], capture_output=True, text=True,
                              check=False).stdout.splitlines()[0],
        "machine": machine(platform=platform.platform()),
        "python": sys.version.split()[0],
        "runs": [*earlier, *runs],  # a label measured again (paired with another) adds up
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
