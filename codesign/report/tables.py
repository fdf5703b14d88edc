"""Report tables: plain values (strings already formatted) that HTML or text can render."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from codesign.report.data import Run, resolve_cycles
from codesign.report.paper import PAPER, PaperComparison, Reduction

DASH = "—"


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[list[str]]
    note: str | None = None
    row_classes: list[str] = field(default_factory=list)
    """An optional CSS class per row (``paper``, ``failed``, ``bad``) for emphasis."""

    def to_text(self) -> str:
        """A fixed-width text rendering (for logs and doctests)."""
        widths = [
            max(len(c), *(len(r[i]) for r in self.rows)) if self.rows else len(c)
            for i, c in enumerate(self.columns)
        ]
        lines = ["  ".join(c.ljust(w) for c, w in zip(self.columns, widths, strict=True))]
        lines += [
            "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in self.rows
        ]
        return "\n".join(lines)


def fmt(value: Any, kind: str = "") -> str:
    """Format one cell: ``pct`` (0.982 → 98.2 %), ``x`` (46.5x), ``acc`` (0.9611 → 96.11 %),
    ``int``, ``f3``; None → a dash.

    >>> fmt(0.982, "pct"), fmt(46.54, "x"), fmt(None), fmt(3520.0, "int"), fmt(True)
    ('98.2 %', '46.5x', '—', '3520', 'yes')
    """
    if value is None:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if isinstance(value, int | float):
        if kind == "pct":
            return f"{100 * value:.1f} %"
        if kind == "acc":
            return f"{100 * value:.2f} %"
        if kind == "x":
            return f"{value:.1f}x"
        if kind == "int":
            return f"{round(value):d}"
        if kind == "f3":
            return f"{value:.3f}"
        if isinstance(value, float):
            return f"{value:g}"
    return str(value)


STAGES = ("float", "quantized", "hw_graph", "accelerator")
"""Where a run's metric is measured: float twin, quantized model, FINN graph, accelerator."""


def score_text(run: Run, stage: str) -> str:
    """The run's metric at ``stage``, in its unit.

    >>> score_text(Run("r", {"accuracy": {"float": 0.9611}}), "float")
    '96.11 %'
    >>> psnr = {"metric": {"name": "psnr"}, "psnr": {"accelerator": 27.314}}
    >>> score_text(Run("r", psnr), "accelerator"), score_text(Run("r", psnr), "float")
    ('27.31 dB', '—')
    """
    value = run.score(stage)
    if value is None or run.metric.unit == "%":
        return fmt(value, "acc")
    return f"{value:.2f} {run.metric.unit}"


def agreement_text(run: Run) -> str:
    """The agreement cell: FINN graph / accelerator predictions equal to the source
    graph's, and whether the simulated accelerator was bit-exact.

    >>> agreement_text(Run("r", {"agreement": {"hw_graph": 1.0, "accelerator": 1.0,
    ...                                        "accelerator_outputs_bit_exact": True}}))
    '100.0 % / 100.0 %, bit-exact'
    >>> agreement_text(Run("r", {})), agreement_text(Run("r", {"agreement": {"hw_graph": 1.0}}))
    ('—', '100.0 % / —')
    """
    hw, acc = run.get("agreement.hw_graph"), run.get("agreement.accelerator")
    if hw is None and acc is None:
        return DASH
    text = f"{fmt(hw, 'pct')} / {fmt(acc, 'pct')}"
    exact = run.get("agreement.accelerator_outputs_bit_exact")
    if exact is not None:
        text += ", bit-exact" if exact else ", outputs differ"
    return text


