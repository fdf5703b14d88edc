"""The Vivado flow: project Tcl under recording stubs, report parsers, the PYNQ driver."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from vivado_report_samples import TIMING_FAILED, TIMING_MET, UTIL_HIER, UTIL_Z7, UTIL_ZU

from codesign.backends.words import pack_words, unpack_words
from codesign.board.deploy import write_deployment
from codesign.board.deploy.driver import Accelerator, Stream, pack, unpack
from codesign.board.registry import get_board
from codesign.dataflow.graph import StreamGraph, chain, run_reference
from codesign.dataflow.kernels import KernelInstance, StreamFormat
from codesign.errors import ConfigError
from codesign.synth.vivado import (
    VivadoError,
    VivadoProject,
    build_vivado,
    dma_width,
    write_vivado_project,
)
from codesign.synth.vivado_reports import (
    ReportError,
    parse_hierarchical_utilization,
    parse_timing_summary,
    parse_utilization,
)

STUBS = Path(__file__).with_name("vivado_stubs.tcl")
TCLSH = shutil.which("tclsh")
needs_tclsh = pytest.mark.skipif(TCLSH is None, reason="tclsh missing: make setup installs tcl")

def _fifo(node: str, fmt: StreamFormat, words: int) -> KernelInstance:
    return KernelInstance(
        node=node, kind="fifo", op_type="StreamingFIFO", module="cs_fifo",
        params={"WIDTH": fmt.tdata_bits, "DEPTH": 4}, inputs=(fmt,), outputs=(fmt,),
        words_in=(words,), words_out=(words,), est_cycles=words,
    )


def small_graph() -> StreamGraph:
    """FIFO (3 signed 7-bit elements a word: 21 bits, a 32-bit DMA beat) -> width
    converter to one element a word -> FIFO: 9 one-byte output words a frame, a frame
    that is no multiple of the DMA's 4-byte memory width."""
    wide, narrow = StreamFormat(7, 3, True), StreamFormat(7, 1, True)
    dwc = KernelInstance(
        node="dwc", kind="dwc", op_type="StreamingDataWidthConverter", module="cs_dwc",
        params={"IN_ELEMS": 3, "OUT_ELEMS": 1, "ELEM_BITS": 7}, inputs=(wide,),
        outputs=(narrow,), words_in=(3,), words_out=(9,), est_cycles=9,
    )
    return chain("small", [_fifo("f0", wide, 3), dwc, _fifo("f1", narrow, 9)])


# ------------------------------------------------------------------ the stub run


def run_stubs(project: VivadoProject, tmp: Path) -> tuple[subprocess.CompletedProcess[str],
                                                           list[list[str]]]:
    log = tmp / "calls.log"
    proc = subprocess.run(
        [str(TCLSH), str(STUBS), str(log), str(project.build_tcl), "2"],
        cwd=project.dir, capture_output=True, text=True, timeout=60, check=False,
    )
    calls = [line.split("\t") for line in log.read_text().splitlines()] if log.exists() else []
    return proc, calls


def nets(calls: list[list[str]]) -> list[set[str]]:
    """Nets of the recorded connect_bd_net calls (a call naming a pin already in a net
    joins it)."""
    out: list[set[str]] = []
    for c in calls:
        if c[0] != "connect_bd_net":
            continue
        pins = set(c[1:])
        joined = [n for n in out if n & pins]
        for n in joined:
            out.remove(n)
            pins |= n
        out.append(pins)
    return out


def config(calls: list[list[str]]) -> dict[str, dict[str, str]]:
    cfg: dict[str, dict[str, str]] = defaultdict(dict)
    for c in calls:
        if c[0] == "set_property" and c[1].startswith("CONFIG."):
            cfg[c[3]][c[1][7:]] = c[2]
    return cfg


