"""The image-to-image families' pieces, fast: the PSNR metric, the data (photograph
patches and noisy digits: deterministic, shipped with scikit-learn, train and test
disjoint), the registration of ``sr`` and ``unet`` with their metric, the results and
report plumbing of a regression metric, and a torch forward of each net."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import sklearn

from codesign.config import parse_config
from codesign.errors import ConfigError, DataFileError
from codesign.flow.results import scores_of
from codesign.frontend import data
from codesign.frontend.metrics import ACCURACY, PSNR, metric, outputs_agree
from codesign.frontend.models import build_model, family
from codesign.report.data import Run
from codesign.report.tables import summary_table


def test_psnr_on_codes() -> None:
    target = np.full((2, 1, 4, 4), 100)
    assert PSNR.score(target + 0.4, target, 8) == math.inf  # rounded to the same codes
    # one code off everywhere: 10 log10(255^2 / 1)
    assert PSNR.score(target + 1.0, target, 8) == pytest.approx(20 * math.log10(255))
    # clipped to the code range before the error is taken
    assert PSNR.score(np.full((1, 2), 400.0), np.array([[255, 255]]), 8) == math.inf
    assert PSNR.score(np.zeros((1, 2)), np.array([[3, 3]]), 2) == pytest.approx(0.0)


def test_agreement_compares_whole_outputs() -> None:
    want = np.arange(8.0).reshape(2, 1, 2, 2)
    got = want.copy()
    got[1, 0, 1, 1] += 1.0  # same argmax, another image
    assert outputs_agree(want, got) == 0.5
    assert ACCURACY.agreement(want, got) == 1.0
    assert metric(None) is ACCURACY and metric("psnr") is PSNR


def test_families_declare_their_metric() -> None:
    assert family("sr").metric is PSNR and family("unet").metric is PSNR
    assert family("cnn").metric is ACCURACY and family("sr").dataset is not None


def test_sr_patches_are_shipped_deterministic_and_disjoint() -> None:
    images = Path(sklearn.__file__).parent / "datasets" / "images"
    assert {p.name for p in images.glob("*.jpg")} >= {"china.jpg", "flower.jpg"}
    a = data.load_sr_patches(6, 3, 8, seed=1, train_size=64, test_size=16)
    b = data.load_sr_patches(6, 3, 8, seed=1, train_size=64, test_size=16)
    for x, y in ((a.x_train, b.x_train), (a.y_test, b.y_test)):
        assert np.array_equal(x, y)
    assert a.x_train.shape == (64, 1, 6, 6) and a.y_train.shape == (64, 1, 18, 18)
    assert a.x_test.dtype == np.float32 and a.y_test.dtype == np.int64
    assert a.x_test.min() >= 0 and a.y_test.max() <= 255
    # each input is the box-downscaled target
    lo = a.y_test.reshape(16, 6, 3, 6, 3).mean(axis=(2, 4))
    assert np.array_equal(np.floor(lo + 0.5), a.x_test[:, 0])
    # no test patch appears among the training ones (they come from other columns)
    train = {p.tobytes() for p in a.x_train}
    assert not any(p.tobytes() in train for p in a.x_test)
    with pytest.raises(ValueError, match="read-only"):
        a.x_test[0, 0, 0, 0] = 1.0


def test_noisy_digits() -> None:
    s = data.load_noisy_digits(4, noise=0.5, seed=0, copies=2)
    assert s.x_train.shape == (2874, 1, 8, 8) and s.y_test.shape == (360, 1, 8, 8)
    assert s.x_train.max() <= 15 and s.x_train.min() >= 0
    assert not np.array_equal(s.x_train[0::2], s.x_train[1::2])  # two draws of each image
    assert np.array_equal(s.y_train[0::2], s.y_train[1::2])
    assert np.array_equal(s.x_test, data.load_noisy_digits(4, 0.5, 0, 2).x_test)


def test_test_set_with_target_images(tmp_path: Path) -> None:
    f = tmp_path / "t.npz"
    np.savez(f, x=np.zeros((3, 1, 2, 2)), y=np.ones((3, 1, 4, 4), np.uint8))
    assert data.load_npz(f, targets=True).y.shape == (3, 1, 4, 4)  # type: ignore[union-attr]
    with pytest.raises(DataFileError, match=r"\(3,\) labels"):
        data.load_npz(f)


def test_results_and_report_show_psnr() -> None:
    steps = {"train": {"runs": {"float": {"test_psnr": 20.0}, "quant": {"test_psnr": 19.0}}},
             "lower": {"hw_graph_psnr": 19.0}, "rtl": {"accelerator_psnr": 19.0}}
    scores = scores_of("psnr", steps)
    assert scores["accelerator"] == 19.0 and scores["quantized_vs_float"] == 0.95
    run = Run("r", {"name": "sr", "metric": {"name": "psnr"}, "psnr": scores,
                    "accuracy": {"accelerator": 0.1}})
    assert run.accuracy == 19.0 and run.accuracy_source == "accelerator"
    table = summary_table([run])
    row = dict(zip(table.columns, table.rows[0], strict=True))
    assert row["accelerator"] == "19.00 dB" and row["float"] == "20.00 dB"


@pytest.mark.parametrize(("kind", "model", "shape"), [
    ("sr", {"patch": 4, "scale": 3, "channels": [2]}, (2, 1, 12, 12)),
    ("unet", {"channels": [2, 3, 4]}, (2, 1, 8, 8)),
])
def test_nets_output_an_image(kind: str, model: dict[str, object],
                              shape: tuple[int, ...]) -> None:
    import torch

    cfg = parse_config({"name": kind, "model": {"kind": kind, **model},
                        "quant": {"method": "a2q", "acc_bits": 16}}, source=kind)
    net = build_model(cfg.model, cfg.quant).eval()
    x = torch.randint(0, 256, (2, *cfg.model.input_shape)).float()  # type: ignore[union-attr]
    with torch.no_grad():
        assert tuple(net(x).shape) == shape


def test_image_families_refuse_other_data() -> None:
    with pytest.raises(ConfigError, match=r"model\.kind sr trains and tests on its own data"):
        parse_config({"name": "s", "model": {"kind": "sr"},
                      "data": {"kind": "digits", "domain": "noisy"}}, source="s")
