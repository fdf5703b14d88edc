"""The A2Q papers' headline figures, and the same four figures computed for our runs.

Paper (Colbert et al., arXiv 2301.13376 and ICCV 2023): 8-bit weights and activations,
hidden layers held to P = 16-bit accumulators → 98.2 % average weight sparsity, an
estimated compression rate of 46.5x, 99.2 % of the floating-point model's accuracy, and
up to 2.3x less FPGA resource utilisation than the same accelerators with 32-bit
accumulators.

The papers do not spell out the compression formula in the text we could consult, so the
estimate below is **our definition**: dense 32-bit floating-point weights against only
the nonzero weights stored at their trained bit width (``quant.weight_bits``), with no
index or encoding overhead::

    compression = 32 · Σ_l N_l  /  Σ_l (nnz_l · b)

over every weighted layer ``l`` (matrix and vector units) with ``N_l`` weights, of which
``nnz_l = round(N_l · (1 - sparsity_l))`` are nonzero. Sparsity is the fraction of all
those weights that are zero (weighted by layer size).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from codesign.report.data import JSON, Run

FLOAT_BITS = 32
PAPER_WIDE_BITS = 32
"""The papers' reference accumulator width."""


@dataclass(frozen=True)
class PaperFigures:
    """The four headline numbers of the A2Q papers."""

    acc_bits: int = 16
    sparsity: float = 0.982
    compression: float = 46.5
    float_fraction: float = 0.992
    resource_reduction: float = 2.3
    """A2Q (ICCV 2023): up to this many times less FPGA resources than 32-bit accumulators."""
    resource_reduction_quoted: float = 1.6
    """A2Q+ (ICML 2024, §1) quoting A2Q's FPGA result."""
    macs: str = "LUT"
    """FINN's MVAU resType default when the papers ran (multipliers in LUTs); the papers
    do not name the setting of their designs."""
    source: str = (
        "Colbert et al., arXiv 2301.13376 (sparsity, compression, % of float; "
        "average over their benchmarks, 8-bit weights/activations, hidden layers at "
        "P = 16) and ICCV 2023 (up to 2.3x less FPGA resources than 32-bit accumulators, "
        "on FINN-generated accelerators; FINN's MVAU then defaulted to resType lut, its "
        "multipliers in LUTs); A2Q+ (arXiv 2401.10432, §1) quotes that result as up to "
        "1.6x. The papers compare against models trained for 32-bit accumulators: our "
        "'vs 32-bit baseline' column"
    )


PAPER = PaperFigures()

COMPRESSION_DEFINITION = (
    "Estimated compression is our definition (the papers' exact formula was not "
    "available to us): the size of the dense weights as 32-bit floats divided by the size "
    "of only the nonzero integer weights at their trained bit width (quant.weight_bits), "
    "with no index or encoding overhead, summed over every weighted layer: "
    "32 · Σ N / Σ (nnz · weight_bits). Sparsity is the fraction of all weights "
    "that are zero. % of float is the test accuracy of the design as deployed (the "
    "bit-accurate accelerator model, wrap-around included, when the flow ran its 'rtl' "
    "step; else the quantized model) divided by the float twin's test accuracy. "
    "Resource reduction is LUT (and FF) of a 32-bit-accumulator reference divided by LUT "
    "(FF) of the accelerator at its P, both with the run's MACs (each layer's multipliers "
    "in LUTs or DSPs, fold.mac_resource), against two references: the baseline model of "
    "the same sweep built with 32-bit accumulators and the same PE/SIMD and MAC resource "
    "in every layer (the papers' comparison: other weights, so narrower thresholds and "
    "sparsity count; with another folding or MAC resource there is no reduction, and the "
    "table says so), and the same accelerator synthesized with 32-bit accumulators (same "
    "weights, same folding; the flow's synth.compare_acc_bits twin: the accumulator "
    "width alone)."
)


@dataclass(frozen=True)
class WeightStats:
    """Weight counts over a run's weighted (accumulating) layers."""

    total: int
    nonzero: int
    weight_bits: int | None

    @property
    def sparsity(self) -> float | None:
        return 1.0 - self.nonzero / self.total if self.total else None

    @property
    def compression(self) -> float | None:
        if not self.total or not self.weight_bits:
            return None
        stored = self.nonzero * self.weight_bits
        return FLOAT_BITS * self.total / stored if stored else math.inf


def weight_stats(layers: Sequence[JSON], weight_bits: int | None = None) -> WeightStats:
    """Total and nonzero weights of the weighted layers; ``weight_bits`` is the bit width a
    nonzero weight is stored at (default: each layer's own ``weight_bits``; the bits
    reported are then the widest).

    >>> s = weight_stats([{"weight_count": 100, "weight_sparsity": 0.9}], 8)
    >>> s.total, s.nonzero, round(s.compression, 3)
    (100, 10, 40.0)
    """
    total = nonzero = 0
    widest: int | None = weight_bits
    for ly in layers:
        if ly.get("weight_count") is None:
            continue
        n = int(ly["weight_count"])
        sp = ly.get("weight_sparsity")
        nz = n if sp is None else round(n * (1.0 - float(sp)))
        total += n
        nonzero += nz
        if weight_bits is None and ly.get("weight_bits") is not None:
            widest = max(widest or 0, int(ly["weight_bits"]))
    return WeightStats(total=total, nonzero=nonzero, weight_bits=widest)


@dataclass(frozen=True)
class Reduction:
    """LUT and FF of a wide-accumulator reference over those of the run."""

    lut: float | None
    ff: float | None
    wide_acc_bits: int
    reference: str
    """The reference: the run's own twin, or a 32-bit baseline of the same sweep."""