@needs_tclsh
@pytest.mark.parametrize("board", ["zcu104", "kv260", "ultra96v2", "pynqz2"])
def test_project_tcl_under_stubs(board: str, tmp_path: Path) -> None:
    target = get_board(board)
    project = write_vivado_project(small_graph(), target, tmp_path / "vivado")
    proc, calls = run_stubs(project, tmp_path)
    assert proc.returncode == 0, proc.stderr
    ultra = target.family == "xcup"
    ps_ip = "zynq_ultra_ps_e" if ultra else "processing_system7"

    assert calls[0][:2] == ["create_project", "codesign_accel"]
    assert calls[0][calls[0].index("-part") + 1] == target.part
    cells = {c[3]: c[2] for c in calls if c[0] == "create_bd_cell"}
    assert cells == {"ps": ps_ip, "dma": "axi_dma", "accel": "codesign_accel",
                     "ctrl_sc": "smartconnect", "mem_sc": "smartconnect",
                     "rst": "proc_sys_reset"}

    # every source of the project folder went in (the stubs checked that each exists)
    added = {Path(f) for c in calls if c[0] == "add_files" for f in c[2:]}
    on_disk = {p for p in (project.dir / "rtl").rglob("*") if p.is_file()}
    assert on_disk <= added and project.constraints in added

    hp, gp = ("S_AXI_HP0_FPD", "M_AXI_HPM0_FPD") if ultra else ("S_AXI_HP0", "M_AXI_GP0")
    intf = {(c[1], c[2]) for c in calls if c[0] == "connect_bd_intf_net"}
    assert intf == {
        ("dma/M_AXIS_MM2S", "accel/s_axis"), ("accel/m_axis", "dma/S_AXIS_S2MM"),
        (f"ps/{gp}", "ctrl_sc/S00_AXI"), ("ctrl_sc/M00_AXI", "dma/S_AXI_LITE"),
        ("dma/M_AXI_MM2S", "mem_sc/S00_AXI"), ("dma/M_AXI_S2MM", "mem_sc/S01_AXI"),
        ("mem_sc/M00_AXI", f"ps/{hp}"),
    }
    clk, rstn = ("ps/pl_clk0", "ps/pl_resetn0") if ultra else ("ps/FCLK_CLK0", "ps/FCLK_RESET0_N")
    port_clks = ({"ps/maxihpm0_fpd_aclk", "ps/saxihp0_fpd_aclk"} if ultra
                 else {"ps/M_AXI_GP0_ACLK", "ps/S_AXI_HP0_ACLK"})
    by_pin = {p: frozenset(n) for n in nets(calls) for p in n}
    assert by_pin[clk] == {clk, *port_clks, "dma/s_axi_lite_aclk", "dma/m_axi_mm2s_aclk",
                           "dma/m_axi_s2mm_aclk", "ctrl_sc/aclk", "mem_sc/aclk",
                           "rst/slowest_sync_clk", "accel/ap_clk"}
    assert by_pin[rstn] == {rstn, "rst/ext_reset_in"}
    assert by_pin["accel/ap_rst_n"] == {"rst/peripheral_aresetn", "dma/axi_resetn",
                                        "accel/ap_rst_n"}
    assert by_pin["mem_sc/aresetn"] == {"rst/interconnect_aresetn", "ctrl_sc/aresetn",
                                        "mem_sc/aresetn"}

    cfg = config(calls)
    assert cfg["dma"]["c_include_sg"] == "0"
    assert (cfg["dma"]["c_m_axis_mm2s_tdata_width"], cfg["dma"]["c_s_axis_s2mm_tdata_width"]) \
        == ("32", "8")
    freq = "PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ" if ultra else "PCW_FPGA0_PERIPHERAL_FREQMHZ"
    assert float(cfg["ps"][freq]) == target.clock_mhz
    hz = {c[3]: c[2] for c in calls if c[:2] == ["set_property", "CONFIG.FREQ_HZ"]}
    assert hz == dict.fromkeys(("accel/ap_clk", "accel/s_axis", "accel/m_axis"),
                               str(int(target.clock_mhz * 1e6)))
    auto = [c for c in calls if c[0] == "apply_bd_automation"]
    assert target.vivado is not None and target.vivado.board_part is not None
    board_part = [c for c in calls if c[:2] == ["set_property", "board_part"]]
    assert [c[2] for c in board_part] == [target.vivado.board_part]
    assert len(auto) == 1 and 'apply_board_preset "1"' in auto[0][2]
    if not ultra:  # the Zynq-7000 PS's DDR and MIO pins are always made external
        assert 'make_external "FIXED_IO, DDR"' in auto[0][2]

    steps = [c[0] for c in calls]
    order = ["validate_bd_design", "make_wrapper", "launch_runs", "open_run",
             "report_utilization", "report_timing_summary", "write_bitstream"]
    assert [steps.index(s) for s in order] == sorted(steps.index(s) for s in order)
    assert project.bitstream.is_file() and project.hwh.is_file()


