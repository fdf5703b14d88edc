"""Datasets shipped with installed packages (nothing is downloaded at run time), and a
user's test set read from an ``.npz`` file.

The digits images (scikit-learn, 8x8, pixel values 0..16) are mapped to the integer
codes the accelerator receives: ``round(v * (2**N - 1) / 16)`` for N input bits. The
models consume these codes directly, so the exported graph input is UINT{N}.

Image-to-image families train on :class:`TargetSplit` s, whose targets are images of
pixel codes: super-resolution on patches of scikit-learn's two sample photographs
(:func:`load_sr_patches`), denoising on noisy digits (:func:`load_noisy_digits`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from codesign.errors import DataFileError

DIGITS_MAX = 16
"""Largest pixel value in scikit-learn's digits."""
DIGITS_TEST_SIZE = 360
"""Held-out images: 20% of the 1797."""
IMAGE_SIDE = 8
"""Height and width of a digits image."""


@dataclass(frozen=True)
class DigitsSplit:
    """A fixed train/test split; arrays are read-only so the split cannot drift."""

    x_train: npt.NDArray[np.float32]
    y_train: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.float32]
    y_test: npt.NDArray[np.int64]
    input_bits: int
    order: tuple[int, ...] | None = None
    """The row-major pixel each input value is (``load_digits_split``'s ``order``)."""

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
    input_bits: int,
    seed: int = 0,
    shape: tuple[int, ...] = (64,),
    order: tuple[int, ...] | None = None,
) -> DigitsSplit:
    """Stratified, seeded split of digits: 1437 training and 360 test images.

    ``shape`` is one image's shape as the model takes it: the flat row-major pixels
    (default) or e.g. ``(1, 8, 8)`` for a CNN (NCHW); the split is the same. ``order``
    permutes the row-major pixels first (the order the host sends them in, e.g. patch by
    patch for a ViT), repeating a pixel where the model takes the image resized.

    >>> s = load_digits_split(8)
    >>> s.x_train.shape, s.x_test.shape, s.input_dtype_name
    ((1437, 64), (360, 64), 'UINT8')
    >>> img = load_digits_split(8, shape=(1, 8, 8))
    >>> img.x_test.shape, bool((img.x_test.reshape(360, 64) == s.x_test).all())
    ((360, 1, 8, 8), True)
    """
    digits = load_digits()
    n_pixels = digits.data.shape[1]
    codes = pixel_codes(digits.data, input_bits)
    if order is not None:
        if set(order) != set(range(n_pixels)):
            raise ValueError(f"order must take each of the {n_pixels} pixels at least once")
        codes = codes[:, list(order)]
    if int(np.prod(shape)) != codes.shape[1]:
        raise ValueError(f"an image has {codes.shape[1]} pixels; shape {shape} holds "
                         f"{np.prod(shape)}")
    x = codes.reshape(-1, *shape)
    y = np.asarray(digits.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=DIGITS_TEST_SIZE, stratify=y, random_state=seed, shuffle=True
    )
    arrays = [np.ascontiguousarray(a) for a in (x_tr, y_tr, x_te, y_te)]
    for a in arrays:
        a.setflags(write=False)
    return DigitsSplit(arrays[0], arrays[1], arrays[2], arrays[3], input_bits=input_bits,
                       order=order)


@dataclass(frozen=True)
class TargetSplit:
    """A fixed train/test split of an image-to-image task: ``y`` holds the target image
    of each input, in pixel codes of ``input_bits``; arrays are read-only."""

    x_train: npt.NDArray[np.float32]
    y_train: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.float32]
    y_test: npt.NDArray[np.int64]
    input_bits: int


def _target_split(x_tr: np.ndarray, y_tr: np.ndarray, x_te: np.ndarray, y_te: np.ndarray,
                  input_bits: int) -> TargetSplit:
    x_train, x_test = (np.ascontiguousarray(a, dtype=np.float32) for a in (x_tr, x_te))
    y_train, y_test = (np.ascontiguousarray(a, dtype=np.int64) for a in (y_tr, y_te))
    for a in (x_train, y_train, x_test, y_test):
        a.setflags(write=False)
    return TargetSplit(x_train, y_train, x_test, y_test, input_bits=input_bits)


