import numpy as np
import pytest

from codesign.frontend.data import DIGITS_TEST_SIZE, load_digits_split, pixel_codes


def test_split_is_deterministic_for_a_seed() -> None:
    a, b = load_digits_split(8, seed=3), load_digits_split(8, seed=3)
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
    other = load_digits_split(8, seed=4)
    assert not np.array_equal(a.y_test, other.y_test)


def test_split_sizes_and_stratification() -> None:
    s = load_digits_split(8)
    assert s.x_test.shape == (DIGITS_TEST_SIZE, 64) and s.x_train.shape == (1437, 64)
    assert s.y_train.dtype == np.int64 and s.x_train.dtype == np.float32
    all_y = np.concatenate([s.y_train, s.y_test])
    expected = np.bincount(all_y) * DIGITS_TEST_SIZE / len(all_y)
    assert np.all(np.abs(np.bincount(s.y_test, minlength=10) - expected) <= 1)
    assert (s.n_features, s.n_classes) == (64, 10)


@pytest.mark.parametrize("bits", [2, 4, 8])
def test_pixel_codes_are_integers_in_range(bits: int) -> None:
    s = load_digits_split(bits)
    x = np.concatenate([s.x_train, s.x_test])
    assert np.array_equal(x, np.round(x))
    assert x.min() == 0 and x.max() == 2**bits - 1
    assert s.input_dtype_name == f"UINT{bits}"


def test_pixel_codes_mapping_and_read_only() -> None:
    assert pixel_codes(np.arange(17), 4).tolist() == [round(v * 15 / 16 + 1e-9) for v in range(17)]
    s = load_digits_split(8)
    with pytest.raises(ValueError):
        s.x_train[0, 0] = 1.0
