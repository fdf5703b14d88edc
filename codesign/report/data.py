"""Report inputs: flow ``results.json`` files and sweep stores, read into :class:`Run` values.

Every source becomes a list of runs whose ``results`` follow the ``results.json`` schema
(nested: ``config``, ``accuracy``, ``layers``, ``verification``, ``cycles``,
``resources`` and, when present, ``overflow``). Accessors here read them defensively:
a sweep that stopped at ``lower`` has no cycles or resources, and a failed point has
only its config.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError

JSON = dict[str, Any]

SQLITE_MAGIC = b"SQLite format 3\x00"
ACCEPTED = (
    "a flow results.json (a JSON object with 'config' and 'layers', as codesign.flow.runner "
    "writes it), a build directory holding one, or a sweep store (.sqlite, as "
    "codesign.dse.sweep writes it)"
)


class ReportError(CodesignError):
    """A report source cannot be read, or holds something a report cannot use."""


@dataclass(frozen=True)
class Run:
    """One design point: a finished flow (``status='done'``) or a failed sweep point."""

    source: str
    """The file it came from (a results.json path, or ``store.sqlite#<digest>``)."""
    results: JSON
    status: str = "done"
    error: str | None = None
    seconds: float | None = None
    extra: JSON = field(default_factory=dict)

    def get(self, dotted: str, default: Any = None) -> Any:
        """``run.get("accuracy.quantized")``: a nested value, or ``default`` if any part
        is missing or None."""
        return dig(self.results, dotted, default)

    @property
    def digest(self) -> str:
        return str(self.results.get("digest") or "?")

    @property
    def name(self) -> str:
        return str(self.results.get("name") or self.get("config.name") or "run")

    @property
    def method(self) -> str:
        return str(self.get("config.quant.method", "?"))

    @property
    def target_acc_bits(self) -> int | None:
        """The configured accumulator width P (None: FINN derives it from the weights)."""
        value = self.get("config.quant.acc_bits")
        return int(value) if value is not None else None

    @property
    def squeezed(self) -> bool:
        """A baseline whose accumulators are squeezed to P bits (they wrap on overflow)."""
        return self.method == "baseline" and self.target_acc_bits is not None

    @property
    def accuracy(self) -> float | None:
        """The accuracy of the design as deployed: the bit-accurate accelerator model's
        (wrap-around included, flow step 'rtl'), else the quantized torch model's."""
        for key in ("accuracy.accelerator", "accuracy.quantized"):
            value = self.get(key)
            if _finite(value):
                return float(value)
        return None

    @property
    def accuracy_source(self) -> str:
        if _finite(self.get("accuracy.accelerator")):
            return "accelerator"
        return "quantized model" if _finite(self.get("accuracy.quantized")) else "n/a"

    def built_acc_bits(self, layer: JSON) -> int | None:
        """The accumulator width a layer is built with: P for a squeezed baseline, else
        the width FINN derived (for A2Q never more than P)."""
        if self.squeezed:
            return self.target_acc_bits
        bits = layer.get("acc_bits_finn", layer.get("acc_bits"))
        return int(bits) if bits is not None else None

    @property
    def weighted_layers(self) -> list[JSON]:
        layers = self.results.get("layers") or []
        return [ly for ly in layers if isinstance(ly, dict) and ly.get("acc_bits_finn")]

    @property
    def folding(self) -> tuple[tuple[int, int], ...] | None:
        """(PE, SIMD) of each MVAU as built, in graph order; None before lowering."""
        layers = self.weighted_layers
        if not layers or any(ly.get("pe") is None or ly.get("simd") is None for ly in layers):
            return None
        return tuple((int(ly["pe"]), int(ly["simd"])) for ly in layers)

    @property
    def folding_text(self) -> str:
        """:attr:`folding` as ``PE/SIMD`` per MVAU (``16/4, 1/8``), or ``?``."""
        return folding_text(self.results.get("layers") or [])

    @property
    def acc_bits(self) -> int | None:
        """P as built: the configured width, else the widest accumulator FINN derived."""
        if self.target_acc_bits is not None:
            return self.target_acc_bits
        widths = [int(ly["acc_bits"]) for ly in self.weighted_layers if ly.get("acc_bits")]
        return max(widths) if widths else None

    @property
    def series(self) -> str:
        """The curve a run belongs to in figures: its method, and for a baseline whether
        its accumulators were squeezed to P or left at FINN's width."""
        if self.method == "baseline" and self.target_acc_bits is None:
            return "baseline (FINN width)"
        return self.method

    @property
    def label(self) -> str:
        p = self.target_acc_bits
        return f"{self.name} [{self.method}, P={p if p is not None else 'FINN'}] {self.digest[:8]}"

    def cycles_per_frame(self) -> tuple[float | None, str]:
        """Cycles per frame and where the number comes from: the simulation's measured
        II, else FINN's estimate (the flow's, else the slowest layer's cycles)."""
        measured = self.get("cycles.ii_measured")
        if _finite(measured):
            return float(measured), "measured"
        est = self.get("cycles.ii_estimated")
        if _finite(est):
            return float(est), "FINN estimate"
        cycles = [ly.get("cycles") for ly in self.results.get("layers") or []]
        finite = [float(c) for c in cycles if _finite(c)]
        if finite:
            return max(finite), "FINN estimate"
        return None, "n/a"

    def backend_verification(self, backend: str) -> JSON | None:
        """The stream verification of one backend (``rtl``: cocotb simulation, ``hls``:
        g++ C-simulation), or None where it did not run. Results written before the HLS
        backend have only the RTL record, at the top of ``verification``."""
        v = self.results.get("verification")
        if not isinstance(v, dict):
            return None
        backends = v.get("backends")
        if isinstance(backends, dict):
            rec = backends.get(backend)
            return rec if isinstance(rec, dict) else None
        return v if backend == "rtl" and v.get("frames") is not None else None

    @property
    def hls_ran(self) -> bool:
        """The HLS backend ran: a C-simulation, or a Vitis HLS record."""
        return (self.backend_verification("hls") is not None
                or isinstance(self.results.get("hls_synthesis"), dict))

    def resources(self, which: str = "accelerator") -> JSON | None:
        """Synthesis totals (``LUT``, ``FF`` ...) of the accelerator, or of the
        wide-accumulator twin with ``which='wide'``."""
        res = self.results.get("resources")
        if not isinstance(res, dict):
            return None
        key = "accelerator" if which == "accelerator" else self.wide_key()
        if key is None:
            return None
        total = dig(res, f"{key}.total")
        return total if isinstance(total, dict) else None

    def wide_key(self) -> str | None:
        """The resources key of the wide-accumulator twin: ``acc32`` if present, else
        the first ``acc<N>`` key."""
        res = self.results.get("resources")
        if not isinstance(res, dict):
            return None
        keys = sorted(k for k in res if re.fullmatch(r"acc\d+", k))
        if "acc32" in keys:
            return "acc32"
        return keys[0] if keys else None


def folding_text(layers: Sequence[Any]) -> str:
    """``PE/SIMD`` of each weighted layer of a results ``layers`` list, in graph order.

    >>> folding_text([{"weight_count": 9, "pe": 16, "simd": 4}, {"pe": 1},
    ...               {"weight_count": 8, "pe": 1, "simd": 8}])
    '16/4, 1/8'
    >>> folding_text([])
    '?'
    """
    parts = [
        f"{ly.get('pe', '?')}/{ly.get('simd', '?')}"
        for ly in layers
        if isinstance(ly, dict) and ly.get("weight_count") is not None
    ]
    return ", ".join(parts) if parts else "?"


def dig(data: Any, dotted: str, default: Any = None) -> Any:
    """Nested lookup by dotted key.

    >>> dig({"a": {"b": 1}}, "a.b"), dig({"a": None}, "a.b", 0), dig({}, "x", "-")
    (1, 0, '-')
    """
    cur = data
    for part in dotted.split("."):
        if not isinstance(cur, dict) or cur.get(part) is None:
            return default
        cur = cur[part]
    return cur


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_results(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("config"), dict) and "layers" in data


def runs_from_results(results: JSON, source: str = "<dict>") -> Run:
    """A :class:`Run` from a results mapping (the ``results.json`` schema)."""
    if not _is_results(results):
        raise ReportError(
            f"{source}: not a flow results mapping (needs 'config' and 'layers'); "
            f"a report accepts {ACCEPTED}"
        )
    return Run(source=source, results=results)


def _load_json(path: Path) -> list[Run]:
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ReportError(
            f"{path}: cannot read as JSON ({err}); a report accepts {ACCEPTED}"
        ) from None
    return [runs_from_results(data, str(path))]


def _load_store(path: Path) -> list[Run]:
    from codesign.dse.store import StoreError, SweepStore

    try:
        with SweepStore(path) as store:
            rows = store.rows()
    except StoreError as err:
        raise ReportError(f"{path}: {err}") from None
    runs = []
    for row in rows:
        results: JSON = dict(row.results or {})
        results.setdefault("config", row.config)
        results.setdefault("digest", row.digest)
        results.setdefault("name", row.config.get("name") if row.config else None)
        results.setdefault("layers", [])
        runs.append(
            Run(
                source=f"{path}#{row.digest}",
                results=results,
                status=row.status,
                error=row.error,
                seconds=row.seconds,
                extra={"until": row.until, "overrides": row.overrides},
            )
        )
    return runs


def load_source(path: Path | str) -> list[Run]:
    """The runs in one source: a results.json, a build directory or a sweep store."""
    p = Path(path)
    if p.is_dir():
        if (p / "results.json").is_file():
            return _load_json(p / "results.json")
        raise ReportError(f"{p}: a directory without results.json; a report accepts {ACCEPTED}")
    if not p.is_file():
        raise ReportError(f"{p}: no such file; a report accepts {ACCEPTED}")
    try:
        with p.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise ReportError(
            f"{p}: cannot read ({err.strerror}); a report accepts {ACCEPTED}"
        ) from None
    if head == SQLITE_MAGIC:
        return _load_store(p)
    if p.suffix.lower() == ".json" or head.lstrip()[:1] == b"{":
        return _load_json(p)
    raise ReportError(f"{p}: neither JSON nor an SQLite sweep store; a report accepts {ACCEPTED}")


def load_runs(sources: Iterable[Path | str | JSON]) -> list[Run]:
    """All runs of all sources, in order; a design point (same digest and status) seen
    twice — e.g. a build's results.json and the sweep store row of the same point —
    is kept once (its first occurrence)."""
    runs: list[Run] = []
    seen: set[tuple[str, str]] = set()
    for src in sources:
        loaded = [runs_from_results(src)] if isinstance(src, dict) else load_source(src)
        for run in loaded:
            key = (run.digest, run.status)
            if run.digest != "?" and key in seen:
                continue
            seen.add(key)
            runs.append(run)
    return runs


def sort_runs(runs: Sequence[Run]) -> list[Run]:
    """Runs in a stable display order: series, then P, then name and digest."""
    return sorted(
        runs, key=lambda r: (r.series, r.acc_bits if r.acc_bits is not None else 999, r.name,
                             r.digest)
    )
