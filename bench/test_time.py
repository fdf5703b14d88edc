"""Where the test suite's time goes: per-test durations from pytest's JUnit XML reports.

Run the suite with ``--junitxml`` (serial, and with ``-n 2 --dist loadgroup`` back to
back), then::

    python bench/test_time.py --run serial=/tmp/serial.xml:1234 --run xdist=/tmp/x.xml:567 \\
        --out bench/results/test_time.json

where the number after the colon is the wall time of the run in seconds (pytest's
``time`` attribute in the report is the same figure, used when it is left out).
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any


def summarize(report: Path, wall: float | None, top: int) -> dict[str, Any]:
    """Counts, wall and summed test seconds, seconds per file and the ``top`` slowest."""
    root = ET.parse(report).getroot()
    suite = root if root.tag == "testsuite" else next(root.iter("testsuite"))
    cases = []
    for case in suite.iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = tag
        # classname is the test's module, dotted (no test here is in a class)
        module = case.get("classname", "").replace(".", "/") + ".py"
        cases.append((f"{module}::{case.get('name', '')}", float(case.get("time", "0")),
                      outcome))
    per_file: dict[str, float] = defaultdict(float)
    for name, seconds, _ in cases:
        per_file[name.split("::")[0]] += seconds
    outcomes: dict[str, int] = defaultdict(int)
    for _, _, outcome in cases:
        outcomes[outcome] += 1
    slowest = sorted(cases, key=lambda c: -c[1])[:top]
    return {
        "wall_seconds": round(wall if wall is not None else float(suite.get("time", "0")), 1),
        "sum_of_test_seconds": round(sum(c[1] for c in cases), 1),
        "tests": dict(outcomes),
        "seconds_per_file": {f: round(s, 1) for f, s in
                             sorted(per_file.items(), key=lambda kv: -kv[1])},
        "slowest": [{"test": n, "seconds": round(s, 1)} for n, s, _ in slowest],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True,
                    help="label=report.xml[:wall seconds], once per run")
    ap.add_argument("--top", type=int, default=30)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--note", default="")
    args = ap.parse_args()
    runs = {}
    for spec in args.run:
        label, rest = spec.split("=", 1)
        path, _, wall = rest.partition(":")
        runs[label] = summarize(Path(path), float(wall) if wall else None, args.top)
    data = {"benchmark": "test_time", "note": args.note, "runs": runs}
    args.out.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
