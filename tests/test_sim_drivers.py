"""The two accelerator drivers: the HDL streaming harness and the Python (cocotbext-axi)
driver give the same record on the same design and seed, and the harness catches a wrong
word, a dropped word and a stuck tready (injected by a wrapper around the real design)."""

from __future__ import annotations

import dataclasses
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest

from codesign.backends.rtl import RtlProject, load_rtl_project
from codesign.errors import VerificationError
from codesign.verify.sim import VERIFY_TEST, simulate_accelerator
from codesign.verify.simulators import SimResult

# what both drivers count; equal values mean every output word came in the same cycle
COUNTERS = ("frames", "frames_done", "words_in", "words_compared", "mismatches",
            "extra_words", "cycles", "first_mismatch", "ovf_bits", "first_frame_cycles",
            "ii_gaps", "timing_hash", "ii_cycles", "latency_cycles")


@pytest.fixture(scope="module")
def design(small_mlp_build: Path) -> tuple[RtlProject, Path]:
    return load_rtl_project(small_mlp_build / "rtl" / "accel"), small_mlp_build / "vectors"


def _record(report: Any) -> dict[str, Any]:
    data = json.loads(report.report_path.read_text())
    return {k: data[k] for k in COUNTERS}


@pytest.mark.sim
def test_drivers_and_simulators_give_one_record(
    design: tuple[RtlProject, Path], tmp_path: Path
) -> None:
    project, vectors = design
    records = {}
    for simulator in ("verilator", "icarus"):
        for driver in ("hdl", "python"):
            report = simulate_accelerator(
                project, vectors, tmp_path / f"{simulator}-{driver}", simulator=simulator,
                driver=driver, seed=7, in_pause=0.5, out_pause=0.5, ii_frames=8,
            )
            assert report.driver == driver and report.mismatches == 0
            # frames/s of the verification run: its frames over cocotb's wall time of it
            rec = report.to_json()
            assert report.seconds > 0 and rec["frames_per_second"] == pytest.approx(
                report.frames / report.seconds, rel=0.01)
            records[(simulator, driver)] = _record(report)
    reference = records[("verilator", "hdl")]
    assert reference["words_compared"] == 24 * json.loads(
        (vectors / "meta.json").read_text())["out"]["words_per_frame"]
    for key, rec in records.items():
        assert rec == reference, key
    # a different seed stalls other cycles: the timing hash sees it
    other = simulate_accelerator(project, vectors, tmp_path / "verilator-hdl", seed=8,
                                 in_pause=0.5, out_pause=0.5, ii_frames=8)
    assert _record(other)["timing_hash"] != reference["timing_hash"]


def test_case_seconds_reads_the_results_file(tmp_path: Path) -> None:
    xml = tmp_path / "results.xml"
    xml.write_text(
        '<testsuites><testsuite name="all"><testcase name="throughput" time="0.5"/>'
        f'<testcase name="{VERIFY_TEST}" time="2.25"/></testsuite></testsuites>'
    )
    result = SimResult("icarus", 2, 0, xml, tmp_path, True)
    assert result.case_seconds(VERIFY_TEST) == 2.25
    with pytest.raises(VerificationError, match=r"records no cocotb test 'gone'"):
        result.case_seconds("gone")


def test_runs_sharing_a_build_directory_take_turns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run waits for the build directory's lock (held here as another worker would hold
    it) before it builds there, and builds once it is released."""
    from codesign.cache import file_lock
    from codesign.verify import simulators

    built = threading.Event()
    monkeypatch.setattr(simulators, "simulator_path", lambda name: Path(name))
    monkeypatch.setattr(simulators, "_icarus_build", lambda spec: built.set())
    monkeypatch.setattr(
        simulators, "_run_tests",
        lambda runner, spec, sim, *args: SimResult(sim, 1, 0, spec.build / "r.xml", spec.build,
                                                   True))
    build = tmp_path / "sim"
    with file_lock(build / simulators.BUILD_LOCK):
        worker = threading.Thread(target=simulators.run_cocotb, args=(
            "top", [], {}, "tb", "icarus", build))
        worker.start()
        assert not built.wait(0.5)
    worker.join(timeout=10)
    assert built.is_set() and not worker.is_alive()


FAULTS = """// accel_top with an injected fault, around the real design renamed accel_core.
// fault.hex (read at run time): kind (1 wrong word, 2 dropped word, 3 stuck tready) and
// the index of the output (1, 2) or input (3) word it hits.
module accel_top (
  input  logic ap_clk,
  input  logic ap_rst_n,
  input  logic s_axis_tvalid,
  output logic s_axis_tready,
  input  logic [{iw}:0] s_axis_tdata,
  output logic m_axis_tvalid,
  input  logic m_axis_tready,
  output logic [{ow}:0] m_axis_tdata,
  output logic [{nv}:0] ovf
);
  logic [31:0] fault[0:1];
  initial $readmemh("fault.hex", fault);
  logic [31:0] n_in, n_out;
  logic core_tready, core_tvalid, stuck, drop;
  logic [{ow}:0] core_tdata;
  assign stuck = fault[0] == 3 && n_in >= fault[1];
  assign drop = fault[0] == 2 && n_out == fault[1] && core_tvalid;
  assign s_axis_tready = core_tready && !stuck;
  assign m_axis_tvalid = core_tvalid && !drop;
  assign m_axis_tdata = (fault[0] == 1 && n_out == fault[1]) ? core_tdata ^ 1 : core_tdata;
  accel_core core (
    .ap_clk(ap_clk), .ap_rst_n(ap_rst_n),
    .s_axis_tvalid(s_axis_tvalid && !stuck), .s_axis_tready(core_tready),
    .s_axis_tdata(s_axis_tdata),
    .m_axis_tvalid(core_tvalid), .m_axis_tready(m_axis_tready || drop),
    .m_axis_tdata(core_tdata), .ovf(ovf)
  );
  always_ff @(posedge ap_clk) begin
    if (!ap_rst_n) begin
      n_in <= 0;
      n_out <= 0;
    end else begin
      if (s_axis_tvalid && s_axis_tready) n_in <= n_in + 1;
      if (core_tvalid && (m_axis_tready || drop)) n_out <= n_out + 1;
    end
  end
