"""Domain adaptation: the derived target domains of the digits, the few-shot pick, the
``data.domain`` keys, and adapting a trained model (source and target accuracy)."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.config import ConfigError, load_config, parse_config
from codesign.frontend.data import load_digits_split
from codesign.frontend.domains import few_shot, target_sets, to_domain
from codesign.paths import data_dir


@pytest.mark.parametrize("domain", ["rotated", "inverted", "noisy"])
def test_domains_are_deterministic_codes_of_the_same_images(domain: str) -> None:
    split = load_digits_split(8, shape=(1, 8, 8))
    a = target_sets(split, domain, seed=3)
    b = target_sets(split, domain, seed=3)
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert a[1].shape == split.x_test.shape and a[1].min() >= 0 and a[1].max() <= 255
    assert np.array_equal(a[1], np.rint(a[1])) and not np.array_equal(a[1], split.x_test)


def test_rotation_and_inversion_are_exact() -> None:
    x = load_digits_split(4).x_test[:5]
    assert np.array_equal(to_domain(to_domain(x, "inverted", 4), "inverted", 4), x)
    four = x
    for _ in range(4):
        four = to_domain(four, "rotated", 4)
    assert np.array_equal(four, x)
    with pytest.raises(ValueError, match=r"unknown data\.domain 'blurred'"):
        to_domain(x, "blurred", 4)


@pytest.mark.parametrize("domain", ["rotated", "inverted", "noisy"])
def test_a_domain_moves_the_image_whatever_order_the_model_takes_its_pixels_in(
        domain: str) -> None:
    from codesign.config import parse_config

    plain = load_digits_split(8)
    expected = target_sets(plain, domain, seed=2)[1].reshape(-1, 8, 8)
    vit = parse_config({"model": {"kind": "vit", "image": 16, "patch": 2}}).model
    split = load_digits_split(8, shape=vit.input_shape, order=vit.pixel_order)
    moved = target_sets(split, domain, seed=2)[1]
    # back to row-major 16x16 (patches of 2x2 on an 8x8 grid), then down to 8x8
    image = moved.reshape(-1, 8, 8, 2, 2).transpose(0, 1, 3, 2, 4).reshape(-1, 16, 16)
    assert np.array_equal(image[:, ::2, ::2], expected)
    assert np.array_equal(image[:, 1::2, 1::2], expected)  # the repeats agree


def test_few_shot_takes_shots_of_every_class() -> None:
    y = load_digits_split(8).y_train
    idx = few_shot(y, 3, seed=1)
    assert np.bincount(y[idx]).tolist() == [3] * 10 and len(set(idx.tolist())) == 30


def test_domain_keys_and_default_digest() -> None:
    cfg = parse_config({"data": {"domain": "rotated", "shots": 2}})
    assert cfg.data.domain == "rotated" and cfg.data.shots == 2  # type: ignore[union-attr]
    base = load_config(data_dir("configs") / "mlp_a2q.yaml")
    assert "data" not in base.model_dump(mode="json")  # digests of existing configs kept
    assert parse_config({"data": {"domain": "source"}}).digest() == parse_config({}).digest()
    with pytest.raises(ConfigError, match=r"data\.(digits\.)?domain"):
        parse_config({"data": {"domain": "mirrored"}})
    with pytest.raises(ConfigError, match="shots"):
        parse_config({"data": {"shots": 0}})
    rotated = parse_config({"data": {"domain": "rotated"}})
    assert "adapt_lr" not in rotated.model_dump(mode="json")["data"]  # digest kept
    slow = parse_config({"data": {"domain": "rotated", "adapt_lr": 0.002}})
    assert slow.data.adapt_lr == 0.002 and slow.digest() != rotated.digest()  # type: ignore[union-attr]
    with pytest.raises(ConfigError, match="adapt_lr"):
        parse_config({"data": {"domain": "rotated", "adapt_lr": 0}})


def test_adaptation_moves_a_model_to_the_target() -> None:
    """A small MLP trained on the digits, adapted on 5 inverted images per class: the
    target accuracy rises from near chance, the source one is reported beside it."""
    from codesign.frontend.adapt import adapt
    from codesign.frontend.models import build_model
    from codesign.frontend.quant.train import train_model

    cfg = parse_config({"quant": {"method": "float"}, "train": {"epochs": 5}})
    split = load_digits_split(8)
    model = build_model(cfg.model, cfg.quant, seed=0)
    train_model(model, split, cfg.train)
    result = adapt(model, split, "inverted", shots=5, epochs=20, train_cfg=cfg.train)
    assert result.source_before > 0.8 and result.target_before < 0.3
    assert result.target_after > result.target_before + 0.3
    assert 0.0 <= result.source_after <= 1.0 and result.shots == 5
    assert result.lr == cfg.train.lr  # data.adapt_lr unset: the training rate