@needs_tclsh
@pytest.mark.parametrize(("edit", "message"), [
    # the HP port left disabled, a pin name misspelt, the SystemVerilog top referenced,
    # a DMA stream width the IP does not have, an unknown command
    ("CONFIG.PSU__USE__S_AXI_GP2 {1}", "S_AXI_HP0_FPD is not enabled"),
    ("dma/S_AXIS_S2MM]", "axi_dma has no port S_AXIS_S2M"),
    ("-reference codesign_accel", "defined in .sv"),
    ("CONFIG.c_m_axis_mm2s_tdata_width {32}", "is not a DMA width"),
    ("assign_bd_address", "not a Vivado command the stubs know: assign_bd_adress"),
])
def test_stubs_refuse_a_broken_project(edit: str, message: str, tmp_path: Path) -> None:
    project = write_vivado_project(small_graph(), get_board("zcu104"), tmp_path / "vivado")
    text = project.project_tcl.read_text()
    assert edit in text
    broken = {
        "CONFIG.PSU__USE__S_AXI_GP2 {1}": "CONFIG.PSU__USE__S_AXI_GP2 {0}",
        "dma/S_AXIS_S2MM]": "dma/S_AXIS_S2M]",
        "-reference codesign_accel": "-reference accel_top",
        "CONFIG.c_m_axis_mm2s_tdata_width {32}": "CONFIG.c_m_axis_mm2s_tdata_width {24}",
        "assign_bd_address": "assign_bd_adress",
    }[edit]
    project.project_tcl.write_text(text.replace(edit, broken, 1))
    proc, _ = run_stubs(project, tmp_path)
    assert proc.returncode != 0
    assert message in proc.stderr


def test_open_boards_and_wide_streams_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="icebreaker uses the open flow"):
        write_vivado_project(small_graph(), get_board("icebreaker"), tmp_path)
    assert [dma_width(b) for b in (1, 8, 9, 33, 1024)] == [8, 8, 16, 64, 1024]
    with pytest.raises(VivadoError, match="1032 bits wide; the AXI DMA moves at most 1024"):
        dma_width(1032)


