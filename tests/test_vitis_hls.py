"""Vitis HLS project scripts: the generated Tcl runs under tclsh with every Vitis command
replaced by a recording stub (an unknown command fails, every file it names exists); the
csynth report parser; and, where Vitis HLS is installed, the real run."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import hls_cases as hc
import pytest

from codesign.backends.hls import HlsProject, emit_hls
from codesign.backends.vectors import write_vectors
from codesign.board.registry import get_board
from codesign.dataflow.graph import run_reference, single_kernel
from codesign.errors import ToolNotFoundError
from codesign.synth import vitis_hls

# Stubs: each Vitis command appends its words to ::calls; add_files checks its source and
# include folders exist; `unknown` (a command the stubs do not define) is an error.
PRELUDE = """
set ::calls {}
proc unknown {args} { puts stderr "unknown command: $args"; ::real_exit 3 }
proc must_exist {path} {
    if {![file exists $path]} { puts stderr "missing file: $path"; ::real_exit 4 }
}
foreach cmd {%s} {
    proc $cmd {args} [string map [list CMD $cmd] {
        lappend ::calls [list CMD {*}$args]
        if {"CMD" eq "add_files"} {
            set words $args
            if {[lindex $words 0] eq "-tb"} { set words [lrange $words 1 end] }
            must_exist [lindex $words 0]
            foreach flag [lindex $words 2] {
                if {[string match -I* $flag]} { must_exist [string range $flag 2 end] }
            }
        }
        if {"CMD" eq "cosim_design"} {
            foreach word [lindex $args 1] {
                if {[string match */*.hex $word] && ![string match *cosim_* $word]} {
                    must_exist $word
                }
            }
        }
        if {"CMD" eq "exit"} { puts [join $::calls "\\n"]; rename exit {}; ::real_exit 0 }
    }]
}
"""


def _project(tmp_path: Path) -> tuple[HlsProject, Path]:
    k = hc.mvau(3, 8, 4, 2, 2, 4, False, 4, n_thres=3)
    graph = single_kernel(k, "vitis_test")
    project = emit_hls(graph, tmp_path / "hls")
    x = hc.random_inputs(k, 2, 0)[0]
    write_vectors(graph, x, run_reference(graph, x), tmp_path / "vectors")
    return project, tmp_path / "vectors"


def _stubbed(script: Path) -> subprocess.CompletedProcess[str]:
    tclsh = shutil.which("tclsh")
    assert tclsh, "tclsh is installed by make setup (Debian package tcl)"
    driver = script.parent / "driver.tcl"
    driver.write_text("rename exit ::real_exit\n" + PRELUDE % " ".join(vitis_hls.COMMANDS)
                      + f"cd {{{script.parent}}}\nsource {{{script}}}\n")
    return subprocess.run([tclsh, str(driver)], capture_output=True, text=True, check=False)


@pytest.mark.parametrize("cosim", [False, True])
def test_script_runs_under_tclsh_with_stubs(tmp_path: Path, cosim: bool) -> None:
    project, vectors = _project(tmp_path)
    board = get_board("zcu104")
    script = vitis_hls.write_script(project, board, vectors, tmp_path / "vitis", cosim=cosim)
    res = _stubbed(script)
    assert res.returncode == 0, res.stderr
    calls = [line.split(" ", 1) for line in res.stdout.splitlines()]
    names = [c[0] for c in calls]
    expected = ["open_project", "set_top", "add_files", "add_files", "open_solution",
                "set_part", "create_clock", "config_rtl", "csynth_design",
                *(["cosim_design"] if cosim else []), "export_design", "exit"]
    assert names == expected
    args = dict((c[0], c[1] if len(c) > 1 else "") for c in calls)
    assert args["set_top"] == "accel_top" and board.part in args["set_part"]
    assert args["export_design"] == "-format ip_catalog"
    assert f"{board.clock_period_ns:.3f}" in args["create_clock"]


def test_stubs_catch_unknown_commands_and_missing_files(tmp_path: Path) -> None:
    project, vectors = _project(tmp_path)
    script = vitis_hls.write_script(project, get_board("zcu104"), vectors, tmp_path / "v")
    text = script.read_text()
    script.write_text(text.replace("csynth_design", "csynth_design\nvendor_only_command"))
    assert _stubbed(script).returncode == 3
    project.main_file.unlink()
    script.write_text(text)
    res = _stubbed(script)
    assert res.returncode == 4 and "csim_main.cpp" in res.stderr


def test_parse_csynth(tmp_path: Path) -> None:
    xml = tmp_path / "csynth.xml"
    xml.write_text("""<?xml version="1.0"?>
<profile><UserAssignments><unit>ns</unit><TargetClockPeriod>5.00</TargetClockPeriod>
<TopModelName>accel_top</TopModelName></UserAssignments>
<PerformanceEstimates><SummaryOfTimingAnalysis><unit>ns</unit>
<EstimatedClockPeriod>3.650</EstimatedClockPeriod></SummaryOfTimingAnalysis>
<SummaryOfOverallLatency><unit>clock cycles</unit><Best-caseLatency>301</Best-caseLatency>
<Worst-caseLatency>305</Worst-caseLatency><Interval-min>258</Interval-min>
<Interval-max>260</Interval-max></SummaryOfOverallLatency></PerformanceEstimates>
<AreaEstimates><Resources><BRAM_18K>2</BRAM_18K><DSP>0</DSP><FF>1234</FF><LUT>5678</LUT>
<URAM>0</URAM></Resources><AvailableResources><BRAM_18K>624</BRAM_18K><DSP>1728</DSP>
<FF>460800</FF><LUT>230400</LUT><URAM>96</URAM></AvailableResources></AreaEstimates>
</profile>""")
    r = vitis_hls.parse_csynth(xml).to_json()
    assert r["ii_cycles"] == [258, 260] and r["latency_cycles"] == [301, 305]
    assert r["resources"] == {"BRAM_18K": 2, "DSP": 0, "FF": 1234, "LUT": 5678, "URAM": 0}
    assert r["estimated_clock_ns"] == 3.65 and r["available"]["LUT"] == 230400
    json.dumps(r)


def test_missing_vitis_names_the_ready_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    if shutil.which("vitis_hls") or shutil.which("vitis-run"):
        pytest.skip("Vitis HLS is installed here")
    project, vectors = _project(tmp_path)
    script = vitis_hls.write_script(project, get_board("zcu104"), vectors, tmp_path / "v")
    with pytest.raises(ToolNotFoundError, match=r"project script is ready: run `vitis_hls -f "
                       r"vitis_hls.tcl` in .*/v"):
        vitis_hls.run_script(script)


def test_harness_wrapper_has_the_rtl_ports(tmp_path: Path) -> None:
    project, _ = _project(tmp_path)
    text = vitis_hls.harness_wrapper(project)
    for port in ("s_axis_tvalid", "s_axis_tready", "m_axis_tdata", "ovf"):
        assert f"logic {port}" in text or f"] {port}" in text
    assert ".s_axis_TDATA(s_axis_tdata)" in text and "cs_hls_accel_top u_hls" in text


@pytest.mark.vivado
def test_vitis_hls_ip_passes_the_rtl_harness(tmp_path: Path) -> None:
    """Where Vitis HLS exists: C-synthesize, then stream the vectors through the exported
    RTL with the cocotb harness of the RTL accelerator (see README, HLS backend)."""
    if not (shutil.which("vitis_hls") or shutil.which("vitis-run")):
        pytest.skip("Vitis HLS (vitis_hls / vitis-run) is not on PATH")
    from codesign.backends.rtl import RtlProject
    from codesign.verify.sim import simulate_accelerator

    project, vectors = _project(tmp_path)
    script = vitis_hls.write_script(project, get_board("zcu104"), vectors, tmp_path / "v")
    report = vitis_hls.run_script(script)
    assert report.interval_min > 0
    verilog = sorted((tmp_path / "v" / vitis_hls.PROJECT / vitis_hls.SOLUTION / "syn" /
                      "verilog").glob("*.v"))
    wrapper = tmp_path / "accel_top.sv"
    wrapper.write_text(vitis_hls.harness_wrapper(project))
    rtl = RtlProject(top="accel_top", top_file=wrapper, sources=(*verilog, wrapper),
                     filelist=wrapper, memories=())
    sim = simulate_accelerator(rtl, vectors, tmp_path / "sim", simulator="verilator")
    assert sim.mismatches == 0 and sim.words_compared == 2 * project.outputs[0].words
