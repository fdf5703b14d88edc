"""Why A2Q+ starts far from float when fine-tuned from it: its weight quantizer centres
each output channel's weights on zero, which drops a mean the float model uses.

Trains (or takes from the training cache) the config's float twin through the flow's
train step, then scores it on the test images as trained and with each output channel's
weights centred (w - mean(w), in float, nothing quantized): on the hidden layers only
(those the papers' policy constrains, so A2Q+ centres) and on every weighted layer (the
uniform policy). A channel's mean times the sum of its inputs depends on the input, so
no bias or BatchNorm after the layer can take it back.

    PYTHONPATH=. python bench/zero_centring.py --config configs/cnn_a2q.yaml \
        --json bench/results/zero_centring.json
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
from pathlib import Path
from typing import Any

import torch
from provenance import commit, machine
from torch import nn

from codesign.config import BuiltinModelSection, load_config, parse_config
from codesign.flow.build import write_json_atomic
from codesign.flow.runner import run_flow

ROOT = Path(__file__).resolve().parents[1]


def centred(model: nn.Module, names: list[str]) -> nn.Module:
    """``model`` with the weights of the named layers centred per output channel."""
    layers = dict(model.named_modules())
    with torch.no_grad():
        for name in names:
            w = layers[name].weight
            w -= w.flatten(1).mean(1).view(-1, *[1] * (w.dim() - 1))
    return model


def main(argv: list[str] | None = None) -> int:
    from codesign.frontend.data import load_digits_split
    from codesign.frontend.models import build_model
    from codesign.frontend.quant.train import evaluate

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", type=Path, default=ROOT / "configs/cnn_a2q.yaml")
    ap.add_argument("--json", type=Path, default=ROOT / "bench/results/zero_centring.json")
    args = ap.parse_args(argv)
    cfg = load_config(args.config)
    assert isinstance(cfg.model, BuiltinModelSection)
    with tempfile.TemporaryDirectory() as work:
        run_flow(cfg, Path(work), until="train")
        state = torch.load(Path(work) / "train" / "float.pt", weights_only=True)
    data = cfg.model_dump(mode="json")
    data["quant"]["method"] = "float"
    float_cfg = parse_config(data)
    split = load_digits_split(cfg.quant.input_bits, seed=cfg.train.seed,
                              shape=cfg.model.input_shape)

    def score(names: list[str]) -> float:
        model = build_model(float_cfg.model, float_cfg.quant, seed=cfg.train.seed)
        model.load_state_dict(state)
        return evaluate(centred(model, names), split.x_test, split.y_test)

    probe = build_model(float_cfg.model, float_cfg.quant, seed=cfg.train.seed)
    weighted = [n for n, m in probe.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    rows: dict[str, Any] = {"layers": weighted, "as_trained": score([]),
                            "hidden_centred": score(weighted[1:-1]),
                            "all_centred": score(weighted)}
    write_json_atomic(args.json, {
        "benchmark": "zero_centring",
        "command": "PYTHONPATH=. python bench/zero_centring.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(), "machine": machine(torch=torch.__version__),
        "config": str(args.config.resolve().relative_to(ROOT)),
        "test_accuracy": rows,
    })
    print(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
