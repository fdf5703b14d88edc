"""A build is an inspectable value: a directory with a manifest.

``manifest.json`` records the config, its digest, tool versions, the status of the
build and of every step (seconds, artefacts, a JSON summary, or the error). The
manifest is rewritten atomically after every change, so a build killed or failed at
any moment never looks finished. A step that finished with its artefacts present is
not redone; once a step runs afresh, every later step runs afresh too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from codesign import __version__
from codesign.config import FlowConfig
from codesign.errors import CodesignError

JSON = dict[str, Any]
MANIFEST = "manifest.json"
_TRACKED_DISTS = ("torch", "brevitas", "qonnx", "finn-plus", "onnx", "numpy", "cocotb")


class BuildDirError(CodesignError):
    """The output directory belongs to another config, or a path escapes it."""


def tool_versions() -> dict[str, str]:
    """Versions of the Python distributions a build depends on."""
    versions = {"codesign": __version__}
    for dist in _TRACKED_DISTS:
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = "missing"
    return versions


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON through a temporary file and a rename: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


@contextlib.contextmanager
def captured_output(log_path: Path) -> Iterator[None]:
    """Send what third-party code prints, warns or logs during a step to the step's log.

    FINN, qonnx and brevitas print progress and warnings of their own; the library
    never prints, so it all goes to ``logs/<step>.log`` in the build directory.
    """
    with log_path.open("a") as log:
        handler = logging.StreamHandler(log)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        saved_showwarning = warnings.showwarning

        def to_log(message, category, filename, lineno, file=None, line=None):  # type: ignore[no-untyped-def]
            log.write(warnings.formatwarning(message, category, filename, lineno, line))

        try:
            with (
                warnings.catch_warnings(),
                contextlib.redirect_stdout(log),
                contextlib.redirect_stderr(log),
            ):
                warnings.simplefilter("default")
                warnings.showwarning = to_log
                yield
        finally:
            warnings.showwarning = saved_showwarning
            root.removeHandler(handler)


class BuildDir:
    """One build directory, keyed by the digest of its config."""

    def __init__(self, root: Path, cfg: FlowConfig) -> None:
        self.root = Path(root).resolve()
        self.cfg = cfg
        self.root.mkdir(parents=True, exist_ok=True)
        self._fresh = False  # set once any step has run in this session
        existing = self._read_manifest()
        if existing is not None and existing.get("digest") != cfg.design_digest():
            raise BuildDirError(
                f"{self.root} holds a build of another design (digest {existing.get('digest')},"
                f" this config {cfg.design_digest()}); choose another --out directory or "
                "remove it"
            )
        self.manifest: JSON = existing or {
            "codesign_version": __version__,
            "digest": cfg.design_digest(),
            "steps": {},
        }
        self.manifest["config"] = cfg.model_dump(mode="json")
        self.manifest["tool_versions"] = tool_versions()
        self.manifest["status"] = "running"
        self._save()
        # results.json is written only by finish(): until then no stale one may remain
        (self.root / "results.json").unlink(missing_ok=True)

    def _read_manifest(self) -> JSON | None:
        path = self.root / MANIFEST
        if not path.exists():
            return None
        data: JSON = json.loads(path.read_text())
        return data

    def _save(self) -> None:
        write_json_atomic(self.root / MANIFEST, self.manifest)

    def path(self, *parts: str) -> Path:
        """A path inside the build directory (refuses anything that escapes it)."""
        p = self.root.joinpath(*parts).resolve()
        if not p.is_relative_to(self.root):
            raise BuildDirError(f"path {'/'.join(parts)!r} escapes the build directory")
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def dir(self, *parts: str) -> Path:
        """A directory inside the build directory, created if missing."""
        d = self.path(*parts, ".keep").parent
        d.mkdir(exist_ok=True)
        return d

    def step_result(self, name: str) -> JSON | None:
        """The JSON summary of a finished step, or None."""
        rec = self.manifest["steps"].get(name)
        return rec.get("result") if rec and rec.get("status") == "done" else None

    def _is_done(self, name: str, key: Any) -> bool:
        rec = self.manifest["steps"].get(name)
        if not rec or rec.get("status") != "done" or rec.get("key") != key:
            return False
        return all((self.root / a).exists() for a in rec.get("artefacts", []))

    def run_step(
        self, name: str, fn: Callable[[], JSON], key: Any = None
    ) -> tuple[JSON, bool]:
        """Run ``fn`` as step ``name`` unless it is already done; return (result, cached).

        ``fn`` returns a JSON summary; the key ``"artefacts"`` (paths relative to the
        build directory) is checked for existence when a later run wants to reuse it.
        ``key`` (JSON) holds the settings the step depends on beyond the design digest;
        a finished step with another key runs again.
        """
        if not self._fresh and self._is_done(name, key):
            return self.manifest["steps"][name]["result"], True
        self._fresh = True
        rec: JSON = {"status": "running", "started": time.time(), "key": key}
        self.manifest["steps"][name] = rec
        self._save()
        t0 = time.perf_counter()
        try:
            with captured_output(self.path("logs", f"{name}.log")):
                result = fn()
        except BaseException as err:
            rec.update(
                status="failed",
                seconds=round(time.perf_counter() - t0, 3),
                error=f"{type(err).__name__}: {err}",
                traceback=traceback.format_exc(limit=8),
            )
            self.manifest["status"] = "failed"
            self._save()
            raise
        artefacts = [str(a) for a in result.get("artefacts", [])]
        rec.update(
            status="done",
            seconds=round(time.perf_counter() - t0, 3),
            artefacts=artefacts,
            result=result,
        )
        self._save()
        return result, False

    def finish(self, results: JSON) -> Path:
        """Write results.json and mark the build done."""
        out = self.path("results.json")
        write_json_atomic(out, results)
        self.manifest["status"] = "done"
        self._save()
        return out
