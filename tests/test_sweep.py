"""Sweeps: grid/random expansion, the SQLite store, resume after SIGKILL, failed points,
the local and Dask executors, and one sweep over the real flow."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from codesign.config import FlowConfig
from codesign.dse.points import expand_points, fold_layers, reference_point
from codesign.dse.spec import SweepError, load_sweep_spec, parse_sweep_spec
from codesign.dse.store import SweepStore
from codesign.dse.sweep import plan_sweep, run_sweep
from codesign.errors import ConfigError
from codesign.paths import data_dir

TESTS_DIR = Path(__file__).resolve().parent
SLEEP_ENV = "CODESIGN_TEST_FAKE_FLOW_SLEEP"


# ---------------------------------------------------------------- fake flow (workers)


def fake_flow(cfg: FlowConfig, out: Path, until: str | None = None) -> dict[str, Any]:
    """A light stand-in for run_flow: leaves an execution marker, sleeps, fails for
    seed 13, and returns results that depend only on the config."""
    markers = out.parent / ".markers"
    markers.mkdir(parents=True, exist_ok=True)
    (markers / f"{cfg.digest()}.{uuid.uuid4().hex}").touch()
    time.sleep(float(os.environ.get(SLEEP_ENV, "0")))
    if cfg.train.seed == 13:
        raise RuntimeError("seed 13 is unlucky")
    out.mkdir(parents=True, exist_ok=True)
    p = cfg.quant.acc_bits or 64
    return {
        "name": cfg.name,
        "digest": cfg.digest(),
        "config": cfg.model_dump(mode="json"),
        "accuracy": {"quantized": round(1 - 1 / p, 6), "float": 1.0},
        "until": until,
    }


def folding_flow(cfg: FlowConfig, out: Path, until: str | None = None) -> dict[str, Any]:
    """fake_flow with lowered layers whose folding, under a cycles target, follows the
    training as FINN's does (A2Q at P = 15 narrows the weights: twice the SIMD)."""
    results = fake_flow(cfg, out, until)
    if cfg.fold.layers is not None:
        folds = [(f.pe, f.simd) for f in cfg.fold.layers]
    else:
        narrow = cfg.quant.method == "a2q" and cfg.quant.acc_bits == 15
        folds = [(8, 8) if narrow else (16, 4), (1, 8)]
    results["layers"] = [
        {"name": f"MVAU_{i}", "op_type": "MVAU", "weight_count": 64, "pe": pe, "simd": simd}
        for i, (pe, simd) in enumerate(folds)
    ] + [{"name": "LabelSelect_0", "op_type": "LabelSelect", "pe": 1, "simd": None}]
    return results


def crash_flow(cfg: FlowConfig, out: Path, until: str | None = None) -> dict[str, Any]:
    """Kills its worker process for seed 13 (a segfault or an OOM kill, as the pool sees it)."""
    if cfg.train.seed == 13:
        os._exit(3)
    return fake_flow(cfg, out, until)


def executions(out_dir: Path) -> dict[str, int]:
    counts: dict[str, int] = {}
    markers = out_dir / ".markers"
    for m in markers.iterdir() if markers.exists() else []:
        digest = m.name.split(".")[0]
        counts[digest] = counts.get(digest, 0) + 1
    return counts


def comparable_rows(store_path: Path) -> dict[str, dict[str, Any]]:
    with SweepStore(store_path) as store:
        return {r.digest: r.comparable() for r in store.rows()}


SEED_SPEC: dict[str, Any] = {
    "base": {"model": {"hidden": [8]}, "train": {"epochs": 1}},
    "grid": {"quant.acc_bits": [16, 20], "train.seed": [1, 13, 2]},
}


# ---------------------------------------------------------------- spec and points


