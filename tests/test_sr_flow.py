"""The super-resolution family through the whole flow, on a CI-sized version of
configs/sr.yaml: feature convs, the nearest-neighbour upsampling (FINN
UpsampleNearestNeighbour) and the resize conv; the output image bit-exact in RTL under
stalls, II against the estimate, the overflow proof, PSNR recorded where accuracy would
be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ci_size import ci_sized

from codesign.flow.runner import run_flow

FRAMES = 8


def _small() -> Any:
    model = {"patch": 4, "channels": [4, 4], "first_kernel": 3, "train_patches": 256,
             "test_patches": 32}
    return ci_sized("sr.yaml", model=model, epochs=2, frames=FRAMES,
                    fold={"target_cycles": 512})


@pytest.mark.sim
@pytest.mark.slow
def test_sr_flow(tmp_path: Path) -> None:
    r = run_flow(_small(), tmp_path, until="overflow").results
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    kinds = {k["kernel"] for k in manifest["steps"]["rtl"]["result"]["kernels"]}
    # the input patch joins the features: one DuplicateStreams at the input, one Concat
    assert {"fmpadding", "swg", "mvau", "upsample", "duplicate_streams", "concat"} <= kinds
    assert r["metric"]["name"] == "psnr" and "accuracy" not in r
    psnr = r["psnr"]
    assert psnr["accelerator"] == psnr["hw_graph"] == psnr["quantized"] > 0
    assert r["agreement"]["hw_graph"] == r["agreement"]["accelerator"] == 1.0
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == FRAMES and ver["mismatches"] == 0
    assert r["cycles"]["ii_error"] <= 0.05, r["cycles"]
    assert r["overflow"]["total"] == 0
