"""Datasets shipped with installed packages; nothing is downloaded at run time.

The digits images (scikit-learn, 8x8, pixel values 0..16) are mapped to the integer
codes the accelerator receives: ``round(v * (2**N - 1) / 16)`` for N input bits. The
models consume these codes directly, so the exported graph input is UINT{N}.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

DIGITS_MAX = 16
"""Largest pixel value in scikit-learn's digits."""
DIGITS_TEST_SIZE = 360
"""Held-out images: 20% of the 1797."""


@dataclass(frozen=True)
class DigitsSplit:
    """A fixed train/test split; arrays are read-only so the split cannot drift."""

    x_train: npt.NDArray[np.float32]
    y_train: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.float32]
    y_test: npt.NDArray[np.int64]
    input_bits: int

    @property
    def n_features(self) -> int:
        """Input values per image (64 in any shape)."""
        return int(np.prod(self.x_train.shape[1:]))

    @property
    def n_classes(self) -> int:
        return int(max(self.y_train.max(), self.y_test.max())) + 1

    @property
    def input_dtype_name(self) -> str:
        """qonnx DataType name of the pixel codes, e.g. ``UINT8``."""
        return f"UINT{self.input_bits}"


def pixel_codes(values: npt.ArrayLike, input_bits: int) -> npt.NDArray[np.float32]:
    """Map digits pixel values 0..16 to unsigned ``input_bits`` codes (round half up).

    >>> pixel_codes([0, 1, 8, 16], 8).tolist()
    [0.0, 16.0, 128.0, 255.0]
    >>> pixel_codes([0, 8, 16], 2).tolist()
    [0.0, 2.0, 3.0]
    """
    if input_bits < 1:
        raise ValueError(f"input_bits must be >= 1, got {input_bits}")
    v = np.asarray(values, dtype=np.float64)
    # floor(x + 0.5): explicit half-up rounding (np.round would round half to even)
    codes = np.floor(v * (2**input_bits - 1) / DIGITS_MAX + 0.5)
    return codes.astype(np.float32)


def load_digits_split(
    input_bits: int, seed: int = 0, shape: tuple[int, ...] = (64,)
) -> DigitsSplit:
    """Stratified, seeded split of digits: 1437 training and 360 test images.

    ``shape`` is one image's shape as the model takes it: the flat row-major pixels
    (default) or e.g. ``(1, 8, 8)`` for a CNN (NCHW); the split is the same.

    >>> s = load_digits_split(8)
    >>> s.x_train.shape, s.x_test.shape, s.input_dtype_name
    ((1437, 64), (360, 64), 'UINT8')
    >>> img = load_digits_split(8, shape=(1, 8, 8))
    >>> img.x_test.shape, bool((img.x_test.reshape(360, 64) == s.x_test).all())
    ((360, 1, 8, 8), True)
    """
    digits = load_digits()
    n_pixels = digits.data.shape[1]
    if int(np.prod(shape)) != n_pixels:
        raise ValueError(f"an image has {n_pixels} pixels; shape {shape} holds {np.prod(shape)}")
    x = pixel_codes(digits.data, input_bits).reshape(-1, *shape)
    y = np.asarray(digits.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=DIGITS_TEST_SIZE, stratify=y, random_state=seed, shuffle=True
    )
    arrays = [np.ascontiguousarray(a) for a in (x_tr, y_tr, x_te, y_te)]
    for a in arrays:
        a.setflags(write=False)
    return DigitsSplit(arrays[0], arrays[1], arrays[2], arrays[3], input_bits=input_bits)