def test_without_vivado_the_command_is_named(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("codesign.synth.vivado.find_tool", lambda name: None)
    build = build_vivado(small_graph(), get_board("zcu104"), tmp_path / "vivado")
    assert not build.ran
    assert "vivado is not on PATH" in build.message and "-source build.tcl" in build.message
    assert json.loads(build.results_path.read_text())["status"] == "project_only"
    deploy = tmp_path / "deploy"
    meta = json.loads(write_deployment(build.project, "small", deploy).read_text())
    assert not meta["built"] and (deploy / "driver.py").is_file()
    assert sorted(p.name for p in deploy.glob("*.MISSING")) == [
        "codesign_accel.bit.MISSING", "codesign_accel.hwh.MISSING"]
    assert not (deploy / "codesign_accel.bit").exists()


FAKE_VIVADO = """#!{python}
# Stand-in for vivado in a test of the runner (it is not Vivado): checks the command
# line, then writes what build.tcl would: the reports (hand-written samples) and outputs.
import sys, pathlib
args = sys.argv[1:]
assert args[:5] == ["-mode", "batch", "-notrace", "-source", "build.tcl"], args
here = pathlib.Path.cwd()
assert (here / "build.tcl").is_file() and (here / "project.tcl").is_file()
samples = {samples!r}
(here / "reports").mkdir()
(here / "out").mkdir()
for name, text in samples.items():
    (here / "reports" / name).write_text(text)
(here / "out" / "codesign_accel.bit").write_bytes(b"bit")
(here / "out" / "codesign_accel.hwh").write_text("<hwh/>")
"""


@pytest.mark.parametrize("timing", [TIMING_MET, TIMING_FAILED])
def test_runner_parses_reports_into_results(timing: str, tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    exe = tmp_path / "bin" / "vivado"
    samples = {"utilization.rpt": UTIL_ZU, "utilization_hier.rpt": UTIL_HIER,
               "timing_summary.rpt": timing}
    exe.write_text(FAKE_VIVADO.format(python=sys.executable, samples=samples))
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    build = build_vivado(small_graph(), get_board("zcu104"), tmp_path / "vivado", vivado=exe)
    assert build.ran
    res = json.loads(build.results_path.read_text())
    assert res["utilization"]["LUT"]["used"] == 7412
    assert res["accelerator"]["Total LUTs"] == 2210
    assert res["status"] == ("built" if timing is TIMING_MET else "timing_failed")
    meta = json.loads(write_deployment(build.project, "small", tmp_path / "deploy").read_text())
    assert meta["built"] and (tmp_path / "deploy" / "codesign_accel.hwh").read_text() == "<hwh/>"


# ------------------------------------------------------------------ report parsers


def test_utilization_ultrascale_and_7series() -> None:
    zu = parse_utilization(UTIL_ZU)
    assert zu["LUT"] == {"used": 7412, "available": 230400, "percent": 3.22}
    assert zu["FF"]["used"] == 9101  # flip-flops, not the 4 latches
    assert zu["BRAM36"] == {"used": 4.5, "available": 312, "percent": 1.44}
    assert zu["URAM"]["used"] == 0 and zu["DSP"]["used"] == 2
    assert (zu["device"], zu["design_state"]) == ("xczu7ev-ffvc1156-2-e", "Routed")
    z7 = parse_utilization(UTIL_Z7)
    assert (z7["LUT"]["used"], z7["FF"]["used"], z7["BRAM36"]["used"], z7["DSP"]["used"]) \
        == (5120, 6100, 3, 0)
    assert "URAM" not in z7
    with pytest.raises(ReportError, match="no utilisation table"):
        parse_utilization("nothing here")


def test_hierarchical_utilization() -> None:
    rows = parse_hierarchical_utilization(UTIL_HIER)
    assert [(r["instance"], r["depth"]) for r in rows] == [
        ("accel_bd_wrapper", 0), ("accel_bd_i", 1), ("accel", 2), ("dma", 2), ("mem_sc", 2)]
    accel = rows[2]
    assert (accel["module"], accel["FFs"], accel["DSP Blocks"]) == ("accel_bd_accel_0", 1530, 0)


def test_timing_summary() -> None:
    met = parse_timing_summary(TIMING_MET)
    assert met["met"] and met["wns_ns"] == 0.412 and met["tns_failing_endpoints"] == 0
    assert met["clocks"] == [{"name": "clk_pl_0", "waveform": "{0.000 2.500}",
                              "period_ns": 5.0, "freq_mhz": 200.0}]
    assert met["fmax_mhz"] == round(1000 / (5.0 - 0.412), 3)
    bad = parse_timing_summary(TIMING_FAILED)
    assert not bad["met"] and bad["wns_ns"] == -0.837 and bad["tns_failing_endpoints"] == 112
    assert bad["fmax_mhz"] == round(1000 / 5.837, 3)
    with pytest.raises(ReportError, match="Design Timing Summary"):
        parse_timing_summary(UTIL_ZU)


# ------------------------------------------------------------------ the driver's packing


def _dma_bytes(words: list[int], dma_bits: int) -> np.ndarray:
    """Stream words as the DMA puts them in memory: one little-endian beat a word."""
    return np.frombuffer(b"".join(w.to_bytes(dma_bits // 8, "little") for w in words), np.uint8)


@pytest.mark.parametrize(("bits", "elems", "signed"), [
    (1, 8, False), (4, 3, True), (7, 3, True), (8, 4, False), (16, 5, True), (12, 11, False),
    (32, 2, True), (3, 1, True),
])
def test_driver_packs_like_the_testbench(bits: int, elems: int, signed: bool) -> None:
    rng = np.random.default_rng(bits * 31 + elems)
    tdata = max(8, (bits * elems + 7) // 8 * 8)
    s = Stream(elem_bits=bits, elems=elems, signed=signed, dma_bits=dma_width(tdata),
               words_per_frame=5, mm_bits=max(32, dma_width(tdata)))
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    x = rng.integers(lo, hi, size=(3, s.values_per_frame), endpoint=True)
    words = pack_words(x, bits, elems)  # the testbench's words (vectors' input.hex)
    got = pack(x, s)
    assert got.shape == (3, s.frame_bytes)
    assert np.array_equal(got.reshape(-1), _dma_bytes(words, s.dma_bits))
    assert np.array_equal(unpack(got, s).reshape(-1), unpack_words(words, bits, elems, signed))
    assert np.array_equal(unpack(got, s), x)
    with pytest.raises(ValueError, match="range"):
        pack(np.full((1, s.values_per_frame), hi + 1), s)


class _FakeDevice:
    """The block design as the driver sees it, for a host-side run: the DMA channels
    move bytes; the 'fabric' keeps each beat's low tdata bits (the wrapper), runs the
    graph's reference on the words and returns one frame per receive transfer."""

    def __init__(self, graph: StreamGraph, inp: Stream, out: Stream) -> None:
        self.graph, self.inp, self.out = graph, inp, out
        self.frames: list[np.ndarray] = []
        self.dma = self
        self.sendchannel = _Channel(self._send)
        self.recvchannel = _Channel(self._recv)

    def _send(self, buf: np.ndarray, start: int, nbytes: int) -> None:
        fi = self.graph.inp
        beats = buf.reshape(-1, self.inp.dma_bits // 8)
        words = [int.from_bytes(b.tobytes(), "little") & ((1 << fi.tdata_bits) - 1)
                 for b in beats]
        x = unpack_words(words, fi.elem_bits, fi.elems, fi.signed).reshape(
            -1, self.inp.values_per_frame)
        self.frames = list(run_reference(self.graph, x))

    def _recv(self, buf: np.ndarray, start: int, nbytes: int) -> None:
        assert start % (self.out.mm_bits // 8) == 0, "S2MM address not aligned"
        fo = self.graph.out
        y = self.frames.pop(0)
        data = _dma_bytes(pack_words(y, fo.elem_bits, fo.elems), self.out.dma_bits)
        assert nbytes == len(data)
        buf[start:start + nbytes] = data


class _Channel:
    def __init__(self, fn: object) -> None:
        self.fn = fn

    def transfer(self, buf: np.ndarray, start: int = 0, nbytes: int = 0) -> None:
        self.fn(buf, start, nbytes or len(buf) - start)  # type: ignore[operator]

    def wait(self) -> None:
        return None


def test_driver_runs_against_a_model_of_the_board(tmp_path: Path) -> None:
    graph = small_graph()
    project = write_vivado_project(graph, get_board("zcu104"), tmp_path / "vivado")
    write_deployment(project, "small", tmp_path / "deploy", shape_in=(3, 3), shape_out=(9,))
    meta = json.loads((tmp_path / "deploy" / "packing.json").read_text())
    inp, out = Stream.from_json(meta["in"]), Stream.from_json(meta["out"])
    assert (out.frame_bytes, out.slot_bytes) == (9, 12)
    dev = _FakeDevice(graph, inp, out)
    acc = Accelerator(tmp_path / "deploy", overlay=dev,
                      allocate=lambda shape, dtype: np.zeros(shape, dtype))
    x = np.random.default_rng(0).integers(-64, 63, size=(5, 3, 3), endpoint=True)
    y = acc.run(x)
    assert np.array_equal(y, run_reference(graph, x.reshape(5, -1)))
    # a DMA whose length register holds 2 frames (24 of 31 bytes): 3 batches, same result
    acc.max_frames = ((1 << 5) - 1) // inp.frame_bytes
    assert acc.max_frames == 2 and np.array_equal(acc.run(x), y)
    with pytest.raises(FileNotFoundError, match=r"codesign_accel\.bit is missing"):
        Accelerator(tmp_path / "deploy")


def test_driver_imports_without_pynq(tmp_path: Path) -> None:
    """The board imports the copied driver file alone: no codesign there, and pynq only
    once an overlay is loaded."""
    shutil.copyfile(Path(sys.modules[Accelerator.__module__].__file__ or ""),
                    tmp_path / "driver.py")
    code = ("import sys; sys.path.insert(0, '.'); import driver; "
            "assert 'pynq' not in sys.modules, 'pynq imported'; "
            "assert not [k for k in sys.modules if k.startswith('codesign')], 'codesign imported'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60, cwd=tmp_path)


# ------------------------------------------------------------------ the wrapper in Icarus

WRAPPER_TB = """
// The block-design wrapper streamed like the DMA does: beats with random bits above
// the accelerator's word (they must be ignored), random output stalls; every output
// beat is printed with its TLAST.
module tb;
  reg clk = 0, rst_n = 0;
  always #5 clk = ~clk;
  reg  [{IN_DMA}-1:0] beats [0:{N_IN}-1];
  reg  [{IN_DMA}-1:0] s_tdata;
  reg  s_tvalid = 0;
  wire s_tready;
  wire [{OUT_DMA}-1:0] m_tdata;
  wire [{OUT_DMA}/8-1:0] m_tkeep;
  wire m_tvalid, m_tlast;
  reg  m_tready = 0;
  integer i = 0, got = 0, seed = 7;
  codesign_accel dut (
    .ap_clk(clk), .ap_rst_n(rst_n),
    .s_axis_tdata(s_tdata), .s_axis_tvalid(s_tvalid), .s_axis_tready(s_tready),
    .s_axis_tlast(1'b0),
    .m_axis_tdata(m_tdata), .m_axis_tvalid(m_tvalid), .m_axis_tready(m_tready),
    .m_axis_tlast(m_tlast), .m_axis_tkeep(m_tkeep));
  initial begin
    $readmemh("beats.hex", beats);
    repeat (3) @(posedge clk);
    rst_n = 1;
  end
  always @(posedge clk) if (rst_n) begin
    if (s_tvalid && s_tready) i = i + 1;
    s_tvalid <= (i < {N_IN}) && ($random(seed) & 1);
    s_tdata <= beats[i];
    if (m_tvalid && m_tready) begin
      $display("OUT %h %0d %h", m_tdata, m_tlast, m_tkeep);
      got = got + 1;
      if (got == {N_OUT}) $finish;
    end
    m_tready <= $random(seed) & 1;
  end
  initial begin #200000 $display("TIMEOUT"); $finish; end
endmodule
"""


def test_wrapper_pads_and_closes_frames_in_simulation(tmp_path: Path) -> None:
    iverilog = shutil.which("iverilog")
    assert iverilog is not None, "iverilog is installed by make setup"
    graph = small_graph()
    project = write_vivado_project(graph, get_board("zcu104"), tmp_path / "vivado")
    inp, out = project.inp, project.out
    frames = 3
    rng = np.random.default_rng(1)
    x = rng.integers(-64, 63, size=(frames, inp.words_per_frame * inp.elems), endpoint=True)
    words = pack_words(x, inp.elem_bits, inp.elems)
    junk = rng.integers(0, 1 << (inp.dma_bits - inp.tdata_bits), size=len(words))
    beats = [w | (int(j) << inp.tdata_bits) for w, j in zip(words, junk, strict=True)]
    (tmp_path / "beats.hex").write_text("".join(f"{b:x}\n" for b in beats))
    n_out = frames * out.words_per_frame
    (tmp_path / "tb.v").write_text(WRAPPER_TB.format(
        IN_DMA=inp.dma_bits, OUT_DMA=out.dma_bits, N_IN=len(beats), N_OUT=n_out))
    srcs = [str(p) for p in project.sources]
    subprocess.run([iverilog, "-g2012", "-o", "tb.vvp", "-s", "tb", "tb.v", *srcs],
                   cwd=tmp_path, check=True, timeout=120)
    run = subprocess.run(["vvp", "-n", "tb.vvp"], cwd=tmp_path, capture_output=True,
                         text=True, check=True, timeout=120)
    lines = [line.split() for line in run.stdout.splitlines() if line.startswith("OUT")]
    assert "TIMEOUT" not in run.stdout and len(lines) == n_out
    want = pack_words(run_reference(graph, x), out.elem_bits, out.elems)
    assert [int(t, 16) for _, t, _, _ in lines] == want  # zero-extended: no pad bits set
    last = [int(tl) for _, _, tl, _ in lines]
    assert last == [int((k + 1) % out.words_per_frame == 0) for k in range(n_out)]
    assert {int(k, 16) for *_, k in lines} == {(1 << (out.dma_bits // 8)) - 1}


# ------------------------------------------------------------------ a real design

SMALL = {
    "name": "vivado_small",
    "model": {"hidden": [16]},
    "quant": {"method": "a2q", "act_bits": 4, "acc_bits": 16},
    "train": {"epochs": 3, "seed": 0},
    "fold": {"target_cycles": 16},
}


@pytest.fixture(scope="module")
def real_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[VivadoProject, Path, Path]:
    """A trained, lowered MLP (thresholds and weights in ROM files), its Vivado project
    and deployment folder, and the test vectors the cocotb testbench streams."""
    from codesign.backends.vectors import write_vectors
    from codesign.config import parse_config
    from codesign.dataflow.graph import read_graph
    from codesign.dataflow.lower import execute_dataflow, load_lowered
    from codesign.flow.runner import run_flow
    from codesign.frontend.data import load_digits_split

    out = tmp_path_factory.mktemp("flow")
    run_flow(parse_config(SMALL), out, until="lower")
    manifest = json.loads((out / "manifest.json").read_text())
    model = load_lowered(out / manifest["steps"]["lower"]["result"]["dataflow"])
    graph = read_graph(model, name="vivado_small")
    x = load_digits_split(8, seed=0).x_test[:16]
    write_vectors(graph, x, execute_dataflow(model, x), out / "vectors")
    project = write_vivado_project(graph, get_board("zcu104"), out / "vivado")
    write_deployment(project, graph.name, out / "deploy", shape_in=(64,))
    return project, out / "vectors", out / "deploy"


@needs_tclsh
def test_real_design_under_stubs(real_build: tuple[VivadoProject, Path, Path],
                                 tmp_path: Path) -> None:
    project = real_build[0]
    assert project.memories, "the MLP has ROM files"
    proc, calls = run_stubs(project, tmp_path)
    assert proc.returncode == 0, proc.stderr
    added = {Path(f) for c in calls if c[0] == "add_files" for f in c[2:]}
    assert set(project.memories) <= added and set(project.sources) <= added
    # the ROM files are named in the top by base name, as Vivado resolves project files
    top = (project.dir / "rtl" / "accel_top.sv").read_text()
    bases = {re.sub(r"_s[0-9a-f]_p[0-9a-f]{4}\.mem$", "", m.name) for m in project.memories}
    assert all(f'"{b}"' in top for b in bases)


def test_driver_against_the_testbench_vectors(real_build: tuple[VivadoProject, Path, Path]
                                              ) -> None:
    """The driver's DMA bytes are the words of the vectors the cocotb testbench streams
    (input.hex), and the words the testbench expects (expected.hex) unpack to what the
    graph computes; a run through a board model that replays the vectors gives them."""
    from codesign.backends.vectors import read_hex

    _, vectors, deploy = real_build
    vmeta = json.loads((vectors / "meta.json").read_text())
    meta = json.loads((deploy / "packing.json").read_text())
    inp, out = Stream.from_json(meta["in"]), Stream.from_json(meta["out"])
    assert (inp.words_per_frame, out.words_per_frame) == (
        vmeta["in"]["words_per_frame"], vmeta["out"]["words_per_frame"])
    assert meta["in"]["tdata_bits"] == vmeta["in"]["tdata_bits"]
    frames = vmeta["frames"]
    in_words, out_words = read_hex(vectors / "input.hex"), read_hex(vectors / "expected.hex")
    x = unpack(_dma_bytes(in_words, inp.dma_bits), inp)
    assert x.shape == (frames, 64) and np.array_equal(x, load_digits_x(frames))
    assert np.array_equal(pack(x, inp).reshape(-1), _dma_bytes(in_words, inp.dma_bits))

    class Replay:
        def __init__(self) -> None:
            self.dma = self
            self.sendchannel = _Channel(self.send)
            self.recvchannel = _Channel(self.recv)
            self.frame = 0

        def send(self, buf: np.ndarray, start: int, nbytes: int) -> None:
            assert np.array_equal(buf, _dma_bytes(in_words, inp.dma_bits))

        def recv(self, buf: np.ndarray, start: int, nbytes: int) -> None:
            w = out.words_per_frame
            data = _dma_bytes(out_words[self.frame * w:(self.frame + 1) * w], out.dma_bits)
            buf[start:start + nbytes] = data
            self.frame += 1

    acc = Accelerator(deploy, overlay=Replay(),
                      allocate=lambda shape, dtype: np.zeros(shape, dtype))
    y = acc.run(x.reshape(frames, 8, 8))
    want = unpack_words(out_words, vmeta["out"]["elem_bits"], vmeta["out"]["elems"],
                        vmeta["out"]["signed"]).reshape(frames, -1)
    assert np.array_equal(y, want)


def load_digits_x(frames: int) -> np.ndarray:
    from codesign.frontend.data import load_digits_split

    return np.asarray(load_digits_split(8, seed=0).x_test[:frames]).reshape(frames, -1)


@pytest.mark.vivado
def test_vivado_builds_the_bitstream(tmp_path: Path) -> None:
    """The real thing, where Vivado is installed: bitstream, handoff, parsed reports."""
    from codesign.tools import find_tool

    exe = find_tool("vivado")
    if exe is None:
        pytest.skip("Vivado is not installed (vendor tool, in no package registry)")
    build = build_vivado(small_graph(), get_board("zcu104"), tmp_path / "vivado", vivado=exe)
    assert build.ran and build.project.bitstream.is_file() and build.project.hwh.is_file()
    assert build.results["utilization"]["LUT"]["used"] > 0
    assert "met" in build.results["timing"]


def test_vivado_bitstream_records_results_the_report_reads(
        small_mlp_build: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``codesign bitstream --board zcu104`` without Vivado: the build's results.json holds
    the flow's results and the project-only Vivado record, and the report (given the build
    or its vivado/ folder) shows its bitstream section."""
    from conftest import SMALL_MLP

    from codesign.config import parse_config
    from codesign.flow.runner import vivado_bitstream
    from codesign.report import build_report
    from codesign.report.tables import fmt

    monkeypatch.setattr("codesign.synth.vivado.find_tool", lambda name: None)
    out = tmp_path / "build"
    shutil.copytree(small_mlp_build, out)
    build = vivado_bitstream(parse_config(SMALL_MLP), out, "zcu104")
    assert not build.ran
    results = json.loads((out / "results.json").read_text())
    assert json.loads((out / "manifest.json").read_text())["status"] == "done"
    record = results["bitstream"]
    assert record["flow"] == "vivado" and record["dir"] == "vivado"
    assert record["status"] == "project_only" and record["board"] == "zcu104"
    assert results["ii"]["source"] == "estimated" and results["ii"]["cycles"] > 0
    report = build_report([out / "vivado"], tmp_path / "report")
    table = next(t for t in report.tables if t.key == "bitstream")
    row = dict(zip(table.columns, table.rows[0], strict=True))
    assert (row["board"], row["flow"], row["status"]) == (
        "zcu104", "Vivado", "project only: Vivado not installed")
    assert row["clock (MHz)"] == fmt(get_board("zcu104").clock_mhz)
