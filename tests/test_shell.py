"""The UART shell's generated parts (board top, constraint files), its framing, and the
host client over a real pseudo-terminal (pyserial) with a scripted board on the far end."""

from __future__ import annotations

import json
import os
import pty
import threading
from pathlib import Path

import pytest
import serial

from codesign.backends.rtl import RtlProject
from codesign.board.registry import get_board
from codesign.board.shell import constraint_text, emit_shell, shell_params, top_source
from codesign.board.uart_client import BoardTimeoutError, exchange, run_on_board
from codesign.board.uart_framing import Framing, clocks_per_bit
from codesign.errors import ConfigError

FRAMING = Framing(in_bits=32, out_bits=80, words_in=16, words_out=2)


def test_framing_round_trips_little_endian() -> None:
    f = Framing(in_bits=12, out_bits=80, words_in=3, words_out=1)
    data = f.encode_frame([0xFFF, 0x001, 0xA5A])
    assert data == bytes([0xFF, 0x0F, 0x01, 0x00, 0x5A, 0x0A])
    word = (1 << 79) | 0x1234
    assert f.decode_frame(word.to_bytes(10, "little")) == [word]
    with pytest.raises(ValueError, match="does not fit 12 bits"):
        f.encode_frame([0x1000, 0, 0])
    with pytest.raises(ValueError, match="3 input words"):
        f.encode_frame([1, 2])
    with pytest.raises(ValueError, match="an answer has 10 bytes"):
        f.decode_frame(b"\0" * 9)


def test_clocks_per_bit_from_the_board_file() -> None:
    assert clocks_per_bit(25e6, 115200) == 217
    assert shell_params(get_board("icebreaker"), FRAMING).clks_per_bit == 104
    assert shell_params(get_board("tangnano9k"), FRAMING).clks_per_bit == 234
    with pytest.raises(ConfigError, match="off by"):
        clocks_per_bit(12e6, 1_800_000)  # 6.7 clocks per bit: 7 is 4.8 % slow
    with pytest.raises(ConfigError, match=r"has no io\.uart"):
        shell_params(get_board("zcu104"), FRAMING)


def test_constraint_files_per_family() -> None:
    pcf = constraint_text(get_board("icebreaker"))
    for line in ("set_io clk 35", "set_io uart_rx 6", "set_io uart_tx 9", "set_io rst_btn 10",
                 "set_io led[0] 11", "set_io led[1] 37"):
        assert line in pcf.splitlines()
    lpf = constraint_text(get_board("ulx3s")).splitlines()
    assert 'LOCATE COMP "clk" SITE "G2";' in lpf
    assert 'IOBUF PORT "uart_rx" PULLMODE=UP IO_TYPE=LVCMOS33;' in lpf
    assert 'FREQUENCY PORT "clk" 25 MHZ;' in lpf
    cst = constraint_text(get_board("tangnano9k")).splitlines()
    assert 'IO_LOC "clk" 52;' in cst and 'IO_PORT "led[0]" IO_TYPE=LVCMOS18;' in cst
    assert all(not line.startswith("#") for line in cst)  # .cst comments are //


def test_board_top_wires_every_pin(tmp_path: Path) -> None:
    board = get_board("ulx3s")
    params = shell_params(board, FRAMING)
    text = top_source(board, params, 32, 80)
    assert "output logic [7:0] led" in text and "input  logic rst_btn" in text
    assert ".CLKS_PER_BIT(217)" in text and ".IN_BITS(32)" in text and ".OUT_BITS(80)" in text
    assert ".RESET_ACTIVE_LOW(0)" in text  # ULX3S FIRE1 is active high
    assert "assign led[7] = 1'b0;" in text  # LEDs beyond the shell's two stay off
    top = tmp_path / "accel_top.sv"
    top.write_text("module accel_top; endmodule\n")
    proj = RtlProject(top="accel_top", top_file=top, sources=(top,), filelist=top,
                      memories=())
    shell = emit_shell(board, proj, FRAMING, tmp_path / "src")
    assert shell.constraints.name == "board.lpf"
    names = [s.name for s in shell.sources]
    assert names.count("cs_fifo.sv") == 1 and names[-1] == "board_top.sv"
    assert {"cs_uart_rx.sv", "cs_uart_tx.sv", "cs_uart_shell.sv"} <= set(names)


def _board_end(fd: int, framing: Framing, answers: list[list[int]], stop: int) -> None:
    """The far end of the pty: read each frame's bytes, answer with its words (only
    the first ``stop`` frames; then stay silent)."""
    for words in answers[:stop]:
        need = framing.frame_bytes_in
        got = b""
        while len(got) < need:
            got += os.read(fd, need - len(got))
        os.write(fd, b"".join(w.to_bytes(framing.out_bytes, "little") for w in words))


