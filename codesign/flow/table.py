"""The flow's steps, declared once: name, function, inputs, settings, and when it runs.

A front end gives the lowering its QONNX graph and test set: a built-in model is trained
and exported (train → export, on digits); a user's ONNX file is checked and imported
with its npz test set (import); a user's Brevitas factory is built, trained on its npz
training set unless a checkpoint is given, and exported (train → export). Then lower →
fifos → rtl → sim → overflow → synth → csim.

Backends: ``rtl`` runs the RTL steps (sim, overflow, synth), ``hls`` the HLS
C-simulation (csim) instead, ``both`` all of them; lower, fifos and rtl (which writes the
test vectors both verify against) run for every backend. csim comes last, so that adding
the HLS backend to a finished RTL build redoes nothing of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from codesign.config import FlowConfig
from codesign.errors import ConfigError
from codesign.flow.steps import (
    JSON,
    csim,
    export,
    fifos,
    imported,
    lower,
    overflow,
    rtl,
    sim,
    synth,
    train,
)
from codesign.frontend.models.brevitas import BrevitasModelConfig

BACKENDS = ("rtl", "hls", "both")


def _always(cfg: FlowConfig) -> bool:
    return True


def _no_settings(cfg: FlowConfig) -> JSON:
    return {}


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[..., JSON]
    """``run(StepRun, **inputs)``: the step's JSON summary."""
    inputs: tuple[str, ...] = ()
    """Products of earlier steps it takes (:data:`codesign.flow.products.PRODUCTS`)."""
    settings: Callable[[FlowConfig], JSON] = _no_settings
    """The config's settings the step depends on beyond the design digest."""
    applies: Callable[[FlowConfig], bool] = _always
    """Whether the config's front end has this step."""
    backend: str | None = None
    """The one backend that runs it (None: every backend)."""
    enabled: Callable[[FlowConfig], bool] = _always
    """False: the config switched the step off (it is skipped, the flow goes on)."""


def _user_code(cfg: FlowConfig) -> JSON:
    """What a Brevitas factory's train and export steps read beyond codesign's code: the
    factory's source file and the checkpoint's content (edits re-run the steps)."""
    if not isinstance(cfg.model, BrevitasModelConfig):
        return {}
    from codesign.config import file_digest
    from codesign.frontend.models.brevitas.factory import source_digest

    key: JSON = {"factory_source": source_digest(cfg.model)}
    if cfg.model.checkpoint is not None:
        key["checkpoint"] = file_digest(cfg.model.checkpoint, "model.checkpoint")
    return key


def _trains(cfg: FlowConfig) -> bool:
    """A built-in model, or a Brevitas factory without checkpoint."""
    if isinstance(cfg.model, BrevitasModelConfig):
        return cfg.model.checkpoint is None
    return not cfg.imported


def _sim(cfg: FlowConfig) -> JSON:
    return {"sim": cfg.sim.model_dump(mode="json")}


STEPS: tuple[Step, ...] = (
    Step("train", train.train, ("split",), _user_code, applies=_trains),
    Step("export", export.export, ("test_data",), _user_code,
         applies=lambda cfg: not cfg.imported),
    Step("import", imported.import_graph, applies=lambda cfg: cfg.imported),
    Step("lower", lower.lower, ("graph_file", "test_set")),
    Step("fifos", fifos.fifos, ("finn_graph", "accel_inputs"),
         lambda cfg: {"simulator": cfg.sim.simulator}),
    Step("rtl", rtl.rtl, ("dataflow", "parent", "stream_graph", "as_built", "accel_inputs",
                          "test_set", "graph_outputs"), _sim),
    Step("sim", sim.sim, (), _sim, backend="rtl"),
    Step("overflow", overflow.overflow, ("as_built",), _sim, backend="rtl"),
    Step("synth", synth.synth, ("stream_graph", "as_built"),
         lambda cfg: {"synth": cfg.synth.model_dump(mode="json")}, backend="rtl",
         enabled=lambda cfg: cfg.synth.enabled),
    Step("csim", csim.csim, ("as_built",),
         lambda cfg: {"sim_frames": cfg.sim.frames, "board": cfg.board}, backend="hls"),
)
STEP_NAMES = tuple(step.name for step in STEPS)
_BY_NAME = {step.name: step for step in STEPS}


def step_named(name: str) -> Step:
    if name not in _BY_NAME:
        raise ConfigError(f"unknown step {name!r}; known: {', '.join(STEP_NAMES)}")
    return _BY_NAME[name]


def flow_steps(cfg: FlowConfig, backend: str = "rtl") -> tuple[Step, ...]:
    """The steps of ``cfg``'s flow for ``backend``, in order: its front end's, then the
    shared ones, then the backend's."""
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    return tuple(
        step for step in STEPS
        if step.applies(cfg) and (backend == "both" or step.backend in (None, backend))
    )
