"""The csim step: the HLS top of the accelerator as built, C-simulated with g++ on the rtl
step's test vectors; and the Vitis HLS script for the board (run where the tool is)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from codesign.errors import VerificationError
from codesign.flow.steps import JSON, StepRun

if TYPE_CHECKING:
    from codesign.backends.hls import HlsProject
    from codesign.dataflow.graph import StreamGraph


def csim(run: StepRun, *, as_built: StreamGraph) -> JSON:
    """The HLS top of the as-built accelerator, C-simulated with g++ on the rtl step's
    test vectors (every output word compared)."""
    from codesign.backends.hls import emit_hls
    from codesign.verify.csim import run_csim
    from codesign.verify.junit import FILE as JUNIT
    from codesign.verify.junit import record_case

    bd, acc = run.bd, as_built
    t0 = time.monotonic()
    try:
        project = emit_hls(acc, bd.dir("hls", "accel"))
        report = run_csim(project, bd.dir("vectors"), bd.dir("csim"))
    except VerificationError as err:
        record_case(bd.root / JUNIT, "stream_verification", "hls/g++", str(err),
                    time.monotonic() - t0)
        raise
    record_case(bd.root / JUNIT, "stream_verification", "hls/g++", None, time.monotonic() - t0)
    files = [*project.generated, bd.path("csim", "csim_report.json")]
    vitis = _vitis_hls(run, project)
    if "script" in vitis:
        files.append(bd.root / vitis["script"])
    return {
        "verification": report.to_json(),
        "top": project.top,
        "headers": list(project.headers),
        "vitis_hls": vitis,
        "artefacts": [str(p.relative_to(bd.root)) for p in files],
    }


def _vitis_hls(run: StepRun, project: HlsProject) -> JSON:
    """The Vitis HLS script for the board (and, where Vitis HLS is installed, its csynth
    estimates); without the tool, why it did not run and the ready script."""
    from codesign.board.registry import get_board
    from codesign.errors import ToolNotFoundError
    from codesign.synth import vitis_hls

    bd = run.bd
    board = get_board(run.cfg.board)
    if board.vendor != "xilinx":
        return {"ran": False, "reason": f"board {board.name} is not a Xilinx part"}
    script = vitis_hls.write_script(project, board, bd.dir("vectors"), bd.dir("hls", "vitis"))
    rel = str(script.relative_to(bd.root))
    try:
        report = vitis_hls.run_script(script)
    except ToolNotFoundError as err:
        return {"ran": False, "reason": str(err), "script": rel}
    return {"ran": True, "script": rel, "board": board.name, "part": board.part,
            **report.to_json()}
