"""The wheel carries the kernel library, testbenches, boards, configs and Yosys files."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_wheel_carries_hardware_files(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("codesign-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for sv in (ROOT / "rtl").glob("*.sv"):
        assert f"codesign/_data/rtl/{sv.name}" in names
    for hpp in (ROOT / "hls").glob("*.hpp"):
        assert f"codesign/_data/hls/{hpp.name}" in names
    for board in (ROOT / "boards").glob("*.yaml"):
        assert f"codesign/_data/boards/{board.name}" in names
    assert "codesign/_data/configs/mlp_a2q.yaml" in names
    for lutrom in (ROOT / "codesign" / "synth" / "lutrom").iterdir():  # Yosys ROM mapping
        assert f"codesign/synth/lutrom/{lutrom.name}" in names
    assert "rtl_sim/accel/test_accel.py" in names and "rtl_sim/accel/cs_axis_harness.sv" in names
