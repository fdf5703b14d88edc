"""The co-design flow: the steps of :mod:`codesign.flow.table`, run in order over one
build directory, each reused while its key (:mod:`codesign.flow.keys`) holds.

Each step's summary is stored in the manifest; ``results.json`` is assembled from those
summaries (:mod:`codesign.flow.results`).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from codesign.config import FlowConfig
from codesign.errors import ConfigError
from codesign.flow.build import JSON, BuildDir
from codesign.flow.keys import step_key
from codesign.flow.products import Products
from codesign.flow.results import assemble_results
from codesign.flow.steps import Progress, StepRun
from codesign.flow.table import STEP_NAMES, Step, flow_steps
from codesign.frontend.models.brevitas import BrevitasModelConfig

if TYPE_CHECKING:
    from codesign.synth.vivado import VivadoBuild


class _Silent:
    def step(self, name: str, status: str, seconds: float | None = None) -> None:
        pass

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None:
        pass


@dataclass(frozen=True)
class FlowResult:
    build_dir: Path
    results_path: Path
    results: JSON


def _check_until(cfg: FlowConfig, steps: tuple[Step, ...], until: str | None,
                 backend: str) -> None:
    names = [step.name for step in steps]
    if until == "train" and isinstance(cfg.model, BrevitasModelConfig) and "train" not in names:
        raise ConfigError(
            f"model.checkpoint {cfg.model.checkpoint} is given, so there is nothing to "
            "train; drop model.checkpoint to train the factory's module on data.train"
        )
    if until is not None and until not in names:
        known = f"unknown step {until!r}" if until not in STEP_NAMES else f"no step {until!r}"
        raise ConfigError(
            f"{known} for model.kind {cfg.model.kind} and backend {backend}; its steps are: "
            f"{', '.join(names)}"
        )


def run_flow(
    cfg: FlowConfig,
    out: Path,
    progress: Progress | None = None,
    until: str | None = None,
    backend: str = "rtl",
) -> FlowResult:
    """Run the flow's steps in order (up to and including ``until``) in build dir ``out``
    for ``backend`` (rtl, hls or both)."""
    steps = flow_steps(cfg, backend)
    _check_until(cfg, steps, until, backend)
    prog = progress or _Silent()
    created = not Path(out).exists()
    bd = BuildDir(out, cfg)
    try:
        summaries = _run_steps(StepRun(bd, cfg, prog), steps, until)
    except BaseException:
        # a folder this run made and no step finished in holds nothing to keep; any other
        # is left marked failed in its manifest (BuildDir.run_step)
        if created and not any(bd.step_result(s.name) is not None for s in steps):
            shutil.rmtree(bd.root, ignore_errors=True)
        raise
    results = assemble_results(cfg, summaries)
    path = bd.finish(results)
    return FlowResult(build_dir=bd.root, results_path=path, results=results)


def _run_steps(run: StepRun, steps: tuple[Step, ...], until: str | None) -> JSON:
    """Run (or reuse) ``steps`` in order up to ``until``; their summaries by name."""
    cfg, bd, prog = run.cfg, run.bd, run.progress
    products = Products(run)
    summaries: JSON = {}
    for step in steps:
        if step.name == "export" and cfg.quant.method == "float":
            break  # a float model has no integer hardware path: the flow ends at training
        if not step.enabled(cfg):
            continue
        prog.step(step.name, "start")

        def call(step: Step = step) -> JSON:
            return step.run(run, **{name: products.get(name) for name in step.inputs})

        summary, cached = bd.run_step(step.name, call, key=step_key(cfg, step.name))
        rec = bd.manifest["steps"][step.name]
        prog.step(step.name, "cached" if cached else "done", rec.get("seconds"))
        summaries[step.name] = summary
        if step.name == until:
            break
    return summaries


def vivado_bitstream(
    cfg: FlowConfig, out: Path, board: str, progress: Progress | None = None,
    until: str = "rtl",
) -> VivadoBuild:
    """``codesign bitstream --board B`` for a board of the Vivado flow: the flow up to
    ``until``, then the Vivado project in ``out/vivado`` (built where Vivado is installed)
    and the deployment folder ``out/deploy``. Returns the
    :class:`~codesign.synth.vivado.VivadoBuild`; a built design that misses timing raises
    :class:`~codesign.synth.vivado.VivadoError` after both folders are written.

    ``results.json`` holds the flow's results and, under ``bitstream``, the Vivado
    record (``flow: vivado``; ``status`` ``project_only`` where Vivado is not installed)."""
    from codesign.board.deploy import write_deployment
    from codesign.board.registry import get_board
    from codesign.synth.vivado import VivadoError, build_vivado

    target = get_board(board)
    flow = run_flow(cfg, out, progress=progress, until=until)
    bd = BuildDir(out, cfg)  # marks the build running again until finish() below
    products = Products(StepRun(bd, cfg, progress or _Silent()))
    graph = products.get("as_built")
    child = products.get("dataflow")
    shape_in = tuple(child.get_tensor_shape(child.graph.input[0].name))[1:]
    shape_out = tuple(child.get_tensor_shape(child.graph.output[0].name))[1:]
    build = build_vivado(graph, target, bd.dir("vivado"))
    write_deployment(build.project, cfg.name, bd.dir("deploy"), shape_in, shape_out)
    record = {"flow": "vivado", "dir": str(build.project.dir.relative_to(bd.root)),
              **build.results}
    bd.finish({**flow.results, "bitstream": record})
    if build.ran and not build.results["timing"]["met"]:
        t = build.results["timing"]
        raise VivadoError(
            f"{cfg.name} on {target.name} misses timing at {target.clock_mhz:g} MHz: WNS "
            f"{t['wns_ns']} ns (about {t.get('fmax_mhz')} MHz reachable); lower the board's "
            f"clock_mhz or see the critical paths in {build.project.reports}"
        )
    return build
