"""Speedup of the accelerator over PyTorch on this machine's CPU, as the dsODENet paper
states its 23.8x (software on the board's CPU vs the FPGA).

    python bench/ode_speedup.py BUILD_DIR [THREADS ...] > bench/results/ode_speedup.json

BUILD_DIR is a finished ``codesign flow`` build of a built-in model. The CPU side is the
quantized model (Brevitas, the build's checkpoint) in eval mode, batch 1, one forward per
test image, ``torch.set_num_threads(T)`` for each THREADS (default 1); the median of the
per-image times after a warm-up. The float twin (plain torch layers, the build's
``float.pt``) is timed beside it: Brevitas's fake quantization recomputes the quantized
weights on every forward, so it bounds the CPU side from above and the float twin from
below. The accelerator side is the measured latency of one
frame (cycles from the first input word to the last output word, the sim step) at the
board's clock (``clock_mhz`` of its board file), and the II at that clock for
throughput. Host-side nodes (the last layer's float scale and bias) are not counted.
"""

from __future__ import annotations

import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from codesign.board.registry import get_board
from codesign.config import FlowConfig
from codesign.frontend.data import load_npz
from codesign.frontend.models import build_model
from codesign.frontend.quant.train import load_checkpoint

WARMUP = 20


def cpu_latency_us(model: torch.nn.Module, x: np.ndarray, threads: int) -> float:
    """Median microseconds of one batch-1 forward over the images ``x``."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        model.eval()
        times = []
        with torch.no_grad():
            frames = torch.from_numpy(np.asarray(x, dtype=np.float32))
            for i in range(WARMUP + len(frames)):
                frame = frames[i % len(frames)].unsqueeze(0)
                t0 = time.perf_counter()
                model(frame)
                if i >= WARMUP:
                    times.append(time.perf_counter() - t0)
        return 1e6 * statistics.median(times)
    finally:
        torch.set_num_threads(old)


def main(build: Path, threads: list[int]) -> dict[str, Any]:
    manifest = json.loads((build / "manifest.json").read_text())
    cfg = FlowConfig.model_validate(manifest["config"])
    results = json.loads((build / "results.json").read_text())
    board = get_board(cfg.board)
    twin = cfg.quant.model_copy(update={"method": "float", "acc_bits": None})
    models = {
        name: load_checkpoint(build_model(cfg.model, quant, seed=cfg.train.seed),
                              build / "train" / f"{name}.pt")
        for name, quant in (("quant", cfg.quant), ("float", twin))
    }
    x = load_npz(build / "export" / "test.npz").x
    latency_cycles = float(results["cycles"]["latency_measured"])
    ii_cycles = float(results["cycles"]["ii_measured"])
    accel_us = latency_cycles / board.clock_mhz
    rows = []
    for (name, model), t in ((m, t) for m in models.items() for t in threads):
        cpu_us = cpu_latency_us(model, x, t)
        rows.append({"model": name, "threads": t, "cpu_latency_us": round(cpu_us, 2),
                     "speedup_latency": round(cpu_us / accel_us, 2),
                     "speedup_throughput": round(cpu_us / (ii_cycles / board.clock_mhz), 2)})
    return {
        "build": str(build), "config": cfg.name, "board": board.name,
        "clock_mhz": board.clock_mhz, "accel_latency_cycles": latency_cycles,
        "accel_ii_cycles": ii_cycles, "accel_latency_us": round(accel_us, 3),
        "cpu": platform.processor() or platform.machine(), "torch": torch.__version__,
        "rows": rows, "paper_speedup": 23.8,
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    json.dump(main(Path(args[0]), [int(a) for a in args[1:]] or [1]), sys.stdout, indent=2)
    print()
