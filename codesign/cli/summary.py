"""The build's outcome as the CLI prints it after a flow command."""

from __future__ import annotations

from typing import Any

from codesign.cli.output import aligned, console, err_console, fmt, print_lines


def print_summary(results: dict[str, Any]) -> None:
    """The build's outcome: the family's metric and agreement, then (once lowered) the layers,
    the verification verdicts, the overflow proof, the cycles and the resources."""
    _print_accuracy(results)
    if not results.get("layers"):
        return
    _print_layers(results["layers"])
    _warn_folding(results.get("folding"))
    _print_verification(results.get("verification"))
    if results.get("overflow"):
        _print_overflow(results["overflow"])
    if results.get("cycles"):
        cyc = results["cycles"]
        console().print(
            f"cycles per frame: measured II {cyc['ii_measured']:.1f} vs estimate "
            f"{cyc['ii_estimated']} ({cyc['ii_error']:.1%}); latency {cyc['latency_measured']:.0f}"
        )
    elif ii := results.get("ii"):
        console().print(f"cycles per frame: II {ii['cycles']} estimated (not simulated; the "
                        f"slowest layer is {ii['slowest_node']})", highlight=False)
    if results.get("resources"):
        _print_resources(results["resources"], _mac_text(results))


def _print_accuracy(results: dict[str, Any]) -> None:
    """The family's metric (accuracy, PSNR ...) at each stage, then the agreement."""
    metric = results.get("metric") or {"name": "accuracy", "label": "accuracy", "unit": "%"}
    scores = results.get(metric["name"]) or {}
    unit = "" if metric["unit"] == "%" else f" {metric['unit']}"

    def score(key: str) -> str:
        value = scores.get(key)
        return fmt(value) if value is None or not unit else f"{value:.2f}{unit}"

    # train.init float: the quantized model as started from the float twin
    init = ("" if "quantized_at_init" not in scores
            else f" (from float: {score('quantized_at_init')} before fine-tuning)")
    console().print(
        f"[bold]{results['name']}[/]  {metric['label']}: float {score('float')}, "
        f"quantized {score('quantized')}{init}, HW graph {score('hw_graph')}, "
        f"accelerator {score('accelerator')}"
    )
    agree = results.get("agreement") or {}
    if agree.get("hw_graph") is not None:
        exact = agree.get("accelerator_outputs_bit_exact")
        what = "predictions" if metric["unit"] == "%" else "output tensors"
        console().print(
            f"{what} equal to the graph's: HW graph {fmt(agree.get('hw_graph'))}, "
            f"accelerator {fmt(agree.get('accelerator'))}"
            + ("" if exact is None else
               f"; accelerator outputs {'bit-exact' if exact else 'differ from the reference'}")
        )


def _print_layers(layers: list[dict[str, Any]]) -> None:
    rows = []
    for row in layers:
        acc = "/".join(
            fmt(row.get(k))
            for k in ("acc_bits_dtype_bound", "acc_bits_a2q_bound", "acc_bits_finn",
                      "acc_bits_target")
        )
        rows.append((
            row["name"],
            f"{fmt(row.get('mw'))}x{fmt(row.get('mh'))}",
            f"{fmt(row.get('input_bits'))}/{fmt(row.get('weight_bits'))}",
            acc if row.get("acc_bits_finn") is not None else "-",
            f"{fmt(row.get('pe'))}/{fmt(row.get('simd'))}",
            fmt(row.get("cycles")),
            fmt(row.get("lut"), 0),
        ))
    header = ("layer", "MWxMH", "in/w bits", "acc bits", "PE/SIMD", "cycles", "LUT est")
    print_lines(["layers (acc bits: data-type bound / A2Q bound / FINN / the layer's P)",
                 *aligned(header, rows)])


def _warn_folding(folding: dict[str, Any] | None) -> None:
    """A warning line when ``fold.target_cycles`` was missed, with FINN's reasons."""
    if not folding or folding.get("target_met") is not False:
        return
    err_console().print(
        f"[yellow]warning:[/] fold.target_cycles {folding['target_cycles']} not met: the "
        f"slowest layer, {folding['slowest_node']}, takes {folding['achieved_ii']} cycles "
        "per frame", soft_wrap=True, highlight=False,
    )
    for reason in folding.get("reasons", []):
        err_console().print(f"  {reason}", markup=False, soft_wrap=True, highlight=False)


