"""The open flow on the shipped iCEBreaker config: the UART shell verified in cocotb
(bytes in, bytes out, equal to the reference), a real iCE40 bitstream, a real ECP5 one
of the same design for the ULX3S, and the named fit error of a design too big for the
UP5K, raised before place and route."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from codesign.backends.rtl import load_rtl_project
from codesign.board.bitstream import run_bitstream
from codesign.board.registry import get_board
from codesign.board.shell import emit_shell
from codesign.board.uart_framing import framing_of_vectors
from codesign.config import load_config, parse_config
from codesign.flow.runner import run_flow
from codesign.paths import data_dir
from codesign.report import build_report
from codesign.report.tables import fmt
from codesign.synth.fit import FitError
from codesign.synth.nextpnr import PNR_LOG, run_open_flow
from codesign.verify.simulators import run_cocotb

CONFIG = data_dir("configs") / "mlp_icebreaker.yaml"


@pytest.fixture(scope="module")
def ice_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped iCEBreaker config, built up to its RTL and test vectors."""
    out = tmp_path_factory.mktemp("ice")
    run_flow(load_config(CONFIG), out, until="rtl")
    return out


@pytest.mark.sim
@pytest.mark.slow
def test_shell_and_accelerator_over_the_uart(ice_build: Path, tmp_path: Path) -> None:
    board = get_board("icebreaker")
    accel = load_rtl_project(ice_build / "rtl" / "accel")
    vectors = ice_build / "vectors"
    # 1.5 Mbaud at 12 MHz: 8 clocks per bit keeps the simulation short
    shell = emit_shell(board, accel, framing_of_vectors(vectors), tmp_path / "src",
                       baud=1_500_000)
    assert shell.params.clks_per_bit == 8
    build = tmp_path / "sim"
    accel.stage_memories(build)
    assert board.io is not None and board.io.reset is not None
    tb: dict[str, Any] = {
        "vectors": str(vectors), "frames": 6, "clks_per_bit": 8, "has_reset": True,
        "reset_active_low": board.io.reset.active_low, "leds": len(board.io.leds),
        "led_active_low": board.io.leds_active_low,
    }
    run_cocotb(
        toplevel=shell.top, sources=list(shell.sources), parameters={},
        test_module="rtl_sim.shell.test_uart_shell", simulator="icarus", build_dir=build,
        extra_env={"CS_TB_CONFIG": json.dumps(tb)},
    )


@pytest.mark.synth
@pytest.mark.slow
def test_icebreaker_bitstream(ice_build: Path, tmp_path: Path) -> None:
    res = run_bitstream(load_config(CONFIG), ice_build, "icebreaker")
    bs = res.results["bitstream"]
    assert bs["board"] == "icebreaker" and bs["flow"] == "open" and bs["timing_met"]
    assert bs["fmax_mhz"] >= 12.0
    assert 0 < bs["utilisation"]["ICESTORM_LC"]["used"] <= 5280
    binary = ice_build / bs["dir"] / bs["bitstream"]
    assert binary.suffix == ".bin" and binary.stat().st_size > 100_000  # a full UP5K image
    assert json.loads(res.results_path.read_text())["bitstream"]["fmax_mhz"] == bs["fmax_mhz"]
    # a second run reuses the step
    again = run_bitstream(load_config(CONFIG), ice_build, "icebreaker")
    assert again.results["bitstream"] == bs
    # the report's bitstream section: board, clock, fmax and utilisation of this build
    table = next(t for t in build_report([ice_build], tmp_path).tables if t.key == "bitstream")
    row = dict(zip(table.columns, table.rows[0], strict=True))
    assert (row["board"], row["flow"], row["status"]) == (
        "icebreaker", "open (Yosys + nextpnr)", "built")
    assert (row["clock (MHz)"], row["fmax (MHz)"]) == (fmt(bs["clock_mhz"]), fmt(bs["fmax_mhz"]))
    assert row["utilisation"].startswith("ICESTORM_LC ")


@pytest.mark.synth
@pytest.mark.slow
def test_ecp5_bitstream_for_the_ulx3s(ice_build: Path, tmp_path: Path) -> None:
    board = get_board("ulx3s")
    accel = load_rtl_project(ice_build / "rtl" / "accel")
    shell = emit_shell(board, accel, framing_of_vectors(ice_build / "vectors"), tmp_path / "src")
    res = run_open_flow(shell, accel, board, tmp_path / "ulx3s")
    assert res.timing_met and res.fmax_mhz is not None and res.fmax_mhz >= 25.0
    bit = tmp_path / "ulx3s" / res.bitstream
    assert bit.suffix == ".bit" and bit.stat().st_size > 10_000
    assert res.utilisation["TRELLIS_COMB"]["used"] > 0


@pytest.mark.synth
@pytest.mark.slow
def test_too_big_for_the_icebreaker_is_refused_before_place_and_route(
    ice_build: Path, tmp_path: Path
) -> None:
    data = load_config(CONFIG).model_dump(mode="json")
    data["fold"] = {"target_cycles": 16}  # 16x more MACs in parallel: ~4,500 LUT4
    with pytest.raises(FitError) as info:
        run_bitstream(parse_config(data), tmp_path, "icebreaker")
    message = str(info.value)
    assert "does not fit icebreaker" in message and "LUT (SB_LUT4) needs" in message
    assert "budget 4224 (80% of 5280 available)" in message and "fold more" in message
    assert not (tmp_path / "bitstream" / "icebreaker" / PNR_LOG).exists()
