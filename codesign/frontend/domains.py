"""Derived domains of the digits for domain adaptation (``data.domain``): the target
images are made deterministically from the digits' pixel codes, so the source and target
sets share labels and splits.

- ``source``: the digits as they are;
- ``rotated``: every image turned 90 degrees counter-clockwise;
- ``inverted``: contrast inverted (code ``c`` becomes ``2^bits - 1 - c``);
- ``noisy``: seeded Gaussian noise of a quarter of the code range, rounded and clipped.

:func:`few_shot` picks the few labelled target samples per class that adaptation trains on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from codesign.frontend.data import DigitsSplit

Domain = Literal["source", "rotated", "inverted", "noisy"]
DOMAINS: tuple[str, ...] = ("source", "rotated", "inverted", "noisy")
IMAGE = 8
"""Height and width of a digits image."""


def to_domain(x: npt.ArrayLike, domain: str, input_bits: int, seed: int = 0,
              order: Sequence[int] | None = None) -> npt.NDArray[np.float32]:
    """Pixel codes ``x`` (n, ... 64 pixels in any shape) moved to ``domain``. ``order``
    says which row-major pixel each value of an image is (a ViT's patch order, pixels
    repeated where it resizes): the domain then acts on the 8x8 image, as for the others.

    >>> x = np.arange(64, dtype=np.float32).reshape(1, 64)
    >>> to_domain(x, "inverted", 8)[0, :3].tolist()
    [255.0, 254.0, 253.0]
    >>> to_domain(x, "rotated", 8).reshape(8, 8)[0].tolist()
    [7.0, 15.0, 23.0, 31.0, 39.0, 47.0, 55.0, 63.0]
    >>> bool((to_domain(x, "noisy", 8, seed=1) == to_domain(x, "noisy", 8, seed=1)).all())
    True
    """
    arr = np.asarray(x, dtype=np.float32)
    if order is not None:
        index = np.asarray(order)
        flat = np.zeros((len(arr), IMAGE * IMAGE), dtype=np.float32)
        flat[:, index] = arr.reshape(len(arr), -1)  # a repeated pixel holds one value
        moved = to_domain(flat, domain, input_bits, seed)
        return np.ascontiguousarray(moved[:, index].reshape(arr.shape))
    top = float(2**input_bits - 1)
    if domain == "source":
        out = arr.copy()
    elif domain == "inverted":
        out = top - arr
    elif domain == "rotated":
        images = arr.reshape(len(arr), IMAGE, IMAGE)
        out = np.rot90(images, k=1, axes=(1, 2)).reshape(arr.shape)
    elif domain == "noisy":
        noise = np.random.default_rng(seed).normal(0.0, top / 4, size=arr.shape)
        out = np.clip(np.floor(arr + noise + 0.5), 0, top)
    else:
        raise ValueError(f"unknown data.domain {domain!r}; known: {', '.join(DOMAINS)}")
    return np.ascontiguousarray(out, dtype=np.float32)


def target_sets(split: DigitsSplit, domain: str, seed: int = 0
                ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The training and test images of ``split`` moved to ``domain`` (independent noise
    draws: seeds ``seed`` and ``seed + 1``); the flow's test set is the second."""
    bits, order = split.input_bits, split.order
    return (to_domain(split.x_train, domain, bits, seed, order),
            to_domain(split.x_test, domain, bits, seed + 1, order))


def few_shot(y: npt.ArrayLike, shots: int, seed: int = 0) -> npt.NDArray[np.int64]:
    """Indices of ``shots`` samples of every class of labels ``y`` (seeded, sorted).

    >>> few_shot([0, 1, 0, 1, 0, 1], 2).tolist()
    [2, 3, 4, 5]
    """
    labels = np.asarray(y, dtype=np.int64)
    order = np.random.default_rng(seed).permutation(len(labels))
    picked = [order[labels[order] == c][:shots] for c in np.unique(labels)]
    return np.sort(np.concatenate(picked)).astype(np.int64)