@pytest.mark.parametrize("stop", [3, 1])
def test_client_over_a_pty(stop: int) -> None:
    framing = Framing(in_bits=8, out_bits=12, words_in=4, words_out=2)
    frames = [[i, i + 1, i + 2, i + 3] for i in range(3)]
    expected = [[0x123, i] for i in range(3)]
    answers = [expected[0], [0x123, 7], expected[2]]  # the board gets frame 1 wrong
    controller, device = pty.openpty()
    name = os.ttyname(device)
    thread = threading.Thread(target=_board_end, args=(controller, framing, answers, stop),
                              daemon=True)
    thread.start()
    with serial.Serial(name, baudrate=115200, timeout=0.5) as port:
        if stop < len(frames):
            with pytest.raises(BoardTimeoutError, match="frame 1: the board sent 0 of 4"):
                exchange(port, framing, frames, expected, 115200)
        else:
            rep = exchange(port, framing, frames, expected, 115200)
            assert (rep.frames, rep.mismatches, rep.first_mismatch) == (3, 1, 1)
            assert rep.outputs == answers
    thread.join(timeout=5)
    os.close(controller)
    os.close(device)


def _fake_build(root: Path, framing: Framing, frames: list[list[int]],
                answers: list[list[int]]) -> None:
    """A build dir as `codesign bitstream` leaves it: vectors and the bitstream step."""
    vectors = root / "vectors"
    vectors.mkdir(parents=True)
    meta = {"in": {"tdata_bits": framing.in_bits, "words_per_frame": framing.words_in},
            "out": {"tdata_bits": framing.out_bits, "words_per_frame": framing.words_out},
            "files": {"input": "input.hex", "expected": "expected.hex"}}
    (vectors / "meta.json").write_text(json.dumps(meta))
    (vectors / "input.hex").write_text("".join(f"{w:x}\n" for f in frames for w in f))
    (vectors / "expected.hex").write_text("".join(f"{w:x}\n" for a in answers for w in a))
    step = {"status": "done", "result": {"board": "icebreaker", "shell": {"baud": 115200}}}
    (root / "manifest.json").write_text(json.dumps({"steps": {"bitstream": step}}))


def test_run_on_board_reads_the_build_and_talks_over_the_port(tmp_path: Path) -> None:
    framing = Framing(in_bits=16, out_bits=8, words_in=2, words_out=1)
    frames = [[0x1234, i] for i in range(4)]
    answers = [[i] for i in range(4)]
    _fake_build(tmp_path / "build", framing, frames, answers)
    controller, device = pty.openpty()
    name = os.ttyname(device)
    thread = threading.Thread(target=_board_end, args=(controller, framing, answers, 4),
                              daemon=True)
    thread.start()
    rep = run_on_board(tmp_path / "build", "icebreaker", name, frames=4)
    assert (rep.frames, rep.mismatches, rep.baud) == (4, 0, 115200)
    thread.join(timeout=5)
    os.close(controller)
    os.close(device)
    with pytest.raises(ConfigError, match="no open-flow bitstream for ulx3s"):
        run_on_board(tmp_path / "build", "ulx3s", name)
    with pytest.raises(ConfigError, match="no build directory"):
        run_on_board(tmp_path, "icebreaker", "/dev/null")


def test_run_hint_for_a_build_of_another_board_works_as_printed(tmp_path: Path) -> None:
    build = tmp_path / "build"
    build.mkdir()
    (build / "manifest.json").write_text(json.dumps({"config": {"board": "zcu104"},
                                                     "steps": {}}))
    with pytest.raises(ConfigError) as err:
        run_on_board(build, "icebreaker", "/dev/ttyUSB1")
    other = f"{build}-icebreaker"
    # the same --out would hold two designs: the hint names another directory for both
    assert f"`codesign bitstream CONFIG --board icebreaker --out {other}`" in str(err.value)
    assert f"`codesign run --board icebreaker --port /dev/ttyUSB1 --out {other}`" in str(
        err.value)


def test_place_route_and_pack_commands_per_family() -> None:
    from codesign.synth.nextpnr import nextpnr_command, pack_command

    exe = Path("/venv/bin/yowasp-nextpnr")
    ice = nextpnr_command(get_board("icebreaker"), exe, "board.pcf", 1)
    assert ice[1:4] == ["--up5k", "--package", "sg48"] and "--pcf" in ice and "--asc" in ice
    assert ice[ice.index("--freq") + 1] == "12" and "--timing-allow-fail" in ice
    ecp = nextpnr_command(get_board("ulx3s"), exe, "board.lpf", 1)
    assert ecp[1:9] == [
        "--85k", "--package", "CABGA381", "--speed", "6", "--router", "router2", "--json"]
    gw = nextpnr_command(get_board("tangnano9k"), exe, "board.cst", 1)
    assert "cst=board.cst" in gw and gw[gw.index("--write") + 1] == "pnr.json"
    for cmd in (ice, ecp, gw):  # the WebAssembly tools see only their folder
        assert not any(word.startswith("/") for word in cmd[1:])
    assert pack_command(get_board("tangnano9k"), Path("gowin_pack"))[1:] == [
        "-d", "GW1N-9C", "-o", "board.fs", "pnr.json"]
    assert pack_command(get_board("ulx3s"), Path("ecppack"))[1:] == [
        "--compress", "board.config", "--bit", "board.bit"]
