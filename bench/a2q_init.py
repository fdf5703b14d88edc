"""A2Q accuracy against P for the two training recipes (issue 24): from scratch, and
fine-tuned from the trained float twin (``train.init: float``), under both layer policies.

    PYTHONPATH=$PWD python bench/a2q_init.py [--config configs/cnn_a2q.yaml]
        [--p 12 13 14 15 16] [--policies uniform papers] [--methods a2q]

Each point is the config with ``quant.method``, ``quant.acc_bits`` (P),
``quant.layer_policy`` and ``train.init`` set, run through the flow's train step (the
float twin and the quantized model, its train section unchanged: epochs, seed, batch,
learning rate; a fine-tuned model trains as many epochs at the same rate). The training
cache is off, so every figure is trained in this run. Accuracy on the digits' 360 test
images; ``at_init``: the quantized model right after the initialisation from float,
before any fine-tuning; ``at_init_clamped``: the same start without the fit to P (A2Q's
quantizer clamping the copied weights' norm). Writes ``bench/results/a2q_init.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from provenance import commit, machine

from codesign.config import BuiltinModelSection, FlowConfig, load_config, parse_config
from codesign.flow.build import write_json_atomic
from codesign.flow.runner import run_flow

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ("scratch", "float")


def _point(base: FlowConfig, method: str, p: int, policy: str, init: str) -> FlowConfig:
    data = base.model_dump(mode="json")
    data["name"] = f"{base.name}_{method}_p{p}_{policy}_{init}"
    data["quant"].update(method=method, acc_bits=p, layer_policy=policy)
    data["train"].update(init=init, cache=False)
    return parse_config(data)


def _train(cfg: FlowConfig, work: Path) -> dict[str, Any]:
    """The flow's train step on ``cfg``: the float twin's and the quantized model's test
    accuracy (and the latter's right after its initialisation from float)."""
    build = work / cfg.digest()
    scores = run_flow(cfg, build, until="train").results["accuracy"]
    steps = json.loads((build / "manifest.json").read_text())["steps"]
    quant = steps["train"]["result"]["runs"]["quant"]
    out = {"float": scores["float"], "quantized": scores["quantized"],
           "seconds": quant["seconds"]}
    if "init" in quant:
        out["at_init"] = scores["quantized_at_init"]
        out["weight_error_at_init"] = quant["init"]["weight_error"]
        out["at_init_clamped"] = _clamped_start(cfg, build)
    return out


def _clamped_start(cfg: FlowConfig, build: Path) -> float:
    """Accuracy of the quantized model started from the same float twin without the fit
    to P: the weights copied, the quantizers initialised from them (A2Q then clamps g to
    the P limit) and the activations calibrated, as A2Q's own quantizer starts."""
    from codesign.frontend.data import load_digits_split
    from codesign.frontend.models import build_model
    from codesign.frontend.quant.init import calibrate_activations, copy_float_state
    from codesign.frontend.quant.train import evaluate

    assert isinstance(cfg.model, BuiltinModelSection)
    split = load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed,
                              shape=cfg.model.input_shape)
    model = build_model(cfg.model, cfg.quant, seed=cfg.train.seed)
    state = torch.load(build / "train" / "float.pt", map_location="cpu", weights_only=True)
    copy_float_state(model, state)
    calibrate_activations(model, split.x_train, cfg.train.batch_size)
    return evaluate(model, split.x_test, split.y_test)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs/cnn_a2q.yaml")
    ap.add_argument("--p", type=int, nargs="+", default=[12, 13, 14, 15, 16])
    ap.add_argument("--policies", nargs="+", choices=["uniform", "papers"],
                    default=["uniform", "papers"])
    ap.add_argument("--methods", nargs="+", choices=["a2q", "a2q_plus"], default=["a2q"])
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/a2q_init.json")
    args = ap.parse_args(argv)

    base = load_config(args.config)
    start = time.perf_counter()
    points = []
    with tempfile.TemporaryDirectory(prefix="a2q_init_") as tmp:
        for method in args.methods:
            for policy in args.policies:
                for p in args.p:
                    for init in RECIPES:
                        cfg = _point(base, method, p, policy, init)
                        row = {"method": method, "acc_bits": p, "layer_policy": policy,
                               "init": init, **_train(cfg, Path(tmp))}
                        row["quantized_vs_float"] = row["quantized"] / row["float"]
                        points.append(row)
                        at_init = (f", {100 * row['at_init']:.1f} % at init, "
                                   f"{100 * row['at_init_clamped']:.1f} % unfitted"
                                   if "at_init" in row else "")
                        print(f"{method} P={p} {policy} {init}: {100 * row['quantized']:.1f} % "
                              f"(float {100 * row['float']:.1f} %{at_init}; {row['seconds']} s)",
                              file=sys.stderr)
    result = {
        "benchmark": "a2q_init",
        "command": "PYTHONPATH=$PWD python bench/a2q_init.py "
                   + shlex.join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "config": str(args.config.resolve().relative_to(ROOT)),
        "train": base.train.model_dump(mode="json", exclude={"cache", "init"}),
        "test_images": 360,
        "machine": machine(torch=torch.__version__, threads=1),
        "seconds": round(time.perf_counter() - start, 1),
        "points": points,
    }
    write_json_atomic(args.out, result)
    print(f"a2q_init: {result['seconds']} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