def summary_table(runs: Sequence[Run]) -> Table:
    rows, classes = [], []
    for r, cycles in zip(runs, resolve_cycles(runs), strict=True):
        res = r.resources("accelerator") or {}
        wide = r.resources("wide") or {}
        err = (r.error or "").strip().splitlines()
        rows.append(
            [
                r.name,
                r.digest[:8],
                r.status if not err else f"{r.status}: {err[0][:120]}",
                r.method,
                r.acc_text,
                fmt(r.get("config.quant.weight_bits")),
                fmt(r.get("config.quant.act_bits")),
                fmt(r.get("config.model.hidden")),
                r.folding_text,
                r.mac_text,
                *(score_text(r, stage) for stage in STAGES),
                agreement_text(r),
                fmt(res.get("LUT"), "int"),
                fmt(res.get("FF"), "int"),
                fmt(res.get("DSP"), "int"),
                fmt(res.get("BRAM36"), "f3") if res.get("BRAM36") else fmt(res.get("BRAM36")),
                fmt(wide.get("LUT"), "int"),
                fmt(wide.get("FF"), "int"),
                cycles.text,
            ]
        )
        classes.append("failed" if r.status != "done" else "")
    wide_keys = sorted({k for r in runs if (k := r.wide_key())})
    wide_name = wide_keys[0] if len(wide_keys) == 1 else ("acc32" if not wide_keys else "wide acc")
    return Table(
        key="summary",
        title="Runs",
        columns=[
            "name", "digest", "status", "method", "P", "W bits", "A bits", "hidden",
            "PE/SIMD", "MACs", "float", "quantized", "HW graph", "accelerator",
            "agreement", "LUT", "FF",
            "DSP", "BRAM36",
            f"LUT {wide_name}", f"FF {wide_name}", "cycles/frame",
        ],
        rows=rows,
        row_classes=classes,
        note="P: the configured accumulator width; '(papers)': the papers' layer policy, "
        "P for the hidden layers, the first and last 8-bit and unconstrained; 'per layer "
        "a/b/-': a P per weighted layer (-: unconstrained), or for a user's model (its own "
        "quantization, no P) each weighted layer's accumulator as built; 'FINN (n)': no "
        "target, FINN's own MinimizeAccumulatorWidth result (widest layer n). "
        "PE/SIMD: each MVAU's folding as "
        "built, in graph order. MACs: where the weighted layers' multipliers are (LUT or "
        "DSP, per layer where they differ; fold.mac_resource, FINN's resType). The model "
        "family's metric on the test split (a classifier's "
        "accuracy in %, an image family's PSNR in dB): "
        "float twin, quantized torch model, FINN graph, and the bit-accurate accelerator "
        "model (a squeezed baseline's accumulators wrap there, and only there); "
        "a model imported without labels has none. Agreement, with or without labels: the "
        "share of test images whose prediction (a classifier's) or whole output tensor (an "
        "image family's) equals the source graph's (QONNX / the "
        "imported file), for the FINN graph / the accelerator, and 'bit-exact' where "
        "every simulated output word equals the reference. Resources: Yosys synth_xilinx "
        "(— : not synthesized). Cycles per frame: the II measured in RTL simulation; "
        "'estimated': not simulated, the slowest node's kernel estimate; 'measured on X': "
        "not simulated, but run X with the same layers (shapes, folding, data types) was.",
    )


def _reduction_cell(r: Reduction | None) -> str:
    if r is None or r.lut is None:
        return DASH
    ff = DASH if r.ff is None else f"{r.ff:.2f}x"
    return f"{r.lut:.2f}x / {ff}"


def _paper_rows() -> list[list[str]]:
    """The papers' own figures: A2Q's headline and A2Q+'s quotation of it."""
    shared = [str(PAPER.acc_bits), DASH, PAPER.macs, fmt(PAPER.sparsity, "pct"),
              fmt(PAPER.compression, "x"), fmt(PAPER.float_fraction, "pct")]
    return [
        ["A2Q paper (ICCV 2023)", "a2q", *shared,
         f"up to {fmt(PAPER.resource_reduction, 'x')}", DASH,
         "same accelerators, 32-bit accumulators"],
        ["A2Q+ paper (ICML 2024, §1) quoting A2Q", "a2q", *shared,
         f"up to {fmt(PAPER.resource_reduction_quoted, 'x')}", DASH,
         "same accelerators, 32-bit accumulators"],
    ]


def paper_table(comparisons: Sequence[PaperComparison]) -> Table:
    rows = _paper_rows()
    classes = ["paper"] * len(rows)
    for c in comparisons:
        baseline = c.vs_baseline.reference if c.vs_baseline else c.baseline_note
        rows.append(
            [
                c.label,
                c.method,
                fmt(c.acc_bits),
                c.folding,
                c.macs,
                fmt(c.sparsity, "pct"),
                fmt(c.compression, "x"),
                fmt(c.float_fraction, "pct"),
                _reduction_cell(c.vs_baseline),
                _reduction_cell(c.vs_twin),
                baseline or DASH,
            ]
        )
        classes.append("")
    return Table(
        key="paper",
        title="Side by side with the A2Q papers",
        columns=[
            "run", "method", "P", "PE/SIMD", "MACs", "weight sparsity", "est. compression",
            "% of float accuracy", "LUT / FF reduction vs 32-bit baseline",
            "LUT / FF reduction vs same-weights 32-bit twin", "32-bit baseline",
        ],
        rows=rows,
        row_classes=classes,
        note=PAPER.source,
    )