@dataclass(frozen=True)
class PaperComparison:
    """The paper's four figures for one run."""

    label: str
    method: str
    acc_bits: int | None
    folding: str
    """PE/SIMD of each MVAU as built (``16/4, 1/8``)."""
    macs: str
    """Where the multipliers are (:attr:`~codesign.report.data.Run.mac_text`): the
    reductions hold for this MAC resource."""
    sparsity: float | None
    compression: float | None
    float_fraction: float | None
    vs_baseline: Reduction | None
    """Against a 32-bit baseline with the same PE/SIMD and MACs (the papers' reference)."""
    vs_twin: Reduction | None
    """Against the same weights built with wide accumulators (the width alone)."""
    baseline_note: str | None
    """Why a 32-bit baseline of the sweep is no reference (another folding or MACs)."""
    weights: WeightStats


def _ratio(num: object, den: object) -> float | None:
    if isinstance(num, int | float) and isinstance(den, int | float) and den:
        return float(num) / float(den)
    return None


def _reduction(wide: JSON, acc: JSON, wide_bits: int, reference: str) -> Reduction:
    return Reduction(lut=_ratio(wide.get("LUT"), acc.get("LUT")),
                     ff=_ratio(wide.get("FF"), acc.get("FF")),
                     wide_acc_bits=wide_bits, reference=reference)


def _design_without_quant_target(run: Run) -> JSON:
    """The run's configuration minus what a 32-bit baseline may differ in (name, quant
    method and P, verification and synthesis settings) and the folding settings (the
    folding as built is compared instead: a cycles target gives each run its own)."""
    cfg = json.loads(json.dumps(run.get("config", {})))
    for key in ("name", "sim", "synth", "fold"):
        cfg.pop(key, None)
    for key in ("method", "acc_bits"):
        cfg.get("quant", {}).pop(key, None)
    return cfg


def _wide_baselines(run: Run, peers: Sequence[Run]) -> list[Run]:
    mine = _design_without_quant_target(run)
    return [
        peer
        for peer in peers
        if peer is not run
        and peer.status == "done"
        and peer.method == "baseline"
        and peer.target_acc_bits == PAPER_WIDE_BITS
        and peer.resources("accelerator")
        and _design_without_quant_target(peer) == mine
    ]


def _same_build(run: Run, peer: Run) -> bool:
    """The same PE/SIMD and the same MAC resource in every layer."""
    return peer.folding == run.folding and peer.mac_resources == run.mac_resources


def baseline_peer(run: Run, peers: Sequence[Run]) -> Run | None:
    """The finished baseline among ``peers`` built with ``PAPER_WIDE_BITS``-bit
    accumulators and otherwise the same design (model, bit widths, training, board) with
    the same PE/SIMD and MAC resource in every layer as ``run``: the reference for
    resource reduction against a 32-bit baseline."""
    if run.folding is None:
        return None
    return next((p for p in _wide_baselines(run, peers) if _same_build(run, p)), None)


def _vs_twin(run: Run, acc: JSON) -> Reduction | None:
    wide, key = run.resources("wide"), run.wide_key()
    if wide is None or key is None:
        return None
    return _reduction(wide, acc, int(key[3:]), f"{key} twin (same weights, same folding)")


def _vs_baseline(run: Run, peers: Sequence[Run], acc: JSON
                 ) -> tuple[Reduction | None, str | None]:
    """The reduction against a 32-bit baseline of the same build, or why there is none."""
    if run.method == "baseline" and run.target_acc_bits == PAPER_WIDE_BITS:
        return None, None  # the reference itself
    if (peer := baseline_peer(run, peers)) is not None:
        reference = (f"{peer.label} (baseline, same folding {peer.folding_text}, "
                     f"{peer.mac_text} MACs)")
        return _reduction(peer.resources("accelerator") or {}, acc, PAPER_WIDE_BITS,
                          reference), None
    others = _wide_baselines(run, peers)
    if not others:
        return None, None
    # a reduction against another folding (or MAC resource) would mix PE/SIMD lanes (or
    # DSPs) into it
    other = others[0]
    if other.folding != run.folding:
        return None, (f"none: {other.label} is folded {other.folding_text} (PE/SIMD), this "
                      f"run {run.folding_text}; pin the folding (sweep pin_folding) to compare")
    return None, (f"none: {other.label} has {other.mac_text} MACs, this run "
                  f"{run.mac_text}; build the baseline with the same fold.mac_resource to "
                  "compare")


def compare_run(run: Run, peers: Sequence[Run] = ()) -> PaperComparison:
    """Sparsity, compression, fraction of float accuracy and resource reductions of one
    run, computed as described in this module's docstring: against a 32-bit baseline among
    ``peers`` (:func:`baseline_peer`) and against the run's own wide-accumulator twin."""
    wb = run.get("config.quant.weight_bits")
    stats = weight_stats(run.weighted_layers, int(wb) if wb is not None else None)
    # a share of float accuracy; a ratio of PSNRs (dB) is no such share
    frac = _ratio(run.accuracy, run.score("float")) if run.metric.classifies else None
    acc = run.resources("accelerator")
    vs_baseline, note = _vs_baseline(run, peers, acc) if acc else (None, None)
    return PaperComparison(
        label=run.label,
        method=run.method,
        acc_bits=run.acc_bits,
        folding=run.folding_text,
        macs=run.mac_text,
        sparsity=stats.sparsity,
        compression=stats.compression,
        float_fraction=float(frac) if frac is not None else None,
        vs_baseline=vs_baseline,
        vs_twin=_vs_twin(run, acc) if acc else None,
        baseline_note=note,
        weights=stats,
    )
