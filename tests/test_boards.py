"""Board registry: data files, lookup by name, helpful errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from codesign.boards import Board, UnknownBoardError, get_board, list_boards, load_board
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
    assert ice.flow == "nextpnr-ice40"
    assert ice.resources["LUT"] == 5280


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
