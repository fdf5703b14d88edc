"""A user's Brevitas model (``model.kind: brevitas``): its factory found, imported and
called, and its checkpoint loaded, each failure a :class:`ConfigError` naming the key.

``model.factory: "pkg.module:make_net"`` names a module, looked up in ``model.source_dir``
(by default the config file's directory) first and then on ``sys.path``, and a callable
in it that takes no arguments and returns the ``torch.nn.Module``. Importing the module
runs the user's code: a config that names a factory is trusted code (an ONNX file is not,
see :mod:`codesign.frontend.onnx_import`). :func:`locate_module` finds the module's file without
running anything, for the flow's step keys (an edit of the file re-runs the steps that
build the module).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.machinery
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from torch import nn

from codesign.errors import ConfigError
from codesign.frontend.models.brevitas import BrevitasModelConfig

_IMPORTED: dict[str, str] = {}
"""Factory modules this module imported, by name, and their source digest then."""
_LISTED = 8
"""State-dict keys listed in a mismatch error (the rest are counted)."""


def _factory_error(cfg: BrevitasModelConfig, problem: str) -> ConfigError:
    return ConfigError(f"model.factory {cfg.factory!r}: {problem}")


def _search_path(cfg: BrevitasModelConfig) -> list[str]:
    assert cfg.source_dir is not None  # the config resolves it (default: the config's dir)
    return [str(cfg.source_dir), *sys.path]


def locate_module(cfg: BrevitasModelConfig) -> Path:
    """The source file of the factory's module, found as ``import`` would find it in
    ``source_dir`` and then ``sys.path``, without running any of it (packages on the
    way are found by their directories, their ``__init__`` is not executed)."""
    importlib.invalidate_caches()  # a module written a moment ago is found too
    parts = cfg.module_name.split(".")
    locations = _search_path(cfg)
    spec = None
    for i in range(len(parts)):
        name = ".".join(parts[: i + 1])
        spec = importlib.machinery.PathFinder.find_spec(name, locations)
        if spec is None:
            where = ", ".join(locations[:3]) + (", ..." if len(locations) > 3 else "")
            raise _factory_error(
                cfg,
                f"no module {name!r} in {where} (model.source_dir, then sys.path); a "
                f"module {parts[i]}.py or package {parts[i]}/ must be there",
            )
        if i < len(parts) - 1:
            if spec.submodule_search_locations is None:
                raise _factory_error(cfg, f"{name} ({spec.origin}) is a module, not a package")
            locations = list(spec.submodule_search_locations)
    assert spec is not None
    if spec.origin is None or not Path(spec.origin).is_file():
        raise _factory_error(
            cfg, f"{cfg.module_name} is a namespace package (a directory without "
            "__init__.py); name the module that defines the factory"
        )
    return Path(spec.origin).resolve()


def source_digest(cfg: BrevitasModelConfig) -> str:
    """sha256 of the factory module's source file (see :func:`locate_module`)."""
    return "sha256:" + hashlib.sha256(locate_module(cfg).read_bytes()).hexdigest()


def _module_file(module: ModuleType) -> Path | None:
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _forget_earlier_import(cfg: BrevitasModelConfig, origin: Path, digest: str) -> None:
    """Drop a module of the same name that this module imported from another place
    (another config's ``source_dir``) or before its source was edited, so that ``import``
    runs this one; a module of that name imported by anything else is an error (it would
    shadow the user's)."""
    loaded = sys.modules.get(cfg.module_name)
    if loaded is None:
        return
    same_file = _module_file(loaded) == origin
    if same_file and _IMPORTED.get(cfg.module_name, digest) == digest:
        return
    if cfg.module_name not in _IMPORTED:
        if same_file:
            return  # imported by the user's own code (e.g. a training script): the same
        raise _factory_error(
            cfg, f"a module named {cfg.module_name} is imported already, from "
            f"{_module_file(loaded) or 'a built-in'}, not {origin}; rename the module"
        )
    top = cfg.module_name.split(".")[0]
    for name in [n for n in sys.modules if n == top or n.startswith(f"{top}.")]:
        del sys.modules[name]


def import_factory(cfg: BrevitasModelConfig) -> Callable[[], Any]:
    """Import the factory's module (running the user's code) and return the callable."""
    origin = locate_module(cfg)
    digest = source_digest(cfg)
    _forget_earlier_import(cfg, origin, digest)
    entry = str(cfg.source_dir)
    sys.path.insert(0, entry)
    try:
        module = importlib.import_module(cfg.module_name)
    except Exception as err:
        raise _factory_error(
            cfg, f"importing {cfg.module_name} from {origin} raised {type(err).__name__}: {err}"
        ) from err
    finally:
        if entry in sys.path:
            sys.path.remove(entry)
    if _module_file(module) != origin:  # a package of the same name was imported already
        raise _factory_error(
            cfg, f"import {cfg.module_name} gave {_module_file(module)}, not {origin} (a "
            "package of that name is imported already); rename the package"
        )
    _IMPORTED[cfg.module_name] = digest
    fn = getattr(module, cfg.callable_name, None)
    if fn is None:
        defined = sorted(
            n for n, v in vars(module).items() if callable(v) and not n.startswith("_")
        )
        raise _factory_error(
            cfg, f"{origin} has no {cfg.callable_name!r}; its callables: "
            f"{', '.join(defined) or 'none'}"
        )
    if not callable(fn):
        raise _factory_error(
            cfg, f"{cfg.callable_name} in {origin} is a {type(fn).__name__}, not callable"
        )
    return fn


