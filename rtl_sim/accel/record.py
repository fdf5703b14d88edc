"""The verification record both accelerator drivers write (HDL harness and Python).

Both drivers count the same things with the same definitions (see cs_axis_harness.sv):
cycle n is the n-th rising edge after reset release; a word counts in the cycle whose
edge takes it; the II is the mean gap between the end cycles of consecutive frames after
the first. With the same design and seed the two records are equal.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def vectors_dir(cfg: dict[str, Any]) -> Path:
    """The vectors folder named by the testbench configuration."""
    return Path(cfg["vectors"])


def meta(cfg: dict[str, Any]) -> dict[str, Any]:
    """``meta.json`` of the vectors folder named by the testbench configuration."""
    data: dict[str, Any] = json.loads((vectors_dir(cfg) / "meta.json").read_text())
    return data


def update_report(cfg: dict[str, Any], **fields: Any) -> None:
    """Merge ``fields`` into the JSON report named by the configuration."""
    path = Path(cfg["report"])
    data = json.loads(path.read_text()) if path.exists() else {}
    data.update(fields)
    path.write_text(json.dumps(data, indent=2) + "\n")


def mismatch_message(frame: int, word: int, words_per_frame: int, expected: int,
                     got: int, what: str = "output") -> str:
    """How a differing word is reported.

    >>> mismatch_message(3, 1, 2, 0x1f, 0x1e)
    'output mismatch: frame 3, word 1 (stream word 7): expected 0x1f, got 0x1e'
    """
    return (f"{what} mismatch: frame {frame}, word {word} "
            f"(stream word {frame * words_per_frame + word}): "
            f"expected 0x{expected:x}, got 0x{got:x}")


def stalled_stream(words_in: int, words_out: int, totals: tuple[int, int], idle_in: int,
                   idle_out: int, tready: bool, tvalid: bool, finished: bool) -> str:
    """Name the stream that stopped moving when a run hit its cycle limit.

    >>> stalled_stream(100, 0, (160, 20), 2000, 2000, False, False, True)
    's_axis stalled: accel_top took 100 of 160 input words, then kept s_axis_tready \
low for 2000 cycles (0 of 20 output words received)'
    >>> stalled_stream(160, 19, (160, 20), 0, 2000, True, False, True)
    'm_axis stalled: 19 of 20 output words received, then no m_axis_tvalid for 2000 \
cycles (all 160 input words taken)'
    """
    if words_in < totals[0] and (idle_in >= idle_out or words_out >= totals[1]):
        level = "high" if tready else "low"
        return (f"s_axis stalled: accel_top took {words_in} of {totals[0]} input "
                f"words, then kept s_axis_tready {level} for {idle_in} cycles "
                f"({words_out} of {totals[1]} output words received)")
    if words_out < totals[1]:
        taken = (f"all {totals[0]} input words taken" if words_in >= totals[0]
                 else f"{words_in} of {totals[0]} input words taken")
        state = "no m_axis_tvalid" if not tvalid else "m_axis_tvalid without a transfer"
        return (f"m_axis stalled: {words_out} of {totals[1]} output words "
                f"received, then {state} for {idle_out} cycles ({taken})")
    why = "its cycle limit" if not finished else "the watchdog"
    return f"the run stopped at {why} after all words moved"


def timing_hash(h: int, cycle: int) -> int:
    """Fold one output word's cycle into the timing hash (as cs_axis_harness does).

    >>> timing_hash(timing_hash(0, 5), 7)
    162
    """
    return ((h * 33) ^ cycle) & 0xFFFFFFFF


def counters(meta: dict[str, Any], frames: int, words_in: int, words_out: int,
             mismatches: int, extra_words: int, cycles: int, first: dict[str, int] | None,
             ovf_bits: int, latency: int, ii: tuple[int, int, int, int], timing: int,
             stalled: str | None) -> dict[str, Any]:
    """The record of one run: counters, the first mismatch, overflow flags, timing."""
    n_out = meta["out"]["words_per_frame"]
    ii_sum, ii_count, ii_min, ii_max = ii
    messages = []
    if first is not None:
        messages.append(mismatch_message(first["frame"], first["word"], n_out,
                                         first["expected"], first["got"]))
    return {
        "frames": frames,
        "frames_done": words_out // n_out,
        "words_in": words_in,
        "words_compared": words_out,
        "words_expected": frames * n_out,
        "mismatches": mismatches,
        "extra_words": extra_words,
        "cycles": cycles,
        "first_mismatch": first,
        "first_mismatches": messages,
        "ovf_bits": ovf_bits,
        "ovf_flags": {n: bool(ovf_bits >> i & 1) for i, n in enumerate(meta["ovf_monitors"])},
        "first_frame_cycles": latency,
        "ii_gaps": {"sum": ii_sum, "count": ii_count,
                    "min": ii_min if ii_count else None, "max": ii_max if ii_count else None},
        "timing_hash": timing,
        "stalled": stalled,
    }


def failures(rec: dict[str, Any]) -> list[str]:
    """Why a run's record is not a pass (empty when every expected word matched)."""
    out = list(rec["first_mismatches"])
    if rec["mismatches"]:
        out.insert(0, f"{rec['mismatches']} of {rec['words_compared']} output words differ")
    if rec["stalled"]:
        out.append(rec["stalled"])
    elif rec["words_compared"] != rec["words_expected"]:
        out.append(f"{rec['words_compared']} output words received, "
                   f"{rec['words_expected']} expected")
    if rec["extra_words"]:
        out.append(f"{rec['extra_words']} output words beyond the {rec['words_expected']} "
                   "expected")
    return out


def conclude(cfg: dict[str, Any], phase: str, rec: dict[str, Any], **fields: Any) -> None:
    """Write ``fields`` and the run's failures (under ``failures``, prefixed by ``phase``)
    into the report, then fail the cocotb test if there are any."""
    path = Path(cfg["report"])
    data = json.loads(path.read_text()) if path.exists() else {}
    errors = [f"{phase}: {e}" for e in failures(rec)]
    update_report(cfg, **fields, failures=[*data.get("failures", []), *errors])
    if errors:
        raise AssertionError("\n".join(errors))


def throughput_frames(cfg: dict[str, Any], meta: dict[str, Any]) -> int:
    """Frames of the stall-free run: the vectors' frames up to ``ii_frames``, and two when
    ``ii_frames`` allows but the vectors hold one (the harness repeats them), so that a
    large frame verified alone still gives one frame-end gap, the II. ``ii_frames`` 1:
    one frame (a run that needs no II, as the overflow proof's).

    >>> [throughput_frames({"ii_frames": n}, {"frames": f}) for n, f in
    ...  ((24, 1), (24, 360), (1, 4), (8, 3))]
    [2, 24, 1, 3]
    """
    ii_frames = int(cfg["ii_frames"])
    return max(min(2, ii_frames), min(int(meta["frames"]), ii_frames))


def throughput(rec: dict[str, Any], meta: dict[str, Any]) -> dict[str, Any]:
    """II (mean frame-end gap after the first frame) and latency of a stall-free run."""
    gaps = rec["ii_gaps"]
    ii = gaps["sum"] / gaps["count"] if gaps["count"] else float("nan")
    return {"ii_cycles": ii, "ii_gap_range": [gaps["min"], gaps["max"]],
            "latency_cycles": rec["first_frame_cycles"], "ii_frames": rec["frames"],
            "est_ii_cycles": meta["est_ii_cycles"]}