def _requantize(codes8: npt.ArrayLike, input_bits: int) -> np.ndarray:
    """8-bit codes (0..255) as ``input_bits`` codes, rounded half up."""
    v = np.asarray(codes8, dtype=np.float64)
    return np.floor(v * (2**input_bits - 1) / 255 + 0.5)


def luminance_images() -> list[npt.NDArray[np.int64]]:
    """scikit-learn's sample photographs (china, flower: 427x640, shipped in the package)
    as 8-bit luminance, ITU-R BT.601 weights, rounded half up."""
    from sklearn.datasets import load_sample_images

    weights = np.array([0.299, 0.587, 0.114])
    return [np.floor(np.asarray(img, np.float64) @ weights + 0.5).astype(np.int64)
            for img in load_sample_images().images]


SR_TEST_COLUMNS = 0.25
"""The right-hand share of each photograph the super-resolution test patches come from
(the training patches from the rest: no test pixel is ever trained on)."""


def _downscale(image: np.ndarray, scale: int) -> np.ndarray:
    """Box-filter ``scale`` x ``scale`` downscaling (the mean of each block, rounded half
    up), cropping what does not fill a block."""
    h, w = (d - d % scale for d in image.shape)
    blocks = image[:h, :w].reshape(h // scale, scale, w // scale, scale)
    return np.floor(blocks.mean(axis=(1, 3)) + 0.5)


def _patch_pairs(lo: np.ndarray, hi: np.ndarray, patch: int, scale: int,
                 cols: tuple[int, int], stride: int) -> tuple[np.ndarray, np.ndarray]:
    """Every ``patch`` x ``patch`` low-resolution patch whose columns lie in ``cols``
    (a grid of ``stride``), with its high-resolution patch."""
    xs, ys = [], []
    for r in range(0, lo.shape[0] - patch + 1, stride):
        for c in range(cols[0], cols[1] - patch + 1, stride):
            xs.append(lo[r:r + patch, c:c + patch])
            ys.append(hi[r * scale:(r + patch) * scale, c * scale:(c + patch) * scale])
    return np.stack(xs)[:, None], np.stack(ys)[:, None]


def load_sr_patches(patch: int, scale: int, input_bits: int, seed: int = 0,
                    train_size: int = 4096, test_size: int = 512) -> TargetSplit:
    """Super-resolution pairs from the luminance of scikit-learn's sample photographs:
    inputs ``(1, patch, patch)`` cut from each photograph box-downscaled by ``scale``,
    targets the ``(1, patch * scale, patch * scale)`` original pixels they cover.

    Training patches (a half-patch grid) come from the left of each photograph, test
    patches (a non-overlapping grid) from its right :data:`SR_TEST_COLUMNS`; a seeded
    choice keeps ``train_size`` and ``test_size`` of them (all where there are fewer),
    shuffled so that the first test frames mix both photographs.

    >>> s = load_sr_patches(8, 2, 8)
    >>> s.x_train.shape, s.y_train.shape, s.x_test.shape, s.y_test.shape
    ((4096, 1, 8, 8), (4096, 1, 16, 16), (512, 1, 8, 8), (512, 1, 16, 16))
    >>> bool((load_sr_patches(8, 2, 8).x_test == s.x_test).all())
    True
    """
    rng = np.random.default_rng(seed)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {"train": [], "test": []}
    for image in luminance_images():
        lo = _downscale(image, scale)
        split = int(lo.shape[1] * (1 - SR_TEST_COLUMNS))
        parts["train"].append(_patch_pairs(lo, image, patch, scale, (0, split),
                                           max(1, patch // 2)))
        parts["test"].append(_patch_pairs(lo, image, patch, scale, (split, lo.shape[1]),
                                          patch))
    pairs = []
    for name, size in (("train", train_size), ("test", test_size)):
        x = np.concatenate([p[0] for p in parts[name]])
        y = np.concatenate([p[1] for p in parts[name]])
        keep = rng.permutation(len(x))[:size]
        pairs.append((_requantize(x[keep], input_bits), _requantize(y[keep], input_bits)))
    (x_tr, y_tr), (x_te, y_te) = pairs
    return _target_split(x_tr, y_tr, x_te, y_te, input_bits=input_bits)


def load_noisy_digits(input_bits: int, noise: float, seed: int = 0,
                      copies: int = 4) -> TargetSplit:
    """Denoising pairs from the digits split (:func:`load_digits_split`, as 1x8x8):
    inputs the pixel codes plus Gaussian noise of ``noise`` times the code range (rounded
    half up, clipped to the codes), targets the clean codes; ``copies`` noisy draws of
    each training image, one of each test image, all from ``seed``.

    >>> s = load_noisy_digits(8, 0.2)
    >>> s.x_train.shape, s.y_train.shape, s.x_test.shape, s.y_test.shape
    ((5748, 1, 8, 8), (5748, 1, 8, 8), (360, 1, 8, 8), (360, 1, 8, 8))
    >>> bool((s.y_test == load_digits_split(8, shape=(1, 8, 8)).x_test).all())
    True
    """
    digits = load_digits_split(input_bits, seed=seed, shape=(1, IMAGE_SIDE, IMAGE_SIDE))
    rng = np.random.default_rng(seed)
    peak = 2**input_bits - 1

    def noisy(clean: np.ndarray) -> np.ndarray:
        return np.clip(np.floor(clean + rng.normal(0, noise * peak, clean.shape) + 0.5), 0, peak)

    clean_train = np.repeat(digits.x_train, copies, axis=0)
    return _target_split(noisy(clean_train), clean_train, noisy(digits.x_test),
                         digits.x_test, input_bits=input_bits)


@dataclass(frozen=True)
class UserSplit:
    """A user's training set (``data.train``) and test set (``data.path``), as
    :func:`codesign.frontend.quant.train.train_model` reads a split; the test labels are
    optional."""

    x_train: npt.NDArray[np.float32]
    y_train: npt.NDArray[np.int64]
    x_test: npt.NDArray[np.float32]
    y_test: npt.NDArray[np.int64] | None


NPZ_ARRAYS = ("x", "y")
"""Arrays of a test-set ``.npz``: ``x`` the inputs, ``y`` (optional) the labels."""
MAX_NPZ_BYTES = 1 << 30
"""Largest array (uncompressed) read from a test-set ``.npz``."""


@dataclass(frozen=True)
class EvalSet:
    """A model's test inputs (float32 codes, one sample per row) and, if known, labels."""

    x: npt.NDArray[np.float32]
    y: npt.NDArray[np.int64] | None


def load_npz(
    path: Path, sample_shape: tuple[int, ...] | None = None, input_name: str = "input",
    targets: bool = False,
) -> EvalSet:
    """Read a test set from ``path`` (``x``: (N, *sample_shape), optional ``y``: (N,)
    labels, or with ``targets`` (N, ...) target images of non-negative codes).

    The file is untrusted: nothing is unpickled, only the arrays ``x`` and ``y`` are
    accepted, each at most :data:`MAX_NPZ_BYTES`, ``x`` real and finite, ``y``
    non-negative integers. Any violation raises :class:`DataFileError` naming the array.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     f = Path(tmp) / "t.npz"
    ...     np.savez(f, x=np.zeros((3, 4), np.uint8), y=np.array([0, 1, 2]))
    ...     t = load_npz(f, (4,))
    ...     load_npz(f, (2, 2), input_name="inp")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    codesign.errors.DataFileError: .../t.npz: x has shape (3, 4); the graph input 'inp' ...
    >>> t.x.dtype, t.y.tolist()
    (dtype('float32'), [0, 1, 2])
    """
    path = Path(path)
    arrays = _read_npz_arrays(path)
    x = _check_x(path, arrays["x"], sample_shape, input_name)
    y = arrays.get("y")
    return EvalSet(x=x, y=None if y is None else _check_y(path, y, len(x), targets))


def _read_npz_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an untrusted .npz: x (and y) only, sizes bounded, nothing unpickled."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = {info.filename: info.file_size for info in zf.infolist()}
    except (OSError, zipfile.BadZipFile) as err:
        raise DataFileError(f"{path} is not an .npz archive: {err}") from None
    extra = sorted(set(members) - {f"{k}.npy" for k in NPZ_ARRAYS})
    if extra or "x.npy" not in members:
        raise DataFileError(
            f"{path}: holds {', '.join(sorted(members)) or 'nothing'}; a test set holds the "
            "arrays x and, optionally, y (np.savez(path, x=..., y=...))"
        )
    for name, size in members.items():
        if size > MAX_NPZ_BYTES:
            raise DataFileError(f"{path}: {name} has {size} bytes; at most {MAX_NPZ_BYTES}")
    arrays = {}
    with np.load(path, allow_pickle=False) as npz:
        for key in npz.files:
            try:
                arrays[key] = np.asarray(npz[key])
            except ValueError as err:  # object arrays need pickle: refused
                raise DataFileError(f"{path}: array {key} cannot be read safely: {err}") from None
    return arrays


def _check_x(path: Path, x: np.ndarray, sample_shape: tuple[int, ...] | None,
             input_name: str) -> np.ndarray:
    """``x`` as float32: finite codes of the graph input's sample shape, exactly."""
    if x.dtype.kind not in "uif":
        raise DataFileError(f"{path}: x has dtype {x.dtype}; integer or float codes expected")
    want = None if sample_shape is None else (len(x), *sample_shape)
    if x.ndim < 2 or len(x) == 0 or (want is not None and x.shape != want):
        shape = "(N, ...)" if sample_shape is None else f"(N, {', '.join(map(str, sample_shape))})"
        raise DataFileError(
            f"{path}: x has shape {x.shape}; the graph input {input_name!r} takes one sample "
            f"of shape {tuple(sample_shape or ())}, so x must be {shape} with N >= 1"
        )
    if not np.isfinite(x).all():
        raise DataFileError(f"{path}: x holds NaN or infinite values")
    xf = x.astype(np.float32)
    if not np.array_equal(xf.astype(np.float64), x.astype(np.float64)):
        raise DataFileError(f"{path}: x holds values float32 cannot represent exactly")
    return xf


def _check_y(path: Path, y: np.ndarray, n: int, targets: bool = False) -> np.ndarray:
    """``y`` as int64: one non-negative integer label (or target image) per row of x."""
    shaped = y.ndim >= 2 and len(y) == n if targets else y.shape == (n,)
    if not shaped or y.dtype.kind not in "uif":
        want = f"({n}, ...) target images" if targets else f"({n},) labels"
        raise DataFileError(
            f"{path}: y has shape {y.shape} and dtype {y.dtype}; {want} are "
            "integers, one per row of x"
        )
    if not (np.isfinite(y).all() and (y == np.round(y)).all() and (y >= 0).all()):
        raise DataFileError(f"{path}: y holds values that are not non-negative integers")
    return y.astype(np.int64)


def save_npz(path: Path, test: EvalSet) -> None:
    """Write ``test`` as :func:`load_npz` reads it (``y`` only where there are labels)."""
    arrays = {"x": test.x} if test.y is None else {"x": test.x, "y": test.y}
    np.savez(path, **arrays)


def check_input_values(test: EvalSet, dtype: Any, source: Path) -> None:
    """Every value of ``x`` is one the input DataType holds."""
    x = test.x
    lo, hi = dtype.min(), dtype.max()
    bad = (x != np.round(x)) | (x < lo) | (x > hi)
    if not bad.any() and dtype.get_num_possible_values() < hi - lo + 1:
        bad = ~np.isin(x, [v for v in np.unique(x) if dtype.allowed(float(v))])
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise DataFileError(
            f"{source}: x{list(first)} = {x[first]:g} is not a {dtype.get_canonical_name()} "
            f"value (the graph input's type; integers in [{lo}, {hi}])"
        )
