"""Board registry: data files, lookup by name, helpful errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesign.board.registry import Board, UnknownBoardError, get_board, list_boards, load_board
from codesign.errors import ConfigError


def test_zcu104_matches_the_references() -> None:
    board = get_board("zcu104")
    assert isinstance(board, Board)
    assert board.part == "xczu7ev-ffvc1156-2-e"
    assert board.family == "xcup"
    assert board.flow == "vivado"
    assert board.resources == {
        "LUT": 230400,
        "FF": 460800,
        "BRAM36": 312,
        "URAM": 96,
        "DSP": 1728,
    }
    assert board.limits == {"LUT": 0.7, "FF": 0.5, "BRAM36": 0.8, "URAM": 0.8, "DSP": 0.8}
    assert board.budget() == {
        "LUT": 161280,
        "FF": 230400,
        "BRAM36": 249,
        "URAM": 76,
        "DSP": 1382,
    }
    assert board.clock_mhz > 0
    assert board.clock_period_ns == pytest.approx(1000.0 / board.clock_mhz)


def test_open_board_is_registered() -> None:
    assert {"zcu104", "icebreaker"} <= set(list_boards())
    ice = get_board("icebreaker")
    assert ice.family == "ice40"
    assert ice.flow == "open"
    assert ice.resources["LUT"] == 5280
    assert ice.io is not None and ice.io.uart is not None
    assert ice.io.clock.site == "35" and ice.io.uart.rx.site == "6"


EXPECTED = {  # name: (part, family, flow, LUT, DSP), from the data sheets the files cite
    "zcu104": ("xczu7ev-ffvc1156-2-e", "xcup", "vivado", 230400, 1728),
    "kv260": ("xck26-sfvc784-2LV-c", "xcup", "vivado", 117120, 1248),
    "ultra96v2": ("xczu3eg-sbva484-1-i", "xcup", "vivado", 70560, 360),
    "pynqz2": ("xc7z020clg400-1", "xc7", "vivado", 53200, 220),
    "icebreaker": ("iCE40UP5K-SG48", "ice40", "open", 5280, 8),
    "ulx3s": ("LFE5U-85F-6BG381C", "ecp5", "open", 83640, 156),
    "tangnano9k": ("GW1NR-LV9QN88PC6/I5", "gowin", "open", 8640, 20),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_board(name: str) -> None:
    board = get_board(name)
    part, family, flow, luts, dsps = EXPECTED[name]
    assert (board.part, board.family, board.flow) == (part, family, flow)
    assert (board.resources["LUT"], board.resources["DSP"]) == (luts, dsps)
    assert set(board.units()) == set(board.resources)
    # FINN's estimates always get a Xilinx part
    assert board.finn_part.startswith("xc")
    if flow == "vivado":
        assert board.vivado is not None and board.vivado.board_part
        assert board.vivado.ps == ("processing_system7" if family == "xc7" else "zynq_ultra_ps_e")
    else:
        assert board.io is not None and board.io.uart is not None and board.nextpnr


def test_lookup_is_case_insensitive_and_cached() -> None:
    assert get_board("ZCU104") is get_board("zcu104")


def test_unknown_board_lists_known_ones() -> None:
    with pytest.raises(UnknownBoardError) as info:
        get_board("pynq-z9")
    message = str(info.value)
    assert "pynq-z9" in message
    for name in list_boards():
        assert name in message
    assert isinstance(info.value, ConfigError)


def test_board_is_frozen() -> None:
    board = get_board("zcu104")
    with pytest.raises(Exception):  # noqa: B017 - pydantic's frozen-instance error
        board.part = "xc7z020"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


GOOD = """
name: {name}
vendor: xilinx
part: xc7z020clg400-1
family: xc7
clock_mhz: 100
flow: vivado
resources: {{LUT: 53200, FF: 106400, BRAM36: 140, DSP: 220}}
limits: {{LUT: 0.7}}
"""


def test_load_board_validates(tmp_path: Path) -> None:
    board = load_board(_write(tmp_path, "pynqz2", GOOD.format(name="pynqz2")))
    assert board.budget()["LUT"] == 37240
    assert board.budget()["DSP"] == 220  # no limit given: 100%

    with pytest.raises(ConfigError, match="must equal the file name"):
        load_board(_write(tmp_path, "other", GOOD.format(name="pynqz2")))

    bad_limit = GOOD.format(name="b1").replace("{LUT: 0.7}", "{URAM: 0.5}")
    with pytest.raises(ConfigError, match=r"limits\.URAM names no resource"):
        load_board(_write(tmp_path, "b1", bad_limit))

    bad_flow = GOOD.format(name="b2").replace("flow: vivado", "flow: quartus")
    with pytest.raises(ConfigError, match="flow"):
        load_board(_write(tmp_path, "b2", bad_flow))

    open_xilinx = GOOD.format(name="b5").replace("flow: vivado", "flow: open")
    with pytest.raises(ConfigError, match="does not build xilinx parts; use flow vivado"):
        load_board(_write(tmp_path, "b5", open_xilinx))

    lattice = (
        GOOD.format(name="b6").replace("vendor: xilinx", "vendor: lattice")
        .replace("flow: vivado", "flow: open").replace("family: xc7", "family: ecp5")
    )
    with pytest.raises(ConfigError, match=r"needs io\.clock and io\.uart"):
        load_board(_write(tmp_path, "b6", lattice))
    with_io = lattice + "io: {clock: G2, uart: {rx: M1, tx: L4}}\n"
    with pytest.raises(ConfigError, match="estimate_part is required"):
        load_board(_write(tmp_path, "b6", with_io))
    ok = load_board(_write(tmp_path, "b6", with_io + "estimate_part: xc7z020clg400-1\n"))
    assert ok.io is not None and ok.io.uart is not None and ok.io.uart.baud == 115200

    bad_pcf = with_io + "estimate_part: xc7z020clg400-1\nconstraints: ../../etc/passwd.lpf\n"
    with pytest.raises(ConfigError, match="must be a file name"):
        load_board(_write(tmp_path, "b6", bad_pcf))
    lpf = with_io + "estimate_part: xc7z020clg400-1\nconstraints: b6.lpf\n"
    board = load_board(_write(tmp_path, "b6", lpf))
    with pytest.raises(ConfigError, match="not found"):
        board.constraints_file()
    (tmp_path / "b6.lpf").write_text('LOCATE COMP "clk" SITE "G2";\n')
    assert board.constraints_file() == tmp_path / "b6.lpf"

    bad_pin = with_io.replace("rx: M1", "rx: 'M1; evil'")
    with pytest.raises(ConfigError, match=r"io\.uart\.rx"):
        load_board(_write(tmp_path, "b6", bad_pin + "estimate_part: xc7z020clg400-1\n"))

    extra = GOOD.format(name="b3") + "speed_grade: 2\n"
    with pytest.raises(ConfigError, match="speed_grade"):
        load_board(_write(tmp_path, "b3", extra))

    with pytest.raises(ConfigError, match="mapping"):
        load_board(_write(tmp_path, "b4", "- just a list\n"))


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    evil = GOOD.format(name="evil") + "x: !!python/object/apply:os.system ['true']\n"
    with pytest.raises(ConfigError, match=r"evil\.yaml is not valid YAML: line \d+, column \d+: "
                       r"tag '!!python/object/apply:os.system' is not allowed"):
        load_board(_write(tmp_path, "evil", evil))
