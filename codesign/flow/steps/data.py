"""Loaders of the front end's data: the training split and test set the config names, and
the graph and test set a front-end step (export or import) stored in the build directory.

The training split is loaded once per run and shared by train and export; from lower on,
every step reads the test set the front end stored, never the config's data again.
A loader takes the run and ``get``, which gives the other products it builds on.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.config import BuiltinModelSection, NpzData
from codesign.flow.steps import StepRun
from codesign.frontend.models.brevitas import BrevitasModelConfig

if TYPE_CHECKING:
    from codesign.frontend.data import DigitsSplit, EvalSet, TargetSplit, UserSplit

IMPORT_DIR = "import"
EXPORT_DIR = "export"
GRAPH_FILE = "model.onnx"
TEST_FILE = "test.npz"


def front_dir(run: StepRun) -> str:
    """The build subfolder of the front end's graph and test set: the import's or the
    export's."""
    return IMPORT_DIR if run.cfg.imported else EXPORT_DIR


def split(run: StepRun, get: Callable[[str], Any]) -> DigitsSplit | TargetSplit | UserSplit:
    """The training and test data: a built-in family's own (digits classes unless it
    gives a ``dataset``), the npz sets of a Brevitas factory (``data.train``: labels
    required)."""
    from codesign.errors import DataFileError
    from codesign.frontend.data import UserSplit, load_digits_split
    from codesign.frontend.models import family

    model = run.cfg.model
    if isinstance(model, BuiltinModelSection):
        quant, seed = run.cfg.quant, run.cfg.train.seed
        if (dataset := family(model.kind).dataset) is not None:
            return dataset(model, quant.input_bits, seed)
        return load_digits_split(
            quant.input_bits, seed=seed, shape=model.input_shape, order=model.pixel_order
        )
    data = run.cfg.data
    assert isinstance(data, NpzData) and data.train is not None
    train = user_npz(run, data.train)
    if train.y is None:
        raise DataFileError(f"{data.train}: data.train has no labels y; training needs x and y")
    test = user_npz(run, data.path)
    return UserSplit(train.x, train.y, test.x, test.y)


def test_data(run: StepRun, get: Callable[[str], Any]) -> EvalSet:
    """The test set the export checks the model on: digits' test part (moved to
    ``data.domain``'s target domain when adapting), or the factory's npz test set
    (``data.path``, checked against the model's input)."""
    from codesign.frontend.data import EvalSet

    data = run.cfg.data
    if isinstance(data, NpzData):
        return user_npz(run, data.path)
    digits = get("split")
    if data.domain != "source":  # adapted to a derived domain: tested on its images
        from codesign.frontend.domains import target_sets

        _, x_test = target_sets(digits, data.domain, run.cfg.train.seed)
        return EvalSet(x_test, digits.y_test)
    return EvalSet(digits.x_test, digits.y_test)


def user_npz(run: StepRun, path: Path) -> EvalSet:
    """An npz set of a factory's module, checked against model.input_shape and the
    values of data.input_type."""
    from qonnx.core.datatype import DataType

    from codesign.frontend.data import check_input_values, load_npz

    model, data = run.cfg.model, run.cfg.data
    assert isinstance(model, BrevitasModelConfig)
    assert isinstance(data, NpzData) and data.input_type is not None
    loaded = load_npz(path, tuple(model.input_shape), input_name="model.input_shape")
    check_input_values(loaded, DataType[data.input_type], path)
    return loaded


def graph_file(run: StepRun, get: Callable[[str], Any]) -> Path:
    """The QONNX / FINN-ONNX graph the lowering starts from: the export or the import."""
    return run.bd.path(front_dir(run), GRAPH_FILE)


def test_set(run: StepRun, get: Callable[[str], Any]) -> EvalSet:
    """The test inputs of the graph and their labels or target images (None where the
    user gave none), as the front end checked and stored them."""
    from codesign.frontend.data import load_npz
    from codesign.frontend.models import family

    targets = not family(run.cfg.model.kind).metric.classifies
    return load_npz(run.bd.path(front_dir(run), TEST_FILE), targets=targets)
