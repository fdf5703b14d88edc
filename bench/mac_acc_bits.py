"""LUT, FF and CARRY of one MVAU against its accumulator width P, with its multipliers in
LUTs (``fold.mac_resource: lut``) and in DSPs (``dsp``): does a narrower accumulator ever
cost more?

    PYTHONPATH=. python bench/mac_acc_bits.py [--shape demo|small] [--p 12 16 ...]
        [--out DIR] [--jobs N] > bench/results/mac_acc_bits.json

One MVAU of the demo's first layer (``demo``: MW 64, MH 64, PE 16, SIMD 4, UINT8 inputs,
5-bit weights, 255 thresholds; ``small``: MH 16, PE 4, for a quicker look) with random
weights and thresholds, built at P = 12 and widened to every P as the flow's
``synth.compare_acc_bits`` twin widens it (``Kernel.with_acc_bits``: same weights, same
thresholds, so only the accumulator changes), synthesized out of context by the flow's
per-kernel Yosys run (``synth_xilinx`` for the ZCU104, cached in codesign's synthesis
cache). Prints JSON: the figures per mode and P, and every pair P < P' where the narrower
one costs more of a resource.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

SHAPES = {
    "demo": {"MW": 64, "MH": 64, "PE": 16, "SIMD": 4},
    "small": {"MW": 64, "MH": 16, "PE": 4, "SIMD": 4},
}
IN_BITS, W_BITS, N_THRES, BASE_P = 8, 5, 255, 12


def base_mvau(shape: dict[str, int], seed: int = 0) -> Any:
    """The MVAU at P = 12: random 5-bit weights, 255 ascending thresholds per row inside
    the 12-bit range (so that every P holds them), no overflow monitor wiring needed."""
    from codesign.dataflow.kernels import KernelInstance, Memory, StreamFormat
    from codesign.dataflow.kernels.thresholding import threshold_rom

    rng = np.random.default_rng(seed)
    mw, mh, pe, simd = shape["MW"], shape["MH"], shape["PE"], shape["SIMD"]
    w = rng.integers(-(2 ** (W_BITS - 1)), 2 ** (W_BITS - 1), size=(mw, mh))
    lim = 2 ** (BASE_P - 1)
    thr = np.sort(rng.integers(-lim + 1, lim - 1, size=(mh, N_THRES)), axis=1)
    memories = {"WEIGHT_FILE": Memory("weights", w, pe, simd, W_BITS, True),
                "THRESH_FILE": threshold_rom(thr, pe, BASE_P, True)}
    params: dict[str, int | str] = {
        **shape, "N_VECTORS": 1, "IN_BITS": IN_BITS, "IN_SIGNED": 0, "W_BITS": W_BITS,
        "ACC_BITS": BASE_P, "ACC_SIGNED": 1, "OUT_BITS": 8, "N_THRES": N_THRES,
        "THR_BITS": memories["THRESH_FILE"].bits, "ACT_BIAS": 0, "XNOR": 0, "USE_DSP": 1,
    }
    return KernelInstance(
        node="MVAU_0", kind="mvau", op_type="MVAU", module="cs_mvau", params=params,
        inputs=(StreamFormat(IN_BITS, simd, False),), outputs=(StreamFormat(8, pe, False),),
        words_in=(mw // simd,), words_out=(mh // pe,), est_cycles=(mw // simd) * (mh // pe),
        memories=memories, has_ovf=True,
    )


def measure(shape: str, widths: list[int], out: Path, jobs: int | None) -> dict[str, Any]:
    from codesign.board.registry import get_board
    from codesign.cache import cache_dir
    from codesign.dataflow.graph import single_kernel
    from codesign.dataflow.kernels._base import replace_params
    from codesign.synth.kernels import synthesize_accelerators

    base = base_mvau(SHAPES[shape])
    designs = {}
    for mode, use_dsp in (("lut", 0), ("dsp", 1)):
        for p in widths:
            k = replace_params(base.kernel.with_acc_bits(base, p), USE_DSP=use_dsp)
            designs[f"{mode}_p{p}"] = single_kernel(k, name=f"{mode}_p{p}")
    t0 = time.monotonic()
    done = synthesize_accelerators(designs, get_board("zcu104"), out,
                                   cache_dir=cache_dir("synth"), jobs=jobs, must_fit=None)
    figures = {
        mode: {p: {k: done[f"{mode}_p{p}"].total.get(k, 0)
                   for k in ("LUT", "FF", "CARRY", "DSP")} for p in widths}
        for mode in ("lut", "dsp")
    }
    return {
        "benchmark": "mac_acc_bits",
        "command": "PYTHONPATH=. python " + " ".join(sys.argv),
        "mvau": {**SHAPES[shape], "IN_BITS": IN_BITS, "IN_SIGNED": 0, "W_BITS": W_BITS,
                 "N_THRES": N_THRES, "THR_BITS": base.params["THR_BITS"]},
        "board": "zcu104 (Yosys synth_xilinx -family xcup, per-kernel, flattened)",
        "seconds": round(time.monotonic() - t0, 1),
        "figures": figures,
        "narrower_costs_more": narrower_costs_more(figures),
    }


def narrower_costs_more(figures: dict[str, dict[int, dict[str, float]]]) -> list[str]:
    """Every (mode, resource, P, P') with P < P' where P costs more than P'.

    >>> narrower_costs_more({"lut": {12: {"LUT": 10}, 16: {"LUT": 9}, 20: {"LUT": 12}}})
    ['lut LUT: P=12 10 > P=16 9']
    """
    found = []
    for mode, by_p in figures.items():
        ps = sorted(by_p)
        for res in by_p[ps[0]]:
            for i, p in enumerate(ps):
                for q in ps[i + 1:]:
                    if by_p[p][res] > by_p[q][res]:
                        found.append(f"{mode} {res}: P={p} {by_p[p][res]:g} > "
                                     f"P={q} {by_p[q][res]:g}")
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", choices=sorted(SHAPES), default="demo")
    parser.add_argument("--p", type=int, nargs="+", default=list(range(12, 33, 2)))
    parser.add_argument("--out", type=Path, default=Path("out/bench_mac_acc_bits"))
    parser.add_argument("--jobs", type=int, default=None)
    args = parser.parse_args(argv)
    if min(args.p) < BASE_P:
        parser.error(f"--p: the thresholds need P >= {BASE_P}")
    print(json.dumps(measure(args.shape, sorted(set(args.p)), args.out, args.jobs), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
