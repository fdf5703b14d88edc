"""The train step: the float reference and the quantized model of a built-in family
(shared through the training cache), or a Brevitas factory's module on its npz set."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from codesign.config import BuiltinModelSection, QuantConfig
from codesign.flow.steps import JSON, StepRun
from codesign.frontend.models import family
from codesign.frontend.models.brevitas import BrevitasModelConfig

if TYPE_CHECKING:
    from torch import nn

    from codesign.frontend.data import DigitsSplit, TargetSplit, UserSplit

    Split = DigitsSplit | TargetSplit | UserSplit

USER_CHECKPOINT = "model.pt"
"""Where the train step of a Brevitas factory saves its checkpoint (under train/)."""


def float_twin(quant: QuantConfig) -> QuantConfig:
    return quant.model_copy(update={"method": "float", "acc_bits": None,
                                    "layer_policy": "uniform"})


def train(run: StepRun, *, split: Split) -> JSON:
    if isinstance(run.cfg.model, BrevitasModelConfig):
        return _train_user(run, split)
    cfg = run.cfg
    runs: JSON = {"float": _train_run(run, "float", float_twin(cfg.quant), split)}
    if cfg.quant.method != "float":
        # train.init float: the quantized model starts from the float twin as trained
        # on the source data (before any adaptation below)
        init = runs["float"] if cfg.train.init == "float" else None
        runs["quant"] = _train_run(run, "quant", cfg.quant, split, init)
    domain = getattr(cfg.data, "domain", "source")
    if domain != "source":
        for name, quant in (("float", float_twin(cfg.quant)), ("quant", cfg.quant)):
            if name in runs:
                runs[name] = _adapt_run(run, runs[name], quant, split, domain)
    runs.setdefault("quant", runs["float"])
    artefacts = list(dict.fromkeys(r["checkpoint"] for r in runs.values()))
    out: JSON = {"runs": runs, "artefacts": artefacts}
    if (counts := family(cfg.model.kind).parameters) is not None:
        out["parameters"] = counts(cfg.model)
    return out


def _train_run(run: StepRun, name: str, quant: QuantConfig, split: Split,
               init: JSON | None = None) -> JSON:
    """One training run (``float`` or ``quant``) of a built-in model: from the training
    cache where an identical run is stored, else trained (and stored). ``init``: the
    float twin's run the quantized model starts from (``train.init: float``)."""
    from codesign.cache import cache_dir, entry_lock
    from codesign.frontend.models import build_model
    from codesign.frontend.quant import train_cache
    from codesign.frontend.quant.train import save_checkpoint, train_model

    cfg, bd = run.cfg, run.bd
    assert isinstance(cfg.model, BuiltinModelSection)  # a factory trains in _train_user
    cache = cache_dir("train") if cfg.train.cache else None
    ckpt = bd.path("train", f"{name}.pt")
    key = train_cache.training_key(cfg.model, quant, cfg.train)
    # sweep points that train the same model at once: the others wait for the first
    # one's cache entry instead of training it beside it
    with entry_lock(cache, key) if cache is not None else contextlib.nullcontext():
        if cache is not None and (hit := train_cache.fetch(cache, key, ckpt)) is not None:
            result: JSON = {**hit, "source": "cache"}
        else:
            model = build_model(cfg.model, quant, seed=cfg.train.seed)
            metric = family(cfg.model.kind).metric
            started = None if init is None else _start_from_float(run, model, init, split)

            def report(epoch: int, loss: float) -> None:
                run.progress.epoch(name, epoch, cfg.train.epochs, loss)

            res = train_model(model, split, cfg.train, progress=report, metric=metric,
                              input_bits=quant.input_bits)
            save_checkpoint(model, ckpt)
            result = {
                "method": quant.method,
                f"test_{metric.name}": res.test_accuracy,
                f"train_{metric.name}": res.train_accuracy,
                "seconds": round(res.seconds, 2),
            }
            if started is not None:
                result["init"] = started
            if cache is not None:
                train_cache.store(cache, key, ckpt, result)
            result["source"] = "trained"
    result["checkpoint"] = str(ckpt.relative_to(bd.root))
    return result


def _start_from_float(run: StepRun, model: nn.Module, float_run: JSON, split: Split) -> JSON:
    """Initialise ``model`` from the float twin's checkpoint (see
    :func:`codesign.frontend.quant.init.init_from_float`) and score it before any
    fine-tuning: how near the float model it starts."""
    import torch

    from codesign.frontend.quant.init import init_from_float
    from codesign.frontend.quant.train import score

    cfg = run.cfg
    state = torch.load(run.bd.root / str(float_run["checkpoint"]), map_location="cpu",
                       weights_only=True)
    error = init_from_float(model, state, split.x_train, cfg.train.batch_size)
    metric = family(cfg.model.kind).metric
    out: JSON = {"from": "float", "weight_error": {k: round(v, 4) for k, v in error.items()}}
    if split.y_test is not None:
        out[f"test_{metric.name}"] = score(model, split.x_test, split.y_test, metric,
                                          cfg.quant.input_bits)
    return out


def _adapt_run(run: StepRun, trained: JSON, quant: QuantConfig,
               split: Split, domain: str) -> JSON:
    """The trained checkpoint adapted to ``domain`` (data.shots images per class, for
    data.adapt_epochs at data.adapt_lr) in place; ``test_accuracy`` becomes the target
    domain's after adaptation (the flow's test set), the source-only run's stays as
    ``source_run``."""
    from codesign.config import DigitsData
    from codesign.frontend.adapt import adapt
    from codesign.frontend.data import DigitsSplit
    from codesign.frontend.models import build_model
    from codesign.frontend.quant.train import load_checkpoint, save_checkpoint

    cfg = run.cfg
    assert isinstance(cfg.data, DigitsData) and isinstance(split, DigitsSplit)
    assert isinstance(cfg.model, BuiltinModelSection)
    ckpt = run.bd.root / str(trained["checkpoint"])
    model = load_checkpoint(build_model(cfg.model, quant, seed=cfg.train.seed), ckpt)
    result = adapt(model, split, domain, cfg.data.shots, cfg.data.adapt_epochs, cfg.train,
                   cfg.data.adapt_lr)
    save_checkpoint(model, ckpt)
    return {**trained, "test_accuracy": result.target_after, "adaptation": result.to_json(),
            "source_run": {k: v for k, v in trained.items() if k != "checkpoint"}}


def _train_user(run: StepRun, split: Split) -> JSON:
    """Train the factory's module on data.train with codesign's training loop (seeded,
    deterministic) and save its state dict in the build directory."""
    from codesign.frontend.models.brevitas.factory import build_user_model
    from codesign.frontend.quant.train import save_checkpoint, train_model

    cfg = run.cfg
    assert isinstance(cfg.model, BrevitasModelConfig)
    model = build_user_model(cfg.model, seed=cfg.train.seed)

    def report(epoch: int, loss: float) -> None:
        run.progress.epoch("quant", epoch, cfg.train.epochs, loss)

    res = train_model(model, split, cfg.train, progress=report)
    ckpt = run.bd.path("train", USER_CHECKPOINT)
    save_checkpoint(model, ckpt)
    rel = str(ckpt.relative_to(run.bd.root))
    result = {
        "method": "user",
        "test_accuracy": res.test_accuracy,
        "train_accuracy": res.train_accuracy,
        "seconds": round(res.seconds, 2),
        "source": "trained",
        "checkpoint": rel,
    }
    return {"runs": {"quant": result}, "artefacts": [rel]}
