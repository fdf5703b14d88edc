"""Run the lowering steps in order, saving every intermediate model."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import onnx
from qonnx.core.modelwrapper import ModelWrapper

from codesign.config import FlowConfig
from codesign.dataflow.lower._graph import (
    WORKDIR_PROP,
    child_path,
    finn_build_dir,
    point_to_child,
    sdp_node,
)
from codesign.dataflow.lower.steps import LOWER_STEPS
from codesign.errors import LoweringError

LOWER_SUBDIR = "lower"
STEPS_INDEX = "steps.json"


@dataclass(frozen=True)
class LowerResult:
    """Where the lowered graphs are. ``dataflow`` is None if the run stopped before the
    partition step."""

    parent: Path
    """Whole graph after the last step run (host nodes + StreamingDataflowPartition)."""
    dataflow: Path | None
    """Dataflow child (generic FINN HW nodes only): what the hardware backends read."""
    steps: dict[str, Path] = field(default_factory=dict)
    """Saved model of every step run, by step name."""


def step_names() -> list[str]:
    return [name for name, _ in LOWER_STEPS]


def _index(name: str | None, default: int) -> int:
    if name is None:
        return default
    names = step_names()
    if name not in names:
        raise LoweringError(f"unknown lowering step {name!r}; steps: {', '.join(names)}")
    return names.index(name)


def step_file(build_dir: Path, index: int) -> Path:
    """``build_dir/lower/NN_<step>.onnx`` for the step at ``index``."""
    name = LOWER_STEPS[index][0]
    return Path(build_dir) / LOWER_SUBDIR / f"{index:02d}_{name}.onnx"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _load_checked(path: Path) -> ModelWrapper:
    try:
        onnx.checker.check_model(str(path))
    except (onnx.checker.ValidationError, OSError, ValueError) as err:
        raise LoweringError(f"{path} is not a valid ONNX model: {err}") from None
    return ModelWrapper(str(path))


def load_lowered(path: Path) -> ModelWrapper:
    """Load a saved step model; its partition node is pointed at the child saved next to
    it (``NN_<step>_dataflow.onnx``), so a build directory can be moved."""
    path = Path(path)
    model = ModelWrapper(str(path))
    if sdp_node(model) is not None:
        sibling = path.with_name(f"{path.stem}_dataflow.onnx")
        if sibling.is_file():
            point_to_child(model, sibling)
    return model


def _save_step(model: ModelWrapper, out: Path) -> tuple[Path, Path | None]:
    """Save ``model`` at ``out``; a parent's child is copied beside it and referenced."""
    out.parent.mkdir(parents=True, exist_ok=True)
    child_out: Path | None = None
    if sdp_node(model) is not None:
        child_out = out.with_name(f"{out.stem}_dataflow.onnx")
        shutil.copyfile(child_path(model), child_out)
        saved = ModelWrapper(model.model)  # same proto; re-point, save, point back
        working = child_path(model)
        point_to_child(saved, child_out)
        saved.save(str(out))
        point_to_child(model, working)
    else:
        model.save(str(out))
    return out, child_out


class _StepsIndex:
    """``build_dir/lower/steps.json``: each step's status, saved models, digests and
    seconds, rewritten after every change so an interrupted run shows where it stopped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict[str, object]] = (
            json.loads(path.read_text()) if path.is_file() else {}
        )

    def set(self, name: str, entry: dict[str, object]) -> None:
        self.entries[name] = entry
        if entry.get("status") == "done":
            for later, _ in LOWER_STEPS[_index(name, 0) + 1 :]:
                self.entries.pop(later, None)  # a step run afresh invalidates the later ones
        self.path.write_text(json.dumps(self.entries, indent=2) + "\n")


def _start_model(onnx_in: Path, build_dir: Path, first: int) -> ModelWrapper:
    """The input of step ``first``: ``onnx_in`` for the first step, else the saved result
    of the step before it."""
    if first == 0:
        return _load_checked(Path(onnx_in))
    prev = step_file(build_dir, first - 1)
    if not prev.is_file():
        raise LoweringError(
            f"cannot start at {LOWER_STEPS[first][0]!r}: the previous step's model "
            f"{prev} does not exist; run from an earlier step"
        )
    return load_lowered(prev)


def _run_step(
    index: _StepsIndex, i: int, model: ModelWrapper, cfg: FlowConfig, build_dir: Path
) -> tuple[ModelWrapper, Path, Path | None]:
    """Run step ``i``, save its model (and dataflow child) and record it in ``index``;
    a failure is recorded and raised as LoweringError naming the step."""
    name, step = LOWER_STEPS[i]
    t0 = time.perf_counter()
    index.set(name, {"status": "running"})
    try:
        model = step(model, cfg)
    except LoweringError:
        index.set(name, {"status": "failed"})
        raise
    except Exception as err:
        index.set(name, {"status": "failed"})
        raise LoweringError(f"lowering step {name!r} failed: {err}") from err
    parent_out, child_out = _save_step(model, step_file(build_dir, i))
    entry: dict[str, object] = {
        "status": "done",
        "model": parent_out.name,
        "digest": _digest(parent_out),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    if child_out is not None:
        entry["dataflow"] = child_out.name
        entry["dataflow_digest"] = _digest(child_out)
    index.set(name, entry)
    return model, parent_out, child_out


def run_lower(
    onnx_in: Path,
    cfg: FlowConfig,
    build_dir: Path,
    start: str | None = None,
    stop: str | None = None,
) -> LowerResult:
    """Apply :data:`LOWER_STEPS` from ``start`` to ``stop`` (inclusive, by name).

    With ``start`` at the first step (default) the input is ``onnx_in`` (a QONNX model
    whose input is annotated with an integer DataType); otherwise it is the saved
    result of the step before ``start`` in ``build_dir``. Every step's output is saved
    as ``build_dir/lower/NN_<step>.onnx`` (and ``NN_<step>_dataflow.onnx`` for its
    dataflow child); ``build_dir/lower/steps.json`` lists them with digests and seconds.
    """
    build_dir = Path(build_dir).resolve()
    lower_dir = build_dir / LOWER_SUBDIR
    lower_dir.mkdir(parents=True, exist_ok=True)
    first = _index(start, 0)
    last = _index(stop, len(LOWER_STEPS) - 1)
    if last < first:
        raise LoweringError(f"stop step {stop!r} comes before start step {start!r}")
    model = _start_model(Path(onnx_in), build_dir, first)
    work = lower_dir / "work"  # scratch files of the steps; saved models never refer to it
    shutil.rmtree(work, ignore_errors=True)
    model.set_metadata_prop(WORKDIR_PROP, str(work))
    index = _StepsIndex(lower_dir / STEPS_INDEX)
    saved: dict[str, Path] = {}
    with finn_build_dir(build_dir / "finn"):
        for i in range(first, last + 1):
            model, parent_out, child_out = _run_step(index, i, model, cfg, build_dir)
            saved[LOWER_STEPS[i][0]] = parent_out
    return LowerResult(parent=parent_out, dataflow=child_out, steps=saved)
