"""The UNet denoiser through the whole flow, on a CI-sized version of configs/unet.yaml:
the skip (FINN DuplicateStreams), max-pool, nearest upsampling, the concatenation with
the skip (StreamingConcat: both tensors share one quantizer's scale), the 1x1 head; the
output image bit-exact in RTL under stalls, II against the estimate, the overflow proof,
PSNR recorded where accuracy would be."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ci_size import ci_sized

from codesign.flow.runner import run_flow

FRAMES = 8


def _small() -> Any:
    return ci_sized("unet.yaml", model={"channels": [4, 8], "copies": 1}, epochs=2,
                    frames=FRAMES)


@pytest.mark.sim
@pytest.mark.slow
def test_unet_flow(tmp_path: Path) -> None:
    r = run_flow(_small(), tmp_path, until="overflow").results
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    kinds = {k["kernel"] for k in manifest["steps"]["rtl"]["result"]["kernels"]}
    assert {"duplicate_streams", "maxpool", "upsample", "concat", "mvau"} <= kinds
    assert r["metric"]["name"] == "psnr" and "accuracy" not in r
    psnr = r["psnr"]
    assert psnr["accelerator"] == psnr["hw_graph"] == psnr["quantized"] > 0
    assert r["agreement"]["hw_graph"] == r["agreement"]["accelerator"] == 1.0
    ver = r["verification"]
    assert ver["passed"] and ver["frames"] == FRAMES and ver["mismatches"] == 0
    assert r["cycles"]["ii_error"] <= 0.05, r["cycles"]
    assert r["overflow"]["total"] == 0
