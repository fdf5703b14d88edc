"""Model families, looked up by ``model.kind``; an unknown kind lists the known ones.

A family registers, in its own module, everything the toolkit needs to know about it:

- ``section``: its ``model`` config section (a pydantic model; ``kind`` is its tag), which
  config parsing dispatches to (:mod:`codesign.config.flow`);
- ``build``: how codesign builds its torch module from the section, the quantization and
  the seed (None: the user's code or file gives the model);
- ``streamline``: the name of its FINN streamlining recipe (a key of
  ``codesign.dataflow.lower.steps.STREAMLINERS``);
- ``source``: where the model comes from, which decides the flow's front end and which
  config sections apply: ``builtin`` (built, trained and tested on digits), ``file`` (a
  user's ONNX file with an npz test set, imported), ``factory`` (a user's Brevitas module
  with npz sets, trained unless a checkpoint is given, exported);
- ``metric``: what it is measured by (:mod:`codesign.frontend.metrics`): accuracy for a
  classifier (the default), PSNR for a family whose output is an image;
- ``weighted_layers``: the module names of its linear and conv layers in call order (a
  built-in family), which per-layer quantization settings index;
- optional hooks: ``dataset`` (its own training and test split, instead of the digits
  classes), ``loop_iterations`` (the T of a weight-shared block), ``check``
  (consistency with the other sections) and ``identity`` (what
  of the dumped section defines the design: e.g. a file's content instead of its path).

This module imports no torch and no family: families import it to register.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from codesign.errors import ConfigError
from codesign.frontend.metrics import ACCURACY, Metric

if TYPE_CHECKING:
    from torch import nn

    from codesign.config import FlowConfig, ModelSection, QuantConfig

IMAGE_SIZE = 8
"""Height and width of the digits images the built-in families train on."""
N_CLASSES = 10
"""Classes of digits."""
Source = Literal["builtin", "file", "factory"]


@dataclass(frozen=True)
class Family:
    kind: str
    section: type[ModelSection]
    streamline: str
    source: Source = "builtin"
    build: Callable[[Any, QuantConfig, int], nn.Module] | None = None
    check: Callable[[FlowConfig], None] | None = None
    """Raises ValueError when the section does not fit the config's other sections."""
    identity: Callable[[Any, dict[str, Any]], None] | None = None
    """Edits the dumped section in place into what defines the design."""
    loop_iterations: Callable[[Any], int] | None = None
    """T of the weight-shared block the lowering rolls into one loop node (``roll_loops``);
    None or 1: the model has no loop."""
    parameters: Callable[[Any], dict[str, Any]] | None = None
    """Weight counts the train step reports for the section (e.g. an ODE's three variants
    with and without the stem and head)."""
    metric: Metric = ACCURACY
    """What the family is trained for and scored by (loss, scores, agreement)."""
    test_set: str = "the held-out test split of the digits data set"
    """What its scores are measured on, as the report says it."""
    dataset: Callable[[Any, int, int], Any] | None = None
    """(section, input bits, seed) -> the family's train/test split (x and y arrays, see
    :class:`codesign.frontend.data.TargetSplit`); None: the digits classes."""
    weighted_layers: Callable[[Any], list[str]] | None = None
    """The module names of the section's weighted layers (linear and conv), in the order
    the model calls them (the dataflow graph's order): what a per-layer
    ``quant.acc_bits`` and ``quant.layer_policy`` index. None: a user's model, which
    carries its own quantization."""
    content: Callable[[Any, dict[str, Any]], None] | None = None
    """Edits the design's dumped section in place into what defines the whole config
    (e.g. a checkpoint's content, which re-runs steps but keeps the build directory)."""


_FAMILIES: dict[str, Family] = {}


def register(family: Family) -> Family:
    if family.kind in _FAMILIES:
        raise RuntimeError(f"model.kind {family.kind!r} is registered twice")
    _FAMILIES[family.kind] = family
    return family


def kinds() -> tuple[str, ...]:
    """The registered kinds."""
    return tuple(_FAMILIES)


def families() -> tuple[Family, ...]:
    return tuple(_FAMILIES.values())


def family(kind: str) -> Family:
    if kind not in _FAMILIES:
        raise ConfigError(f"unknown model.kind {kind!r}; known: {', '.join(sorted(_FAMILIES))}")
    return _FAMILIES[kind]
