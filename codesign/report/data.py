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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from codesign.errors import CodesignError
from codesign.frontend.metrics import Metric, metric

JSON = dict[str, Any]

SQLITE_MAGIC = b"SQLite format 3\x00"
ACCEPTED = (
    "a flow results.json (a JSON object with 'config' and 'layers', as codesign.flow.runner "
    "writes it), a build directory holding one (or its Vivado project folder), or a sweep "
    "store (.sqlite, as codesign.dse.sweep writes it)"
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
    def user_model(self) -> bool:
        """A user's model (an ONNX file or a Brevitas factory): it carries its own
        quantization, so its config has no ``quant`` section (the flow leaves it out)."""
        config = self.results.get("config")
        return isinstance(config, dict) and "quant" not in config

    @property
    def method(self) -> str:
        """The quantization method: the config's (``a2q``, ``baseline`` ...), or for a
        user's model ``own quantization (<model.kind>)``."""
        if self.user_model:
            return f"own quantization ({self.get('config.model.kind', '?')})"
        return str(self.get("config.quant.method", "?"))

    @property
    def target_acc_bits(self) -> int | None:
        """The configured accumulator width P, the widest entry of a per-layer list (None:
        FINN derives it from the weights, and always for a user's model, which has no P)."""
        value = None if self.user_model else self.get("config.quant.acc_bits")
        if isinstance(value, list):
            widths = [int(v) for v in value if v is not None]
            return max(widths) if widths else None
        return int(value) if value is not None else None

    @property
    def layer_policy(self) -> str:
        """``quant.layer_policy``: ``papers`` (first and last layers 8-bit, unconstrained)
        or ``uniform`` (every layer as configured; results written before the setting)."""
        return "uniform" if self.user_model else str(self.get("config.quant.layer_policy",
                                                                "uniform"))

    @property
    def fine_tuned(self) -> bool:
        """Trained from its float twin (``train.init: float``), not from scratch."""
        return not self.user_model and self.get("config.train.init", "scratch") == "float"

    @property
    def squeezed(self) -> bool:
        """A baseline whose accumulators are squeezed to P bits (they wrap on overflow)."""
        return self.method == "baseline" and self.target_acc_bits is not None

    @property
    def metric(self) -> Metric:
        """What the run's model family is measured by (results without one: accuracy)."""
        return metric(self.get("metric.name"))

    def score(self, stage: str) -> float | None:
        """The family's metric at ``stage`` (``float``, ``quantized``, ``hw_graph``,
        ``accelerator``), None where missing or not finite."""
        value = self.get(f"{self.metric.name}.{stage}")
        return float(value) if _finite(value) else None

    @property
    def accuracy(self) -> float | None:
        """The family's metric (accuracy, PSNR ...) of the design as deployed: the
        bit-accurate accelerator model's (wrap-around included, flow step 'rtl'), else the
        quantized torch model's."""
        for stage in ("accelerator", "quantized"):
            if (value := self.score(stage)) is not None:
                return value
        return None

    @property
    def accuracy_source(self) -> str:
        if self.score("accelerator") is not None:
            return "accelerator"
        return "quantized model" if self.score("quantized") is not None else "n/a"

    def built_acc_bits(self, layer: JSON) -> int | None:
        """The accumulator width a layer is built with: its P for a squeezed baseline
        (where it has one), else the width FINN derived (for A2Q never more than P)."""
        if self.squeezed:
            own = layer.get("acc_bits_target", self.target_acc_bits)  # the layer's own P
            if own is not None:
                return int(own)
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
    def mac_resources(self) -> tuple[str | None, ...] | None:
        """Where each weighted layer's multipliers are as built (``lut`` / ``dsp``; None
        for a layer without, an XNOR-popcount), in graph order; None before lowering and
        in results written before codesign recorded it."""
        layers = self.weighted_layers
        if not layers or any("mac_resource" not in ly for ly in layers):
            return None
        return tuple(ly["mac_resource"] for ly in layers)

    @property
    def mac_text(self) -> str:
        """:attr:`mac_resources` as ``LUT``, ``DSP`` or per layer (``LUT/LUT/DSP``);
        ``none`` without multipliers, ``?`` where not recorded.

        >>> Run("r", {"layers": [{"acc_bits_finn": 16, "mac_resource": "lut"}]}).mac_text
        'LUT'
        >>> Run("r", {"layers": [{"acc_bits_finn": 16, "mac_resource": "lut"},
        ...                      {"acc_bits_finn": 9, "mac_resource": "dsp"}]}).mac_text
        'LUT/DSP'
        >>> Run("r", {"layers": [{"acc_bits_finn": 16}]}).mac_text
        '?'
        """
        modes = self.mac_resources
        if modes is None:
            return "?"
        placed = [m.upper() for m in modes if m is not None]
        if not placed:
            return "none"
        return placed[0] if len(set(placed)) == 1 else "/".join(placed)

    @property
    def layer_acc_bits(self) -> list[int]:
        """The accumulator width of each weighted layer as built, in graph order."""
        return [b for ly in self.weighted_layers if (b := self.built_acc_bits(ly)) is not None]

    @property
    def acc_bits(self) -> int | None:
        """P on the figures' P axis: the configured width, else (a baseline left at FINN's
        width) the widest accumulator FINN derived; None for a user's model, whose
        accumulators are its own and no P of a built-in method (see :attr:`acc_text`)."""
        if self.target_acc_bits is not None:
            return self.target_acc_bits
        if self.user_model:
            return None
        widths = self.layer_acc_bits
        return max(widths) if widths else None

    @property
    def acc_text(self) -> str:
        """The accumulator cell: ``16`` (P), ``16 (papers)`` (P of the hidden layers under
        the papers' layer policy), ``per layer 16/14/-`` (a per-layer quant.acc_bits, -:
        unconstrained), ``FINN (19)`` (a baseline at FINN's widths, the widest), ``per
        layer 15/16`` (a user's model: its layers as built), or ``?`` before lowering."""
        value = None if self.user_model else self.get("config.quant.acc_bits")
        if isinstance(value, list):
            return "per layer " + "/".join("-" if v is None else str(v) for v in value)
        if self.target_acc_bits is not None:
            papers = " (papers)" if self.layer_policy == "papers" else ""
            return f"{self.target_acc_bits}{papers}"
        if self.user_model:
            widths = self.layer_acc_bits
            return f"per layer {'/'.join(map(str, widths))}" if widths else "?"
        return f"FINN ({self.acc_bits})" if self.acc_bits is not None else "FINN"

    @property
    def series(self) -> str:
        """The curve a run belongs to in figures: its method, and for a baseline whether
        its accumulators were squeezed to P or left at FINN's width."""
        if self.method == "baseline" and self.target_acc_bits is None:
            return "baseline (FINN width)"
        notes = [n for n, on in (("papers", self.layer_policy == "papers"),
                                 ("fine-tuned", self.fine_tuned)) if on]
        return f"{self.method} ({', '.join(notes)})" if notes else self.method

    @property
    def label(self) -> str:
        acc = self.acc_text
        acc = acc if acc.startswith("per layer") else f"P={acc}"
        tuned = ", fine-tuned" if self.fine_tuned else ""
        return f"{self.name} [{self.method}, {acc}{tuned}] {self.digest[:8]}"

    @property
    def test_set(self) -> str:
        """What the scores were measured on: the family's test set, or the user's."""
        from codesign.frontend.models import families

        data = self.get("config.data")
        if not isinstance(data, dict) or data.get("kind", "digits") == "digits":
            kind = self.get("config.model.kind")
            return next((f.test_set for f in families() if f.kind == kind),
                        "the held-out test split of the digits data set")
        images = self.get("import.images", self.get("export.n"))
        count = f" ({images} images)" if images is not None else ""
        return f"the user's test set {data.get('path', '?')}{count}"

    @property
    def synthesized(self) -> bool:
        return self.resources("accelerator") is not None

    @property
    def hardware(self) -> tuple[tuple[Any, ...], ...] | None:
        """What sets the accelerator's cycles: each layer's kind, shape, folding, data
        types and accumulator as built; equal for two builds of the same design (e.g. a
        simulated build and a bitstream build of it). None before lowering."""
        layers = [ly for ly in self.results.get("layers") or [] if isinstance(ly, dict)]
        if not layers:
            return None
        keys = ("name", "op_type", "mw", "mh", "channels", "pe", "simd", "input_dtype",
                "weight_dtype", "output_dtype", "cycles")
        return tuple((*(ly.get(k) for k in keys), self.built_acc_bits(ly)) for ly in layers)

    def cycles_per_frame(self) -> tuple[float | None, str]:
        """Cycles per frame (the II) and where the number comes from: ``measured`` in RTL
        simulation or ``estimated`` (the slowest node's kernel estimate), as results.json's
        ``ii`` labels it; older results: the simulation's record, else the slowest layer."""
        ii = self.results.get("ii")
        if isinstance(ii, dict) and _finite(ii.get("cycles")):
            return float(ii["cycles"]), str(ii.get("source") or "estimated")
        measured = self.get("cycles.ii_measured")
        if _finite(measured):
            return float(measured), "measured"
        est = self.get("cycles.ii_estimated")
        if _finite(est):
            return float(est), "estimated"
        cycles = [ly.get("cycles") for ly in self.results.get("layers") or []]
        finite = [float(c) for c in cycles if _finite(c)]
        if finite:
            return max(finite), "estimated"
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


@dataclass(frozen=True)
class CyclesPerFrame:
    """A run's cycles per frame as the report shows it (:func:`resolve_cycles`)."""

    value: float | None
    source: str
    """``measured`` (RTL simulation), ``estimated`` (kernel estimates) or ``n/a``."""
    measured_on: Run | None = None
    """Another run of the same hardware whose simulation measured it (this one was not
    simulated)."""

    @property
    def measured(self) -> bool:
        return self.source == "measured"

    @property
    def text(self) -> str:
        """``334 (measured)``, ``334 (estimated)``, ``334 (measured on <run> <digest>)``
        or ``—``.

        >>> CyclesPerFrame(334.0, "estimated").text, CyclesPerFrame(None, "n/a").text
        ('334 (estimated)', '—')
        """
        if self.value is None:
            return "—"
        other = self.measured_on
        where = f"measured on {other.name} {other.digest[:8]}" if other else self.source
        return f"{round(self.value):d} ({where})"


def resolve_cycles(runs: Sequence[Run]) -> list[CyclesPerFrame]:
    """Each run's cycles per frame, measured wherever the design was simulated: a run
    with only an estimate takes the measurement of another run with the same hardware
    (:attr:`Run.hardware`), so that one design never shows an estimate beside its own
    measurement as if the two were the same kind of figure."""
    measured: dict[Any, tuple[float, Run]] = {}
    for r in runs:
        value, source = r.cycles_per_frame()
        if source == "measured" and value is not None and r.hardware is not None:
            measured.setdefault(r.hardware, (value, r))
    out = []
    for r in runs:
        value, source = r.cycles_per_frame()
        twin = measured.get(r.hardware) if source == "estimated" else None
        if twin is not None and twin[1] is not r:
            out.append(CyclesPerFrame(twin[0], "measured", twin[1]))
        else:
            out.append(CyclesPerFrame(value, source))
    return out


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


def _is_vivado_record(path: Path) -> bool:
    """A Vivado project folder's results.json (``codesign bitstream --board <vivado
    board>``): board, part and status, no flow config."""
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and "part" in data and "status" in data and (
        "config" not in data)


def _load_dir(p: Path) -> list[Run]:
    """A build directory's results.json; a Vivado project folder (``<build>/vivado``)
    stands for its build directory."""
    results = p / "results.json"
    if results.is_file() and _is_vivado_record(results):
        if (p.parent / "results.json").is_file():
            return _load_json(p.parent / "results.json")
        raise ReportError(
            f"{p}: a Vivado project folder whose build directory {p.parent} has no "
            "results.json; run `codesign bitstream CONFIG --board BOARD --out "
            f"{p.parent}` again (its finished steps are reused)"
        )
    if results.is_file():
        return _load_json(results)
    if (p / "vivado" / "results.json").is_file():
        raise ReportError(
            f"{p}: a Vivado build written before codesign recorded its results.json; run "
            f"`codesign bitstream CONFIG --board BOARD --out {p}` again (its finished "
            "steps are reused)"
        )
    raise ReportError(f"{p}: a directory without results.json; a report accepts {ACCEPTED}")


def load_source(path: Path | str) -> list[Run]:
    """The runs in one source: a results.json, a build directory or a sweep store."""
    p = Path(path)
    if p.is_dir():
        return _load_dir(p)
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
    twice — e.g. a build's results.json and the sweep store row of the same point, or a
    simulated build and a bitstream build of the same config — is kept once, at its
    first place (:func:`_merge`)."""
    runs: list[Run] = []
    seen: dict[tuple[str, str], int] = {}
    for src in sources:
        loaded = [runs_from_results(src)] if isinstance(src, dict) else load_source(src)
        for run in loaded:
            key = (run.digest, run.status)
            if run.digest == "?" or key not in seen:
                seen[key] = len(runs)
                runs.append(run)
                continue
            runs[seen[key]] = _merge(runs[seen[key]], run)
    return runs


def _merge(kept: Run, other: Run) -> Run:
    """One design point from two sources: the one that ran more flow steps (the first on
    a tie), with the other's ``bitstream`` record where it has none (the same config gives
    the same results up to the steps each build ran)."""
    steps = [len(r.results.get("steps_run") or []) for r in (kept, other)]
    base, extra = (other, kept) if steps[1] > steps[0] else (kept, other)
    if "bitstream" in extra.results and "bitstream" not in base.results:
        base = replace(base, results={**base.results, "bitstream": extra.results["bitstream"]})
    return base


def sort_runs(runs: Sequence[Run]) -> list[Run]:
    """Runs in a stable display order: series, then P, then name and digest."""
    return sorted(
        runs, key=lambda r: (r.series, r.acc_bits if r.acc_bits is not None else 999, r.name,
                             r.digest)
    )
