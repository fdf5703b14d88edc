"""Compare the flow results of two sets of build directories (before/after a change).

    python bench/compare_builds.py BEFORE_DIR AFTER_DIR > comparison.json

Each directory holds one build per config (``<name>/results.json``, as ``codesign flow
<config> --out BEFORE_DIR/<name>`` writes). Per config: the verification record (wall-clock
fields excluded), accuracy, cycles (II, latency), the overflow proof and the per-layer table
must be equal, and each Yosys total within 2 %; ``all_ok`` says whether every config holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

TIMING = ("sim_seconds", "frames_per_second", "backends")
RESOURCE_TOLERANCE_PCT = 2.0


def _verdict(results: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in results.get("verification", {}).items() if k not in TIMING}


def _totals(results: dict[str, Any]) -> dict[str, float]:
    return results.get("resources", {}).get("accelerator", {}).get("total", {})


def compare(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """The comparison of one config's two results."""
    tb, ta = _totals(before), _totals(after)
    change = {
        k: round(100 * (ta.get(k, 0) - tb[k]) / tb[k], 2) for k in sorted(tb) if tb[k]
    }
    row = {
        "verdict_same": _verdict(before) == _verdict(after),
        "passed": [before.get("verification", {}).get("passed"),
                   after.get("verification", {}).get("passed")],
        "accuracy_same": before.get("accuracy") == after.get("accuracy"),
        "accuracy": after.get("accuracy", {}).get("accelerator"),
        "ii": [before.get("cycles", {}).get("ii_measured"),
               after.get("cycles", {}).get("ii_measured")],
        "cycles_same": before.get("cycles") == after.get("cycles"),
        "overflow_same": before.get("overflow") == after.get("overflow"),
        "layers_same": before.get("layers") == after.get("layers"),
        "resources_before": tb,
        "resources_after": ta,
        "resource_change_pct": change,
    }
    row["ok"] = all(row[k] for k in ("verdict_same", "accuracy_same", "cycles_same",
                                     "overflow_same", "layers_same")) and all(
        abs(c) <= RESOURCE_TOLERANCE_PCT for c in change.values())
    return row


def main(before_dir: Path, after_dir: Path) -> dict[str, Any]:
    rows = []
    for path in sorted(before_dir.glob("*/results.json")):
        after = after_dir / path.parent.name / "results.json"
        if not after.is_file():
            rows.append({"config": path.parent.name, "ok": False, "after": "missing"})
            continue
        row = compare(json.loads(path.read_text()), json.loads(after.read_text()))
        rows.append({"config": path.parent.name, **row})
    return {"all_ok": bool(rows) and all(r["ok"] for r in rows), "rows": rows}


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python bench/compare_builds.py BEFORE_DIR AFTER_DIR")
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2])), indent=1))
