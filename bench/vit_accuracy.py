"""ViT accuracy side by side (issue 22): the normalisation and the Taylor form the hardware
computes against their float alternatives, on the digits' 360 test images.

    PYTHONPATH=$PWD python bench/vit_accuracy.py [--seeds 0 1 2] [--variants NAME ...]

Each variant is a shipped config (``configs/vit_softmax.yaml`` or ``vit_linear.yaml``)
with its train section (epochs, seed, batch, learning rate), a model change and either
the config's quantization or its float twin (what the flow's float run trains). A seed
is the training seed and the split seed, as ``train.seed`` is in the flow. Trained with
the library's ``build_model`` and ``train_model``, not the flow (no training cache).
Writes ``bench/results/vit_accuracy.json``.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from provenance import commit, machine

from codesign.config import FlowConfig, load_config
from codesign.flow.build import write_json_atomic
from codesign.flow.steps.train import float_twin
from codesign.frontend.data import load_digits_split
from codesign.frontend.models import build_model
from codesign.frontend.models.vit import ViTConfig
from codesign.frontend.quant.train import train_model

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Variant:
    name: str
    config: str
    """The shipped config it starts from (under configs/)."""
    quantized: bool
    """The config's quantization; False: its float twin."""
    model: dict[str, Any] = field(default_factory=dict)
    """Changes to the model section."""
    what: str = ""


VARIANTS = (
    Variant("softmax_batchnorm_float", "vit_softmax.yaml", False,
            what="float softmax ViT, BatchNorm (the structure the hardware folds)"),
    Variant("softmax_layernorm_float", "vit_softmax.yaml", False, {"norm": "layer"},
            "float softmax ViT, LayerNorm in place of every BatchNorm"),
    Variant("linear_tokens_float", "vit_linear.yaml", False,
            what="float Taylor linear attention, keys centred over the tokens, 1 term "
                 "(the engine's form)"),
    Variant("linear_features_float", "vit_linear.yaml", False, {"centre": "features"},
            "float Taylor linear attention, ViTALiTy's public-code form: keys centred "
                 "over the head's features, no 1 term, normalised by N"),
    Variant("linear_layernorm_float", "vit_linear.yaml", False, {"norm": "layer"},
            "float Taylor linear attention (tokens), LayerNorm in place of every BatchNorm"),
    Variant("softmax_quant", "vit_softmax.yaml", True,
            what="vit_softmax.yaml as shipped (A2Q, integer softmax)"),
    Variant("linear_quant", "vit_linear.yaml", True,
            what="vit_linear.yaml as shipped (A2Q, integer Taylor attention, tokens)"),
)


@functools.cache
def _shipped(name: str) -> FlowConfig:
    return load_config(ROOT / "configs" / name)


def _run(variant: Variant, seed: int) -> dict[str, Any]:
    """Train ``variant`` at ``seed`` as the flow's train step would; its accuracies."""
    cfg = _shipped(variant.config)
    model_cfg = ViTConfig.model_validate({**cfg.model.model_dump(), **variant.model})
    quant = cfg.quant if variant.quantized else float_twin(cfg.quant)
    train = cfg.train.model_copy(update={"seed": seed})
    split = load_digits_split(quant.input_bits, seed=seed, shape=model_cfg.input_shape,
                              order=model_cfg.pixel_order)
    model = build_model(model_cfg, quant, seed=seed)
    res = train_model(model, split, train)
    assert res.test_accuracy is not None and len(split.y_test) == 360
    return {"seed": seed, "test_accuracy": round(res.test_accuracy, 4),
            "train_accuracy": round(res.train_accuracy, 4), "seconds": round(res.seconds, 1)}


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    acc = [r["test_accuracy"] for r in runs]
    out: dict[str, Any] = {"test_accuracy_mean": round(statistics.fmean(acc), 4)}
    if len(acc) > 1:
        out["test_accuracy_std"] = round(statistics.stdev(acc), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--variants", nargs="+", choices=[v.name for v in VARIANTS],
                    default=[v.name for v in VARIANTS])
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/vit_accuracy.json")
    args = ap.parse_args(argv)

    start = time.perf_counter()
    rows = {}
    for variant in (v for v in VARIANTS if v.name in args.variants):
        runs = []
        for seed in args.seeds:
            runs.append(_run(variant, seed))
            print(f"{variant.name} seed {seed}: {100 * runs[-1]['test_accuracy']:.1f} % "
                  f"({runs[-1]['seconds']} s)", file=sys.stderr)
        cfg = _shipped(variant.config)
        rows[variant.name] = {
            "what": variant.what, "config": f"configs/{variant.config}",
            "model_changes": variant.model,
            "quant": cfg.quant.method if variant.quantized else "float",
            "runs": runs, **_summary(runs),
        }
    epochs = {_shipped(v.config).train.epochs for v in VARIANTS}
    result = {
        "benchmark": "vit_accuracy",
        "command": "PYTHONPATH=$PWD python bench/vit_accuracy.py "
                   + shlex.join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "epochs": sorted(epochs), "seeds": args.seeds,
        "seed_note": "each seed is the training seed and the split seed (train.seed)",
        "test_images": 360,
        "engine_form": "linear attention: keys centred over the tokens with the 1 term "
                       "(model.centre: tokens); normalisation: BatchNorm folded into "
                       "thresholds (model.norm: batch)",
        "machine": machine(torch=torch.__version__, threads=1),
        "seconds": round(time.perf_counter() - start, 1),
        "variants": rows,
    }
    write_json_atomic(args.out, result)
    print(f"vit_accuracy: {result['seconds']} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
