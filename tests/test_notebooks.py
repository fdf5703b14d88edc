"""Notebooks execute top to bottom in their short mode (CODESIGN_NB_SHORT=1).

The kernel is this interpreter's ipykernel: a kernelspec named ``python3`` is written to a
temporary JUPYTER_PATH for the test only, so nothing is registered globally and no other
Python on the machine is picked up.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


@pytest.fixture
def kernel_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    (spec_dir / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (codesign test)",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("CODESIGN_NB_SHORT", "1")
    monkeypatch.setenv("CODESIGN_NB_OUT", str(tmp_path / "out"))
    return tmp_path


@pytest.mark.slow
def test_a2q_study_notebook(kernel_env: Path) -> None:
    import nbclient
    import nbformat

    from codesign.dse.store import SweepStore

    nb = nbformat.read(NOTEBOOKS / "a2q_study.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=600,
        resources={"metadata": {"path": str(kernel_env)}},
    )
    client.execute()

    out = kernel_env / "out"
    with SweepStore(out / "sweep.sqlite") as store:
        rows = store.rows()
    assert len(rows) == 2
    assert all(r.status == "done" for r in rows), [r.error for r in rows]
    assert {r.config["quant"]["method"] for r in rows} == {"a2q", "baseline"}
    # short mode stops after 'rtl': the accelerator's accuracy (wrap-around included) exists
    assert all((r.results or {}).get("accuracy", {}).get("accelerator") is not None for r in rows)
    assert (out / "report" / "report.html").is_file()
    assert (out / "report" / "accuracy_vs_p.png").is_file()
    assert (out / "report" / "sparsity_vs_p.png").is_file()
    errors = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors
    images = [
        o
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if "image/png" in o.get("data", {})
    ]
    assert len(images) >= 2


@pytest.mark.slow
def test_dsodenet_notebook(kernel_env: Path) -> None:
    """notebooks/dsodenet.ipynb in its short mode: a 4-channel dsODENet through the flow
    up to the RTL simulation (the notebook asserts PASS and II within 5 %)."""
    import nbclient
    import nbformat

    nb = nbformat.read(NOTEBOOKS / "dsodenet.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=900,
        resources={"metadata": {"path": str(kernel_env)}},
    )
    client.execute()
    results = json.loads((kernel_env / "out" / "build" / "results.json").read_text())
    assert results["verification"]["passed"] and results["adaptation"]["quant"]["shots"] == 10
    assert results["parameters"]["dsodenet"]["blocks"] < results["parameters"]["node"]["blocks"]


@pytest.mark.slow
def test_vit_attention_notebook(kernel_env: Path,
                                tmp_path_factory: pytest.TempPathFactory) -> None:
    """notebooks/vit_attention.ipynb in its short mode: both attention forms at width 8
    through the flow up to the RTL simulation (the notebook asserts PASS and II within
    5 %), and the report's ViT table and figure. Its designs are tests/vit_builds.py's,
    which tests/test_vit_flow.py verifies: the session's builds, copied, are reused."""
    import nbclient
    import nbformat
    from vit_builds import vit_build

    out = kernel_env / "out"
    # softmax first: tests/test_vit_flow.py builds linear first, so that two xdist workers
    # arriving together build one each
    builds = {form: vit_build(variant, tmp_path_factory)
              for form, variant in (("softmax", "softmax-h4-d8"), ("linear", "linear-h1-d8"))}
    for form, build in builds.items():
        shutil.copytree(build, out / form)
    nb = nbformat.read(NOTEBOOKS / "vit_attention.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        nb, kernel_name="python3", timeout=900,
        resources={"metadata": {"path": str(kernel_env)}},
    )
    client.execute()
    for form, build in builds.items():
        results = json.loads((out / form / "results.json").read_text())
        assert results["verification"]["passed"], form
        assert results["config"]["model"]["attention"] == form
        # the notebook's short configs are the shared designs: no step ran again
        ran = json.loads((out / form / "manifest.json").read_text())["steps"]
        built = json.loads((build / "manifest.json").read_text())["steps"]
        assert {s: ran[s]["started"] for s in results["steps_run"]} == {
            s: built[s]["started"] for s in results["steps_run"]}, form
    assert (out / "report" / "vit_scaling.png").is_file()