def test_grid_order_digests_and_invalid_points() -> None:
    spec = parse_sweep_spec(
        {"grid": {"quant.method": ["a2q", "baseline"], "quant.acc_bits": [8, 12, None]}}
    )
    points = expand_points(spec)
    assert [(p.overrides["quant.method"], p.overrides["quant.acc_bits"]) for p in points] == [
        ("a2q", 8),
        ("a2q", 12),
        ("a2q", None),
        ("baseline", 8),
        ("baseline", 12),
        ("baseline", None),
    ]
    assert len({p.digest for p in points}) == 6
    invalid = [p for p in points if p.error is not None]
    assert [p.overrides for p in invalid] == [
        {"quant.method": "a2q", "quant.acc_bits": 8},
        {"quant.method": "a2q", "quant.acc_bits": None},
    ]
    assert "smallest usable P is 10" in (invalid[0].error or "")
    assert "required" in (invalid[1].error or "")
    valid = points[1]
    assert valid.cfg is not None and valid.digest == valid.cfg.digest()
    assert valid.config["quant"]["acc_bits"] == 12


def test_grid_union_and_duplicates_kept_once() -> None:
    spec = parse_sweep_spec(
        {
            "base": {"quant": {"acc_bits": 16}},
            "grid": [{"quant.acc_bits": [16, 14]}, {"quant.acc_bits": [14, 12]}],
        }
    )
    assert [p.overrides["quant.acc_bits"] for p in expand_points(spec)] == [16, 14, 12]
    assert len(expand_points(parse_sweep_spec({}))) == 1  # the base config alone


def test_random_search_is_seeded_and_in_range() -> None:
    data = {
        "random": {
            "samples": 8,
            "seed": 3,
            "space": {
                "quant.weight_bits": [4, 6, 8],
                "train.lr": {"low": 0.001, "high": 0.1, "log": True},
                "train.epochs": {"low": 1, "high": 5},
            },
        }
    }
    a, b = expand_points(parse_sweep_spec(data)), expand_points(parse_sweep_spec(data))
    assert [p.overrides for p in a] == [p.overrides for p in b]
    for p in a:
        assert p.overrides["quant.weight_bits"] in (4, 6, 8)
        assert 0.001 <= p.overrides["train.lr"] <= 0.1
        assert (
            isinstance(p.overrides["train.epochs"], int) and 1 <= p.overrides["train.epochs"] <= 5
        )


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        ({"grids": {}}, "grids: unknown key"),
        ({"grid": {"quant.bitz": [1]}}, "'quant.bitz'"),
        ({"grid": {"quant.acc_bits": []}}, "quant.acc_bits"),
        ({"random": {"samples": 2, "space": {"train.lr": {"low": 1, "hi": 2}}}}, "hi"),
        ({"random": {"samples": 2, "space": {"nope": [1]}}}, "'nope'"),
        ({"pin_folding": {"quant.bitz": 1}}, "'quant.bitz'"),
        ({"pin_folding": {}, "grid": {"fold.target_cycles": [32, 64]}},
         "varies 'fold.target_cycles'"),
        ({"pin_folding": {}, "base": {"fold": {"layers": [{"pe": 1, "simd": 1}]}}},
         "has fold.layers already"),
        ({"pin_folding": {"quant.acc_bits": 3}}, "smallest usable P"),
    ],
)
def test_spec_errors_name_the_key(data: dict[str, Any], needle: str) -> None:
    with pytest.raises(ConfigError, match="sweep spec") as info:
        parse_sweep_spec(data)
    assert needle in str(info.value)


def test_shipped_specs() -> None:
    # the A2Q studies: A2Q and A2Q+ beside the 32-bit and squeezed baselines, every point
    # in both MAC modes, under the papers' layer policy
    for name, count in (("sweep_a2q", 24), ("sweep_cnn", 25), ("sweep_sr", 10)):
        points = expand_points(load_sweep_spec(data_dir("configs") / f"{name}.yaml"))
        assert len(points) == count and all(p.error is None for p in points), name
        keys = {(p.config["quant"]["method"], p.config["quant"]["acc_bits"],
                 p.config["fold"]["mac_resource"]) for p in points}
        for macs in ("lut", "dsp"):
            assert {("a2q", 16, macs), ("a2q_plus", 16, macs), ("baseline", 32, macs),
                    ("baseline", 16, macs)} <= keys, name
        assert all(p.config["quant"]["layer_policy"] == "papers" for p in points), name
        twins = {(p.config["quant"]["method"], p.config["fold"]["mac_resource"])
                 for p in points if p.config["synth"]["compare_acc_bits"] == 32}
        assert twins == {(m, macs) for m in ("a2q", "a2q_plus") for macs in ("lut", "dsp")}
    ci = expand_points(load_sweep_spec(data_dir("configs") / "sweep_ci.yaml"))
    assert len(ci) == 3 and all(p.error is None for p in ci)
    assert all(p.config["train"]["epochs"] <= 5 for p in ci)