def layer_table(runs: Sequence[Run]) -> Table:
    rows = []
    for r in runs:
        for ly in r.weighted_layers:
            rows.append(
                [
                    r.label,
                    str(ly.get("name")),
                    f"{fmt(ly.get('mw'))}x{fmt(ly.get('mh'))}",
                    f"{fmt(ly.get('pe'))}/{fmt(ly.get('simd'))}",
                    f"{fmt(ly.get('input_bits'))}/{fmt(ly.get('weight_bits'))}",
                    fmt(ly.get("acc_bits_dtype_bound")),
                    fmt(ly.get("acc_bits_a2q_bound")),
                    fmt(ly.get("acc_bits_weight_bound")),
                    fmt(ly.get("acc_bits_finn")),
                    fmt(ly.get("acc_bits_target")),
                    fmt(r.built_acc_bits(ly)),
                    fmt(ly.get("max_l1_norm"), "int"),
                    fmt(ly.get("weight_sparsity"), "pct"),
                ]
            )
    return Table(
        key="layers",
        title="Accumulator bits per layer",
        columns=[
            "run", "layer", "MW x MH", "PE/SIMD", "in/w bits", "data-type bound",
            "A2Q bound", "weight-aware", "FINN", "target P", "built", "max ‖q‖₁",
            "sparsity",
        ],
        rows=rows,
        note="Data-type bound: worst case for the input and weight data types. A2Q bound: "
        "smallest P the A2Q L1-norm bound allows for the largest per-channel ‖q‖₁. "
        "Weight-aware: exact extreme sums of the actual weights. FINN: "
        "MinimizeAccumulatorWidth. Target P: the layer's own P (quant.acc_bits, per layer "
        "under a list or the papers' layer policy; — : unconstrained). Built: the width in "
        "the accelerator (its P for a squeezed baseline, which then wraps; else FINN's).",
    )


def overflow_table(runs: Sequence[Run]) -> Table | None:
    """Per-layer overflow counts (the ``overflow`` key), or None if no run has them."""
    rows, classes = [], []
    for r in runs:
        ov = r.results.get("overflow")
        if not isinstance(ov, dict):
            continue
        for ly in ov.get("layers") or []:
            n = ly.get("overflowing_channels")
            rows.append(
                [
                    r.label,
                    r.method,
                    str(ly.get("name")),
                    fmt(ly.get("channels")),
                    fmt(ly.get("acc_bits")),
                    fmt(ly.get("acc_bits_target")),
                    fmt(ly.get("fits_target")),
                    fmt(n),
                    fmt(ly.get("rtl_overflow_flag")),
                ]
            )
            classes.append("bad" if n else "")
        rows.append([r.label, r.method, "total", "", "", "", "", fmt(ov.get("total")), ""])
        classes.append("bad" if ov.get("total") else "total")
    if not rows:
        return None
    return Table(
        key="overflow",
        title="Overflow proof: channels whose accumulator wraps on extreme inputs",
        columns=[
            "run", "method", "layer", "channels", "acc bits", "own P", "fits own P",
            "overflowing channels", "RTL overflow flag",
        ],
        rows=rows,
        row_classes=classes,
        note="Each accumulating layer's output channel is driven to its largest and smallest "
        "possible accumulator value (sign-aligned extreme inputs) in RTL simulation; a "
        "channel counts if either sum leaves the accumulator's range, and the RTL overflow "
        "monitor must agree. Own P: the layer's target P (— : unconstrained); fits own P: "
        "whether its extreme sums fit a P-bit accumulator (an A2Q layer's must).",
    )


def verification_table(runs: Sequence[Run]) -> Table:
    rows, classes = [], []
    for r in runs:
        v = r.results.get("verification")
        c = r.results.get("cycles")
        if not isinstance(v, dict) and not isinstance(c, dict):
            continue
        v = v if isinstance(v, dict) else {}
        c = c if isinstance(c, dict) else {}
        flags = v.get("overflow_flags") or {}
        raised = sorted(k for k, f in flags.items() if f)
        rows.append(
            [
                r.label,
                fmt(v.get("simulator")),
                fmt(v.get("frames")),
                fmt(v.get("words_compared")),
                fmt(v.get("mismatches")),
                fmt(v.get("passed")),
                fmt(v.get("backpressure")),
                ", ".join(raised) if raised else ("none" if flags else DASH),
                fmt(c.get("ii_measured"), "int"),
                fmt(c.get("ii_estimated"), "int"),
                fmt(c.get("ii_error"), "pct"),
                fmt(c.get("latency_measured"), "int"),
            ]
        )
        classes.append("bad" if v.get("passed") is False or v.get("mismatches") else "")
    return Table(
        key="verification",
        title="Verification and cycles",
        columns=[
            "run", "simulator", "frames", "words compared", "mismatches", "passed",
            "backpressure", "overflow flags raised", "II measured", "II estimated",
            "II error", "latency (cycles)",
        ],
        rows=rows,
        row_classes=classes,
        note="Bit-exact comparison of every output word against the Python execution of "
        "the FINN graph, with random valid/ready stalls at the given probability. II "
        "estimated: the slowest node's kernel estimate (FINN's, or the kernel's own where "
        "its RTL differs, e.g. the sliding window).",
    )