endmodule
"""


@pytest.fixture(scope="module")
def faulty(design: tuple[RtlProject, Path], tmp_path_factory: pytest.TempPathFactory
           ) -> tuple[RtlProject, Path, dict[str, Any]]:
    project, vectors = design
    meta = json.loads((vectors / "meta.json").read_text())
    d = tmp_path_factory.mktemp("faulty")
    core = d / "accel_core.sv"
    core.write_text(re.sub(r"\bmodule accel_top\b", "module accel_core",
                           project.top_file.read_text()))
    wrapper = d / "accel_top.sv"
    wrapper.write_text(FAULTS.format(iw=meta["in"]["tdata_bits"] - 1,
                                     ow=meta["out"]["tdata_bits"] - 1,
                                     nv=max(1, len(meta["ovf_monitors"])) - 1))
    sources = (*[s for s in project.sources if s != project.top_file], core, wrapper)
    return dataclasses.replace(project, sources=sources), vectors, meta


def _inject(project: RtlProject, vectors: Path, build: Path, kind: int, index: int,
            driver: str = "hdl") -> str:
    build.mkdir(parents=True, exist_ok=True)
    (build / "fault.hex").write_text(f"{kind:x}\n{index:x}\n")
    with pytest.raises(VerificationError) as err:
        simulate_accelerator(project, vectors, build, simulator="icarus", driver=driver,
                             seed=3, in_pause=0.3, out_pause=0.3, ii_frames=4)
    return str(err.value)


@pytest.mark.sim
def test_harness_runs_the_wrapper_clean(
    faulty: tuple[RtlProject, Path, dict[str, Any]], tmp_path: Path
) -> None:
    project, vectors, _ = faulty
    (tmp_path / "fault.hex").write_text("0\n0\n")
    report = simulate_accelerator(project, vectors, tmp_path, simulator="icarus", seed=3)
    assert report.mismatches == 0 and report.words_compared > 0


@pytest.mark.sim
def test_harness_catches_a_wrong_word(
    faulty: tuple[RtlProject, Path, dict[str, Any]], tmp_path: Path
) -> None:
    project, vectors, meta = faulty
    n_out = meta["out"]["words_per_frame"]
    index = 5 * n_out + n_out - 1
    msg = _inject(project, vectors, tmp_path, 1, index)
    assert "1 of " in msg and "output words differ" in msg
    assert re.search(rf"frame 5, word {n_out - 1} \(stream word {index}\): "
                     r"expected 0x[0-9a-f]+, got 0x[0-9a-f]+", msg), msg


@pytest.mark.sim
@pytest.mark.parametrize("driver", ["hdl", "python"])
def test_harness_catches_a_dropped_word(
    faulty: tuple[RtlProject, Path, dict[str, Any]], tmp_path: Path, driver: str
) -> None:
    project, vectors, meta = faulty
    total = meta["frames"] * meta["out"]["words_per_frame"]
    msg = _inject(project, vectors, tmp_path, 2, 7, driver)
    assert f"m_axis stalled: {total - 1} of {total} output words received" in msg, msg
    assert "stream word 7)" in msg, msg  # every later word arrives one place early


@pytest.mark.sim
def test_harness_catches_a_stuck_tready(
    faulty: tuple[RtlProject, Path, dict[str, Any]], tmp_path: Path
) -> None:
    project, vectors, meta = faulty
    total = meta["frames"] * meta["in"]["words_per_frame"]
    msg = _inject(project, vectors, tmp_path, 3, 40)
    assert f"s_axis stalled: accel_top took 40 of {total} input words, then kept " \
           "s_axis_tready low" in msg, msg
