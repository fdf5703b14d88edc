"""The ``data`` section: digits for the built-in families, an npz set for a user's model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator

from codesign.schema import Strict, existing_file

MAX_INPUT_BITS = 32
"""Widest integer input: products with 8-bit weights summed over any realistic fan-in
stay inside the int64 accumulators of the reference execution."""


class DigitsData(Strict):
    """``data.kind: digits`` (the default): scikit-learn's digits, the built-in models'
    training and test set (see :mod:`codesign.frontend.data`).

    ``domain`` other than ``source`` is domain adaptation: the model trains on the digits,
    then adapts on ``shots`` labelled images per class of the derived target domain
    (:mod:`codesign.frontend.domains`) for ``adapt_epochs`` at ``adapt_lr``; the flow
    tests it on the target domain's test images."""

    kind: Literal["digits"] = "digits"
    domain: Literal["source", "rotated", "inverted", "noisy"] = "source"
    shots: int = Field(default=5, ge=1)
    """Labelled target images per class the adaptation trains on."""
    adapt_epochs: int = Field(default=20, ge=1)
    adapt_lr: float | None = Field(default=None, gt=0)
    """Learning rate of the adaptation (``train.lr`` if unset): a near domain (``noisy``)
    can lose accuracy when fine-tuned at the training rate."""


class NpzData(Strict):
    """``data.kind: npz``: the test set of a user's model, a NumPy ``.npz`` file with
    ``x`` (N, *model input shape without its batch dimension) and optionally ``y`` (N,)
    integer labels; checked by :func:`codesign.frontend.data.load_npz`."""

    kind: Literal["npz"]
    path: Path
    """The .npz file; a relative path is relative to the config file."""
    input_type: str | None = None
    """qonnx DataType name of ``x`` (e.g. ``UINT8``): where an ONNX graph does not
    annotate its input, and always for a Brevitas factory."""
    train: Path | None = None
    """Training set of a Brevitas factory without checkpoint (``x`` and ``y``), for
    ``codesign train``."""

    _resolve = field_validator("path", "train")(existing_file)

    @field_validator("input_type")
    @classmethod
    def _integer_type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from qonnx.core.datatype import DataType

        try:
            dtype = DataType[value]
        except (KeyError, ValueError):  # qonnx parses UINT<n>/INT<n> names itself
            raise ValueError(
                f"{value!r} is not a qonnx DataType name (e.g. UINT8, INT4, BIPOLAR)"
            ) from None
        if not dtype.is_integer():
            raise ValueError(f"{value} is not an integer type; the accelerator takes integers")
        if dtype.bitwidth() > MAX_INPUT_BITS:
            raise ValueError(
                f"{value} is {dtype.bitwidth()} bits wide; inputs may have at most "
                f"{MAX_INPUT_BITS} bits (the reference computes accumulators in int64, which "
                f"wider inputs can overflow); e.g. UINT8 for 8-bit pixels"
            )
        return value


def _data_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "digits"))
    return str(getattr(value, "kind", "digits"))


DataField = Annotated[
    Annotated[DigitsData, Tag("digits")] | Annotated[NpzData, Tag("npz")],
    Discriminator(_data_kind),
]
DATA_KINDS = ("digits", "npz")