def test_pinned_folding_is_solved_once_on_the_reference_point(tmp_path: Path) -> None:
    """The shipped CI spec with P = 15 added (where the fake, like FINN, folds otherwise):
    the reference point is lowered once, and every point is built with its PE/SIMD."""
    ci = load_sweep_spec(data_dir("configs") / "sweep_ci.yaml")
    assert ci.pin_folding == {"quant.method": "baseline", "quant.acc_bits": 32}
    spec = ci.model_copy(update={"grid": [*ci.grids(), {"quant.method": ["a2q"],
                                                       "quant.acc_bits": [15]}]})
    store, out = tmp_path / "s.sqlite", tmp_path / "out"
    unpinned = run_sweep(spec.model_copy(update={"pin_folding": None}), tmp_path / "u.sqlite",
                         tmp_path / "u", workers=2, flow_fn=folding_flow)
    assert unpinned.folding is None
    with SweepStore(tmp_path / "u.sqlite") as st:
        assert {r.results["layers"][0]["simd"] for r in st.rows()} == {4, 8}  # type: ignore[index]

    summary = run_sweep(spec, store, out, workers=2, flow_fn=folding_flow)
    assert summary.done == 4 and summary.folding == [{"pe": 16, "simd": 4}, {"pe": 1, "simd": 8}]
    # one lowering of the reference point, in its own build directory
    ref = reference_point(spec)
    assert executions(out / "fold_reference") == {ref.digest: 1}
    assert (out / "fold_reference" / ref.digest).is_dir()
    with SweepStore(store) as st:
        rows = st.rows()
    assert len(rows) == 4
    for row in rows:
        assert row.config["fold"] == {"target_cycles": None, "layers": summary.folding}
        assert [(ly["pe"], ly["simd"]) for ly in (row.results or {})["layers"][:2]] == [
            (16, 4), (1, 8)]
    # resumed: the reference is solved again (its build is reused), no point runs again
    again = run_sweep(spec, store, out, workers=2, flow_fn=folding_flow)
    assert (again.skipped, again.ran, again.folding) == (4, 0, summary.folding)


@pytest.mark.slow
def test_pinned_folding_on_the_real_flow(tmp_path: Path) -> None:
    """CI-sized points (the shipped CI spec's 32-wide MLP, 3 epochs) up to 'lower': FINN
    folds A2Q at P = 15 (4-bit weights: SIMD 8) unlike P = 16 (5-bit: SIMD 4); pinned on
    P = 16, both are built with P = 16's PE/SIMD."""
    from codesign.flow.runner import run_flow

    ci = load_sweep_spec(data_dir("configs") / "sweep_ci.yaml")
    spec = ci.model_copy(update={
        "grid": {"quant.method": ["a2q"], "quant.acc_bits": [16, 15]},
        "pin_folding": {"quant.method": "a2q", "quant.acc_bits": 16},
    })
    own = run_flow(expand_points(spec)[1].cfg, tmp_path / "p15", until="lower").results
    summary = run_sweep(spec, tmp_path / "s.sqlite", tmp_path / "out", workers=2, until="lower")
    assert summary.done == 2 and summary.folding is not None
    assert fold_layers(own) != summary.folding  # P = 15 left alone folds otherwise
    ref = reference_point(spec)
    solved = json.loads((tmp_path / "out" / "fold_reference" / ref.digest / "results.json")
                        .read_text())
    assert fold_layers(solved) == summary.folding
    with SweepStore(tmp_path / "s.sqlite") as st:
        rows = st.rows()
    assert {r.config["quant"]["acc_bits"] for r in rows} == {15, 16}
    for row in rows:
        assert fold_layers(row.results or {}) == summary.folding, row.config["quant"]