def _print_verification(ver: dict[str, Any] | None) -> None:
    """The verdict of each backend that verified the accelerator (RTL, HLS C-sim)."""
    rtl_ver = (ver or {}).get("backends", {"rtl": ver} if ver else {}).get("rtl")
    hls_ver = (ver or {}).get("backends", {}).get("hls")
    if rtl_ver:
        verdict = "[green]PASS[/]" if rtl_ver["passed"] else "[red]FAIL[/]"
        flags = [n for n, f in rtl_ver["overflow_flags"].items() if f]
        console().print(
            f"verification (RTL) {verdict}: {rtl_ver['frames']} frames, "
            f"{rtl_ver['words_compared']} words, {rtl_ver['mismatches']} mismatches on "
            f"{rtl_ver['simulator']} ({rtl_ver.get('driver', 'python')} driver) with "
            f"{rtl_ver['backpressure']:.0%} random stalls"
            + (f", {rtl_ver['frames_per_second']:,.0f} frames/s"
               if rtl_ver.get("frames_per_second") is not None else "")
            + f"; overflow flags: {', '.join(flags) if flags else 'none'}"
        )
    if hls_ver:
        verdict = "[green]PASS[/]" if hls_ver["passed"] else "[red]FAIL[/]"
        console().print(
            f"verification (HLS C-sim) {verdict}: {hls_ver['frames']} frames, "
            f"{hls_ver['words_compared']} words, {hls_ver['mismatches']} mismatches "
            f"(g++, {hls_ver['frames_per_second']:,.0f} frames/s)"
        )


def _print_overflow(ovf: dict[str, Any]) -> None:
    parts = [
        f"{layer['name']} {layer['overflowing_channels']}/{layer['channels']} channels "
        f"at {layer['acc_bits']} bits "
        f"(RTL flag {'set' if layer['rtl_overflow_flag'] else 'low'}"
        + ("" if layer.get("fits_target") is None else
           f"; {'fits' if layer['fits_target'] else 'exceeds'} its P = {layer['acc_bits_target']}")
        + ")"
        for layer in ovf["layers"]
    ]
    console().print("overflow proof (extreme inputs, RTL): " + "; ".join(parts))


def _mac_text(results: dict[str, Any]) -> str:
    """Where the weighted layers' multipliers are (``LUT``, ``DSP``, ``LUT/DSP`` ...)."""
    from codesign.report.data import Run

    return Run("results", results).mac_text


def _print_resources(res: dict[str, Any], macs: str) -> None:
    rows = [
        (name, *(fmt(r["total"].get(k, 0), 0) for k in ("LUT", "FF", "CARRY", "DSP", "BRAM36")),
         fmt(r["percent"].get("LUT"), 2))
        for name, r in res.items() if isinstance(r, dict) and "total" in r
    ]
    header = ("design", "LUT", "FF", "CARRY", "DSP", "BRAM36", "LUT %")
    print_lines([f"Yosys resources on {res['board']} ({macs} MACs)", *aligned(header, rows)])


def print_bitstream(bs: dict[str, Any]) -> None:
    rows = [(bel, str(u["used"]), str(u["available"]),
             f"{100.0 * u['used'] / max(1, u['available']):.1f}")
            for bel, u in bs["utilisation"].items()]
    print_lines([f"{bs['board']} ({bs['part']}): placed and routed",
                 *aligned(("BEL", "used", "available", "%"), rows)])
    secs = ", ".join(f"{k} {v:.1f} s" for k, v in bs["seconds"].items())
    console().print(
        f"fmax {fmt(bs['fmax_mhz'], 1)} MHz vs board clock {bs['clock_mhz']:g} MHz "
        f"({'met' if bs['timing_met'] else 'MISSED'}); {secs}"
    )
    console().print(f"bitstream: {bs['dir']}/{bs['bitstream']} (UART {bs['shell']['baud']} "
                  f"baud, framing {bs['framing']})")
