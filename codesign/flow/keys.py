"""Step keys: what a flow step's result depends on beyond the design digest of its build
directory: its settings and the code it runs (:func:`codesign.closure.code_digest`).

A step's entry modules are the module holding its function (``codesign.flow.steps.*``)
and the modules of the loaders of its inputs (:mod:`codesign.flow.products`'s table names
them by function, so the module is read off the function). A step that runs afresh re-runs
every later step as well (:class:`~codesign.flow.build.BuildDir`), so a key only needs to
say what the step itself runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codesign.closure import code_digest

if TYPE_CHECKING:
    from codesign.config import FlowConfig
    from codesign.flow.table import Step

JSON = dict[str, Any]


def step_entries(step: Step) -> tuple[str, ...]:
    """The modules a step runs: its function's and its inputs' loaders'."""
    from codesign.flow.products import loader_modules

    return tuple(sorted({step.run.__module__, *loader_modules(step.inputs)}))


def step_key(cfg: FlowConfig, name: str) -> JSON:
    """What a step's result depends on beyond the design digest: the code it runs
    (:func:`code_digest` of :func:`step_entries`) and its settings."""
    from codesign.flow.table import step_named

    step = step_named(name)
    return {**step.settings(cfg), **code_digest(step_entries(step))}