def test_pinned_folding_reference_failure_stops_the_sweep(tmp_path: Path) -> None:
    spec = parse_sweep_spec({"grid": {"quant.acc_bits": [14, 16]},
                             "pin_folding": {"train.seed": 13}})
    with pytest.raises(SweepError, match=r"pin_folding: the reference point \(train.seed=13\) "
                       "failed to lower: RuntimeError: seed 13 is unlucky"):
        run_sweep(spec, tmp_path / "s.sqlite", tmp_path / "out", flow_fn=folding_flow)
    assert not (tmp_path / "s.sqlite").exists()  # no point ran with an unsolved folding


# ---------------------------------------------------------------- store


def test_store_rows_upsert_and_records(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    with SweepStore(path) as store:
        store.put("aa", config={"quant": {"acc_bits": 16}}, status="failed", error="boom")
        row = store.put(
            "aa",
            config={"quant": {"acc_bits": 16}},
            overrides={"quant.acc_bits": 16},
            status="done",
            results={"accuracy": {"quantized": 0.9}, "layers": [1, 2], "digest": "aa"},
            seconds=1.23456,
        )
        assert row.attempts == 2 and row.status == "done" and row.error is None
        assert store.get("zz") is None and len(store) == 1
        mode = store._conn.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
        (rec,) = store.to_records()
    assert rec["config.quant.acc_bits"] == 16 and rec["accuracy.quantized"] == 0.9
    assert rec["layers"] == [1, 2] and rec["seconds"] == 1.235 and rec["digest"] == "aa"
    with pytest.raises(Exception, match="status"), SweepStore(path) as store:
        store.put("bb", config={}, status="running")  # type: ignore[arg-type]


def test_plan_reruns_rows_of_a_shorter_flow(tmp_path: Path) -> None:
    spec = parse_sweep_spec({"grid": {"quant.acc_bits": [14, 16]}})
    p14, p16 = expand_points(spec)
    with SweepStore(tmp_path / "s.sqlite") as store:
        store.put(p14.digest, config=p14.config, status="done", until="train")
        store.put(p16.digest, config=p16.config, status="done", until=None)
        assert [p.digest for p in plan_sweep(spec, store, until="train").to_run] == []
        plan = plan_sweep(spec, store, until="lower")
        assert [p.digest for p in plan.to_run] == [p14.digest]


# ---------------------------------------------------------------- executors


def test_failed_points_recorded_sweep_continues_and_retry(tmp_path: Path) -> None:
    spec = parse_sweep_spec(SEED_SPEC)
    store, out = tmp_path / "s.sqlite", tmp_path / "out"
    seen: list[tuple[int, int, str, str]] = []
    summary = run_sweep(
        spec, store, out, workers=2, flow_fn=fake_flow, progress=lambda *a: seen.append(a)
    )
    assert (summary.total, summary.done, summary.failed, summary.skipped) == (6, 4, 2, 0)
    assert sorted(s[0] for s in seen) == list(range(1, 7)) and {s[1] for s in seen} == {6}
    with SweepStore(store) as st:
        failed = st.rows("failed")
        assert len(failed) == 2 and all(r.config["train"]["seed"] == 13 for r in failed)
        assert all("RuntimeError: seed 13 is unlucky" in (r.error or "") for r in failed)
        done = st.rows("done")
        assert all(r.results and r.results["digest"] == r.digest for r in done)
    # a re-run skips everything; retry_failed re-runs only the failed points
    again = run_sweep(spec, store, out, workers=2, flow_fn=fake_flow)
    assert (again.skipped, again.ran) == (6, 0)
    retry = run_sweep(spec, store, out, workers=2, flow_fn=fake_flow, retry_failed=True)
    assert (retry.skipped, retry.failed) == (4, 2)
    counts = executions(out)
    assert sorted(counts.values()) == [1, 1, 1, 1, 2, 2]
    with SweepStore(store) as st:
        assert sorted(r.attempts for r in st.rows()) == [1, 1, 1, 1, 2, 2]


def test_a_point_that_kills_its_worker_fails_alone(tmp_path: Path) -> None:
    spec = parse_sweep_spec({"grid": {"train.seed": [1, 2, 13, 4, 5]}})
    summary = run_sweep(
        spec, tmp_path / "s.sqlite", tmp_path / "out", workers=2, flow_fn=crash_flow
    )
    assert (summary.done, summary.failed) == (4, 1)
    with SweepStore(tmp_path / "s.sqlite") as st:
        (bad,) = st.rows("failed")
    assert bad.config["train"]["seed"] == 13 and (bad.error or "").startswith("WorkerDied")


_DRIVER = """
import json, sys
sys.path.insert(0, sys.argv[1])
from test_sweep import fake_flow
from codesign.dse.spec import parse_sweep_spec
from codesign.dse.sweep import run_sweep
run_sweep(parse_sweep_spec(json.loads(sys.argv[2])), sys.argv[3], sys.argv[4],
          workers=1, flow_fn=fake_flow)
"""


def _row_count(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM points").fetchone()[0])
    except sqlite3.OperationalError:  # table not created yet
        return 0


def _kill_after_first_row(
    proc: subprocess.Popen[bytes], store: Path, timeout: float, then_wait: float = 0.0
) -> None:
    """SIGKILL a sweep (and its workers, at once) ``then_wait`` s after its first row."""
    try:
        deadline = time.monotonic() + timeout
        while _row_count(store) < 1:
            assert proc.poll() is None, "the sweep ended before it could be killed"
            assert time.monotonic() < deadline, f"no row appeared in {timeout:.0f} s"
            time.sleep(0.05)
        time.sleep(then_wait)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()


def test_sigkill_mid_point_then_resume(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SLEEP_ENV, "0.6")
    spec_data = {"grid": {"quant.acc_bits": [12, 14, 16, 18, 20]}}
    spec = parse_sweep_spec(spec_data)
    store, out = tmp_path / "killed.sqlite", tmp_path / "killed"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _DRIVER,
            str(TESTS_DIR),
            json.dumps(spec_data),
            str(store),
            str(out),
        ],
        start_new_session=True,
    )
    _kill_after_first_row(proc, store, timeout=60, then_wait=0.3)  # inside the next 0.6 s
    assert proc.returncode == -signal.SIGKILL
    before = comparable_rows(store)
    assert 1 <= len(before) < 5 and all(r["status"] == "done" for r in before.values())

    summary = run_sweep(spec, store, out, workers=1, flow_fn=fake_flow)
    assert summary.skipped == len(before) and summary.done == 5 - len(before)

    monkeypatch.setenv(SLEEP_ENV, "0")
    ref_store = tmp_path / "ref.sqlite"
    run_sweep(spec, ref_store, tmp_path / "ref", workers=2, flow_fn=fake_flow)
    assert comparable_rows(store) == comparable_rows(ref_store)

    counts = executions(out)
    assert all(counts[d] == 1 for d in before), "a finished point ran again"
    assert set(counts) == {p.digest for p in expand_points(spec)}
    assert max(counts.values()) <= 2  # only the point killed mid-way ran twice