def verdict_text(v: dict[str, Any] | None) -> str:
    """One backend's verification cell.

    >>> verdict_text({"passed": True, "frames": 360, "mismatches": 0})
    'PASS (360 frames)'
    >>> verdict_text({"passed": False, "frames": 360, "mismatches": 3}), verdict_text(None)
    ('FAIL (360 frames, 3 mismatches)', 'not run')
    """
    if v is None:
        return "not run"
    if v.get("passed"):
        return f"PASS ({fmt(v.get('frames'))} frames)"
    errors = len(v.get("stream_errors") or [])
    detail = f", {fmt(v.get('mismatches'))} mismatches" + (
        f", {errors} stream errors" if errors else "")
    return f"FAIL ({fmt(v.get('frames'))} frames{detail})"


def _hls_resources(hls: Any) -> dict[str, Any]:
    """Vitis HLS csynth estimates in the Yosys totals' keys (LUT, FF, DSP, BRAM36: two
    BRAM_18K a BRAM36), or {} where Vitis HLS did not run."""
    if not isinstance(hls, dict) or not hls.get("ran"):
        return {}
    res = hls.get("resources") or {}
    dsp = res.get("DSP", res.get("DSP48E"))
    bram = res.get("BRAM_18K")
    return {"LUT": res.get("LUT"), "FF": res.get("FF"), "DSP": dsp,
            "BRAM36": bram / 2 if isinstance(bram, int | float) else None}


def _cycles_range(values: Any) -> str:
    if not isinstance(values, list) or not values:
        return DASH
    lo, hi = values[0], values[-1]
    return fmt(lo) if lo == hi else f"{fmt(lo)} to {fmt(hi)}"


def backends_table(runs: Sequence[Run]) -> Table | None:
    """RTL beside HLS for every run that ran the HLS backend: each backend's verification
    verdict, its simulation's frames/s (cocotb RTL simulation / g++ C-simulation), and
    resources and cycles (Yosys and the measured II for RTL, the Vitis HLS csynth
    estimates for HLS where Vitis HLS ran). None when no run ran the HLS backend."""
    rows, classes = [], []
    for r in runs:
        if not r.hls_ran:
            continue
        rtl, hls = r.backend_verification("rtl"), r.backend_verification("hls")
        res = r.resources("accelerator") or {}
        if res:  # Yosys leaves out the cells it mapped none of
            res = {k: res.get(k, 0) for k in ("LUT", "FF", "DSP", "BRAM36")}
        vitis = r.results.get("hls_synthesis")
        vitis = vitis if isinstance(vitis, dict) else {}
        est = _hls_resources(vitis)
        rtl_sim = f"{rtl.get('simulator', '?')} ({rtl.get('driver', 'python')} driver)" \
            if rtl else DASH
        rtl_tool = "Yosys synth_xilinx" if res else "not synthesized"
        if vitis.get("ran"):
            hls_tool = f"Vitis HLS csynth ({vitis.get('part', '?')})"
        elif vitis:
            hls_tool = "Vitis HLS not run" + (f": script {vitis['script']}"
                                              if vitis.get("script") else "")
        else:
            hls_tool = DASH
        rows.append([
            r.label, "RTL", verdict_text(rtl), rtl_sim,
            fmt(rtl.get("frames_per_second"), "int") if rtl else DASH,
            rtl_tool, fmt(res.get("LUT"), "int"), fmt(res.get("FF"), "int"),
            fmt(res.get("DSP"), "int"), fmt(res.get("BRAM36")),
            fmt(r.get("cycles.ii_measured"), "int"), fmt(r.get("cycles.latency_measured"), "int"),
        ])
        rows.append([
            r.label, "HLS", verdict_text(hls), "g++ C-sim" if hls else DASH,
            fmt(hls.get("frames_per_second"), "int") if hls else DASH,
            hls_tool, fmt(est.get("LUT"), "int"), fmt(est.get("FF"), "int"),
            fmt(est.get("DSP"), "int"), fmt(est.get("BRAM36")),
            _cycles_range(vitis.get("ii_cycles")), _cycles_range(vitis.get("latency_cycles")),
        ])
        classes += ["bad" if v is not None and not v.get("passed") else "" for v in (rtl, hls)]
    if not rows:
        return None
    return Table(
        key="backends",
        title="RTL vs HLS",
        columns=[
            "run", "backend", "verification", "simulated with", "frames/s (simulation)",
            "resources from", "LUT", "FF", "DSP", "BRAM36", "II (cycles)", "latency (cycles)",
        ],
        rows=rows,
        row_classes=classes,
        note="Both backends come from the same folded FINN graph and are checked word by "
        "word against the same test-vector files. Frames/s: frames of the verification run "
        "over its wall time, for RTL the cocotb simulation (with its random stalls; the "
        "model's build apart), for HLS the g++ C-simulation (the compile apart): simulation "
        "speed, not accelerator speed. Resources: Yosys synth_xilinx for RTL; the Vitis "
        "HLS csynth estimates for HLS where Vitis HLS ran (BRAM36: half its BRAM_18K). "
        "II and latency: measured in RTL simulation; Vitis HLS's estimates (min to max).",
    )


