"""The overflow step: every accumulating kernel driven to its extreme sums in RTL
simulation, its overflow monitor checked against the exact sums."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from codesign import bounds
from codesign.errors import VerificationError
from codesign.flow.steps import JSON, StepRun
from codesign.flow.steps.targets import layer_targets

if TYPE_CHECKING:
    from codesign.dataflow.graph import StreamGraph


def overflow(run: StepRun, *, as_built: StreamGraph) -> JSON:
    """Drive every MVAU accumulator to its extremes in RTL simulation.

    Per output channel, the sign-aligned inputs (the largest input where the weight is
    positive, the smallest elsewhere, and the reverse) give the largest and smallest
    sum any input in the layer's input range can give. Each accumulating kernel is
    simulated alone on the frames its kernel builds from those inputs; its overflow
    monitor must fire exactly when some exact extreme sum falls outside its accumulator,
    and its (possibly wrapped) outputs must equal the reference.

    Each layer is also checked at its own P (``quant.acc_bits``, per layer under a list
    or the layer policy): an A2Q layer's extreme sums must fit it (A2Q's guarantee, on
    the weights as lowered); a squeezed baseline's records whether they do.
    """
    from codesign.backends.rtl import emit_rtl
    from codesign.backends.vectors import write_vectors
    from codesign.dataflow.graph import run_reference, single_kernel
    from codesign.verify.junit import FILE as JUNIT
    from codesign.verify.junit import record_case
    from codesign.verify.sim import simulate_accelerator

    bd, cfg = run.bd, run.cfg
    targets = layer_targets(cfg, as_built)
    layers = []
    for _, k in as_built.walk():  # inside loop bodies too
        acc = k.kernel.accumulator(k)
        if acc is None:
            continue
        acc_lo, acc_hi = bounds.int_range(acc.bits, acc.signed)
        sum_lo, sum_hi = acc.sum_range()
        bad = (sum_hi > acc_hi) | (sum_lo < acc_lo)
        target = targets[k.node]
        fits = None if target is None else _fits(target, int(sum_lo.min()), int(sum_hi.max()))
        if fits is False and cfg.quant.method in ("a2q", "a2q_plus") and not cfg.user_model:
            raise VerificationError(
                f"{k.node}: its P is {target} bits, which {cfg.quant.method} guarantees every "
                f"sum fits, but its extreme sums {int(sum_lo.min())}..{int(sum_hi.max())} "
                "leave that range"
            )
        single = single_kernel(k, name=f"{cfg.name}_{k.node}")
        x = k.kernel.overflow_probe(k)
        work = bd.dir("overflow", k.instance_name)
        project = emit_rtl(single, work / "rtl")
        write_vectors(single, x, run_reference(single, x), work / "vectors")
        t0 = time.monotonic()
        try:  # the flags are the probe run's; one stall-free frame (no II is needed)
            report = simulate_accelerator(
                project, work / "vectors", work / "sim", simulator=cfg.sim.simulator,
                driver=cfg.sim.driver, in_pause=0.0, out_pause=0.0, ii_frames=1,
            )
            flagged = report.ovf_flags[k.node]
            if flagged != bool(bad.any()):
                raise VerificationError(
                    f"{k.node}: the overflow monitor reads {flagged} but {int(bad.sum())} "
                    f"channels' extreme sums leave the {acc.bits}-bit range"
                )
        except VerificationError as err:
            record_case(bd.root / JUNIT, "overflow_proof", k.node, str(err),
                        time.monotonic() - t0)
            raise
        record_case(bd.root / JUNIT, "overflow_proof", k.node, None, time.monotonic() - t0)
        layers.append({
            "name": k.node, "channels": acc.channels, "fan_in": acc.fan_in,
            "acc_bits": acc.bits, "acc_bits_target": target, "fits_target": fits,
            "overflowing_channels": int(bad.sum()), "rtl_overflow_flag": flagged,
            "extreme_sum_range": [int(sum_lo.min()), int(sum_hi.max())],
        })
    return {
        "layers": layers,
        "total": sum(layer["overflowing_channels"] for layer in layers),
        "simulator": cfg.sim.simulator,
    }


def _fits(bits: int, lo: int, hi: int) -> bool:
    """Whether every sum in ``lo..hi`` fits a signed ``bits``-wide accumulator."""
    low, high = bounds.int_range(bits, signed=True)
    return low <= lo and hi <= high