def test_dask_local_cluster_matches_local_executor(tmp_path: Path) -> None:
    spec = parse_sweep_spec(SEED_SPEC)
    local_store, dask_store = tmp_path / "local.sqlite", tmp_path / "dask.sqlite"
    run_sweep(spec, local_store, tmp_path / "local", workers=2, flow_fn=fake_flow)
    summary = run_sweep(
        spec, dask_store, tmp_path / "dask", executor="dask", workers=2, flow_fn=fake_flow
    )
    assert (summary.done, summary.failed) == (4, 2)
    local_rows, dask_rows = comparable_rows(local_store), comparable_rows(dask_store)
    for rows in (local_rows, dask_rows):  # tracebacks name files; compare the error line
        for r in rows.values():
            r["error"] = r["error"] and r["error"].splitlines()[0]
    assert dask_rows == local_rows


@pytest.mark.sim
@pytest.mark.synth
@pytest.mark.slow
def test_shipped_ci_sweep_killed_and_resumed_on_the_real_flow(tmp_path: Path) -> None:
    """configs/sweep_ci.yaml through the CLI, every flow step: SIGKILL once a point is
    stored, resume, and read the A2Q study's answers off the store and the report.
    Smaller than shipped, to keep CI short: 16 hidden units instead of 32 (Yosys spends
    most of a point's time on the first layer's weights) and Icarus, as on Verilator each
    point's FIFO sizing, stream verification and overflow proofs were four cold C++ builds
    (tests/conftest.py's small_mlp_build runs the MLP flow on Verilator, tests/test_accel.py
    simulates it there)."""
    from codesign.report import build_report

    shipped = data_dir("configs") / "sweep_ci.yaml"
    data = yaml.safe_load(shipped.read_text())
    data["base_config"] = str(shipped.parent / data["base_config"])
    data["base"]["model"]["hidden"] = [16]
    data["base"]["sim"]["simulator"] = "icarus"
    spec_path = tmp_path / "sweep_ci.yaml"
    spec_path.write_text(yaml.safe_dump(data))
    store, out = tmp_path / "sweep.sqlite", tmp_path / "out"
    cli = [sys.executable, "-c", "from codesign.cli import app; app()", "sweep",
           str(spec_path), "--out", str(out), "--store", str(store), "--workers", "2"]
    env = {**os.environ, "CODESIGN_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen(cli, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_after_first_row(proc, store, timeout=900)  # the other worker is mid-point
    with SweepStore(store) as st:
        before = {r.digest: r for r in st.rows()}
    assert 1 <= len(before) < 3

    resumed = subprocess.run(cli, env=env, capture_output=True, text=True, timeout=1200)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    with SweepStore(store) as st:
        rows = {r.digest: r for r in st.rows()}
    assert len(rows) == 3 and all(r.status == "done" for r in rows.values()), [
        r.error for r in rows.values()
    ]
    for digest, row in before.items():  # a finished point is kept, not run again
        assert rows[digest].comparable() == row.comparable()

    by_point = {
        (r.config["quant"]["method"], r.config["quant"]["acc_bits"]): r.results or {}
        for r in rows.values()
    }
    a2q, wide = by_point[("a2q", 16)], by_point[("baseline", 32)]
    squeezed = by_point[("baseline", 16)]
    assert a2q["overflow"]["total"] == 0 and squeezed["overflow"]["total"] > 0
    assert all(res["verification"]["passed"] for res in (a2q, wide, squeezed))
    lut = {k: res["resources"]["accelerator"]["total"]["LUT"]
           for k, res in (("a2q", a2q), ("wide", wide))}
    assert lut["a2q"] < lut["wide"]

    report = build_report([store], tmp_path / "report")
    (c,) = [c for c in report.comparisons if c.method == "a2q"]
    assert c.vs_baseline is not None and c.vs_baseline.lut is not None
    assert c.vs_baseline.lut > 1 and "baseline" in c.vs_baseline.reference


# ---------------------------------------------------------------- CPU share


def test_cpu_share_gives_the_last_points_the_idle_cpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from codesign.dse.executors import _CpuShare
    from codesign.tools import default_jobs

    path = tmp_path / ".cpu_share"
    share = _CpuShare(path, cpus=4, workers=2, points=3)
    monkeypatch.setenv("CODESIGN_JOBS", "3")
    monkeypatch.setenv("CODESIGN_JOBS_FILE", str(path))
    seen = [default_jobs()]
    for _ in range(3):
        share.point_finished()
        seen.append(default_jobs())
    # 3 points on 2 workers: 2 CPUs each until one point is left, then all 4
    assert seen == [2, 2, 4, 4]
    path.write_text("garbage\n")  # unreadable share: the fixed one
    assert default_jobs() == 3
    path.unlink()
    assert default_jobs() == 3
