"""Typed, validated flow configuration: YAML in, YAML out.

Every key is checked by pydantic; an unknown key or a bad value raises
:class:`~codesign.errors.ConfigError` naming the key and what is allowed. The ``model``
section is the one of a registered model family (:mod:`codesign.frontend.models.registry`),
chosen by ``model.kind``.
"""

from codesign.config.data import DigitsData, NpzData
from codesign.config.flow import FlowConfig
from codesign.config.io import load_config, parse_config, read_yaml_mapping
from codesign.config.sections import (
    FoldConfig,
    LayerFold,
    LayerPolicy,
    LayerQuant,
    MacResource,
    QuantConfig,
    QuantMethod,
    SimConfig,
    SynthConfig,
    TrainConfig,
)
from codesign.errors import ConfigError
from codesign.schema import BASE_DIR_CONTEXT, BuiltinModelSection, ModelSection, file_digest

__all__ = [
    "BASE_DIR_CONTEXT",
    "BuiltinModelSection",
    "ConfigError",
    "DigitsData",
    "FlowConfig",
    "FoldConfig",
    "LayerFold",
    "LayerPolicy",
    "LayerQuant",
    "MacResource",
    "ModelSection",
    "NpzData",
    "QuantConfig",
    "QuantMethod",
    "SimConfig",
    "SynthConfig",
    "TrainConfig",
    "file_digest",
    "load_config",
    "parse_config",
    "read_yaml_mapping",
]
