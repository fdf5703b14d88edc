"""The flow's steps, one module per step (or per pair that shares its code).

A step function takes the :class:`StepRun` (build directory, config, progress) and, as
keyword arguments, the inputs the step table declares for it (what earlier steps produced,
see :mod:`codesign.flow.products`); it returns the step's JSON summary. Its module, and
what that imports, is the code its key digests (:mod:`codesign.flow.keys`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from codesign.config import FlowConfig
    from codesign.flow.build import BuildDir

JSON = dict[str, Any]


class Progress(Protocol):
    """What the flow reports while it runs (the CLI draws it; tests may ignore it)."""

    def step(self, name: str, status: str, seconds: float | None = None) -> None: ...

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None: ...


@dataclass(frozen=True)
class StepRun:
    """What every step gets: where it writes, the config, where it reports progress."""

    bd: BuildDir
    cfg: FlowConfig
    progress: Progress