_VIVADO_STATUS = {"project_only": "project only: Vivado not installed", "built": "built",
                  "timing_failed": "built, timing missed"}


def _count(n: float) -> str:
    return f"{int(n):,}" if float(n).is_integer() else f"{n:,.1f}"


def _used_of(util: Any) -> str:
    """``LUT 1,234/230,400 (0.5 %)`` per class that is used (nextpnr's BEL types, or
    Vivado's classes).

    >>> _used_of({"ICESTORM_LC": {"used": 1320, "available": 5280}, "ICESTORM_RAM":
    ...          {"used": 0, "available": 30}, "device": "xc7z020"})
    'ICESTORM_LC 1,320/5,280 (25.0 %)'
    """
    if not isinstance(util, dict):
        return DASH
    parts = []
    for cls, rec in util.items():
        if not isinstance(rec, dict) or not rec.get("used"):
            continue
        used, avail = rec["used"], rec.get("available")
        if avail:
            parts.append(f"{cls} {_count(used)}/{_count(avail)} ({fmt(used / avail, 'pct')})")
        else:
            parts.append(f"{cls} {_count(used)}")
    return ", ".join(parts) or DASH


def _bitstream_row(r: Run, b: dict[str, Any]) -> list[str]:
    """One build's row: open flow (Yosys + nextpnr) or Vivado (built or project only)."""
    if b.get("flow") == "vivado":
        timing: dict[str, Any] = b["timing"] if isinstance(b.get("timing"), dict) else {}
        status = _VIVADO_STATUS.get(str(b.get("status")), str(b.get("status", "?")))
        flow, fmax, met = "Vivado", timing.get("fmax_mhz"), timing.get("met")
        util, artefact = b.get("utilization"), (
            f"{b.get('dir', 'vivado')}/{b['script']}" if b.get("script") else DASH)
    else:
        flow, fmax, met = "open (Yosys + nextpnr)", b.get("fmax_mhz"), b.get("timing_met")
        status = "built" if met else "built, timing missed"
        util = b.get("utilisation")
        artefact = f"{b.get('dir', '.')}/{b['bitstream']}" if b.get("bitstream") else DASH
    return [r.label, fmt(b.get("board")), flow, status, fmt(b.get("part")),
            fmt(b.get("clock_mhz")), fmt(fmax), fmt(met), _used_of(util), artefact]


def bitstream_table(runs: Sequence[Run]) -> Table | None:
    """The board builds (``codesign bitstream``): board, flow, status, clock, fmax and
    utilisation; None when no run built for a board."""
    rows, classes = [], []
    for r in runs:
        b = r.results.get("bitstream")
        if not isinstance(b, dict):
            continue
        row = _bitstream_row(r, b)
        rows.append(row)
        classes.append("bad" if row[7] == "no" else "")
    if not rows:
        return None
    return Table(
        key="bitstream",
        title="Bitstreams",
        columns=["run", "board", "flow", "status", "part", "clock (MHz)", "fmax (MHz)",
                 "timing met", "utilisation", "bitstream / project script"],
        rows=rows,
        row_classes=classes,
        note="codesign bitstream: the open flow places and routes with nextpnr (fmax from "
        "its timing report, utilisation per BEL type, UART shell included); the Vivado "
        "flow writes a project and builds it where Vivado is installed (fmax from the "
        "worst negative slack at the board's clock; 'project only': run its script where "
        "Vivado is). A build that was not simulated shows an estimated II in 'Runs'.",
    )