def build_user_model(cfg: BrevitasModelConfig, seed: int = 0) -> nn.Module:
    """Call the factory (parameters initialised from ``seed``, the global torch RNG left
    as it was) and check that it returned a module."""
    fn = import_factory(cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = fn()
        except Exception as err:
            # only an argument error is about how the factory is called
            how = (" (the factory is called without arguments)"
                   if isinstance(err, TypeError) and "argument" in str(err) else "")
            raise _factory_error(
                cfg, f"calling {cfg.callable_name}() raised {type(err).__name__}: {err}{how}"
            ) from err
    if not isinstance(model, nn.Module):
        raise _factory_error(
            cfg, f"{cfg.callable_name}() returned a {type(model).__name__}, not a "
            "torch.nn.Module"
        )
    if not any(_is_quant_layer(m) for m in model.modules()):
        raise _factory_error(
            cfg, f"{cfg.callable_name}() builds a module without Brevitas quantizers; "
            "codesign builds integer accelerators from quantized networks: use "
            "brevitas.nn layers (QuantIdentity on the input, QuantConv2d / QuantLinear, "
            "QuantReLU)"
        )
    _check_input_shape(model, cfg)
    return model


def _is_quant_layer(module: nn.Module) -> bool:
    cls = type(module)
    return cls.__module__.startswith("brevitas.nn") and cls.__name__.startswith("Quant")


def _check_input_shape(model: nn.Module, cfg: BrevitasModelConfig) -> None:
    """One forward pass on a copy (two zero samples: BatchNorm trains on two or more), so
    that an input shape the module cannot take is named now, not deep in training."""
    import copy

    probe = copy.deepcopy(model).train()
    try:
        with torch.no_grad():
            probe(torch.zeros(2, *cfg.input_shape))
    except Exception as err:
        first = str(err).splitlines()[0] if str(err) else ""
        raise ConfigError(
            f"model.input_shape {cfg.input_shape} does not fit the module of model.factory "
            f"{cfg.factory!r}: a batch of shape {[2, *cfg.input_shape]} raised "
            f"{type(err).__name__}: {first}; give one sample's shape without the batch "
            "dimension (e.g. [1, 8, 8] for a one-channel 8x8 image)"
        ) from None


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_LISTED])
    return shown + (f" and {len(keys) - _LISTED} more" if len(keys) > _LISTED else "")


def load_user_checkpoint(model: nn.Module, path: Path, key: str = "model.checkpoint") -> None:
    """Load the state dict at ``path`` into ``model`` (tensors only: ``weights_only``
    unpickles no code). A file that is no state dict, or one whose keys or shapes do not
    match the module's, raises :class:`ConfigError` naming ``key`` and the keys."""
    try:
        state = torch.load(Path(path), map_location="cpu", weights_only=True)
    except Exception as err:  # unpickling errors come in many types
        # not torch's own advice (weights_only=False runs the file's code: not an option)
        raise ConfigError(
            f"{key} {path}: cannot be read as a state dict of tensors "
            f"({type(err).__name__}); save one with torch.save(net.state_dict(), path)"
        ) from None
    nested = [k for k in ("state_dict", "model_state_dict", "model")
              if isinstance(state, Mapping) and isinstance(state.get(k), Mapping)]
    if nested:
        raise ConfigError(
            f"{key} {path}: holds the state dict nested under {nested[0]!r}; save the state "
            "dict itself: torch.save(net.state_dict(), path)"
        )
    if not isinstance(state, Mapping) or not all(isinstance(k, str) for k in state):
        raise ConfigError(
            f"{key} {path}: holds a {type(state).__name__}, not a state dict; save one with "
            "torch.save(net.state_dict(), path)"
        )
    try:
        # strict=False: Brevitas's own loading accepts the activation scales a fresh
        # module does not hold yet; what it leaves over is reported below
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as err:  # shape mismatches raise even when not strict
        sizes = [line.strip() for line in str(err).splitlines() if "size mismatch" in line]
        raise ConfigError(
            f"{key} {path}: does not fit the factory's module: "
            f"{'; '.join(sizes[:_LISTED]) or str(err).splitlines()[0]}"
        ) from None
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing keys (in the module, not the file): {_listed(missing)}")
            if any(k.endswith("scaling_impl.value") for k in missing):
                parts.append(
                    "Brevitas creates these activation scales while the module trains: save "
                    "the checkpoint after training (or leave model.checkpoint out and let "
                    "codesign train it)"
                )
        if unexpected:
            parts.append(f"unexpected keys (in the file, not the module): {_listed(unexpected)}")
        raise ConfigError(
            f"{key} {path}: is not a state dict of the factory's module; "
            + "; ".join(parts)
        )
