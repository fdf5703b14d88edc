from pathlib import Path

import numpy as np
import pytest
import torch

from codesign.config import QuantConfig, TrainConfig
from codesign.frontend.data import load_digits_split
from codesign.frontend.models import build_model
from codesign.frontend.models.mlp import MLPConfig as ModelConfig
from codesign.frontend.quant.train import (
    evaluate,
    load_checkpoint,
    predict_logits,
    save_checkpoint,
    train_model,
)

MODEL = ModelConfig(hidden=[16])


def _train(method: str, seed: int, epochs: int = 2) -> tuple[torch.nn.Module, list[float]]:
    quant = QuantConfig(method=method)
    model = build_model(MODEL, quant, seed=seed)
    result = train_model(model, load_digits_split(8), TrainConfig(epochs=epochs, seed=seed))
    return model, result.losses


@pytest.mark.parametrize("method", ["float", "a2q"])
def test_training_is_deterministic_for_a_seed(method: str) -> None:
    (m1, l1), (m2, l2) = _train(method, 0), _train(method, 0)
    assert l1 == l2
    s1, s2 = m1.state_dict(), m2.state_dict()
    assert s1.keys() == s2.keys()
    assert all(torch.equal(s1[k], s2[k]) for k in s1 if isinstance(s1[k], torch.Tensor))
    _, l3 = _train(method, 1)
    assert l3 != l1


def test_training_learns_and_reports_progress() -> None:
    seen: list[tuple[int, float]] = []
    model = build_model(MODEL, QuantConfig(method="a2q"))
    split = load_digits_split(8)
    threads = torch.get_num_threads()
    r = train_model(
        model, split, TrainConfig(epochs=4), progress=lambda e, loss: seen.append((e, loss))
    )
    assert torch.get_num_threads() == threads  # global torch state restored
    assert [e for e, _ in seen] == [1, 2, 3, 4] and [loss for _, loss in seen] == r.losses
    assert r.epochs == 4 and r.seconds > 0 and r.losses[-1] < r.losses[0]
    assert r.test_accuracy > 0.8
    assert r.test_accuracy == evaluate(model, split.x_test, split.y_test)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model, _ = _train("a2q", 0)
    x = load_digits_split(8).x_test
    path = tmp_path / "ckpt" / "model.pt"
    save_checkpoint(model, path)
    assert [p.name for p in path.parent.iterdir()] == ["model.pt"]  # no temp file left
    fresh = build_model(MODEL, QuantConfig(method="a2q"), seed=5)
    load_checkpoint(fresh, path)
    assert np.array_equal(predict_logits(fresh, x), predict_logits(model, x))


def test_evaluate_rejects_an_empty_set() -> None:
    model = build_model(MODEL, QuantConfig(method="float"))
    with pytest.raises(ValueError):
        evaluate(model, np.zeros((0, 64), np.float32), np.zeros(0, np.int64))
