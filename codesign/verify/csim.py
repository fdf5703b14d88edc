"""C-simulation of a generated HLS project with g++, on the RTL testbench's vector files.

The top and the hls/ kernels compile with ``g++ -std=c++14 -O2 -Wall -Werror``; the
ap_types headers (``ap_int.h``, ``hls_stream.h``) come from the installed hls4ml wheel as
system headers (never copied here). Two warnings are off, both for the vendor dialect:
``unknown-pragmas`` (g++ does not know ``#pragma HLS``) and ``(maybe-)uninitialized``
(ap_types' default constructor reads its own word before setting it, ap_private.h, and
GCC reports that at every inlined construction site in our code).

Binaries are cached by a digest of every source, the flags and the compiler version
(``~/.cache/codesign/csim``), so a re-run, a sweep point or a unit test with the same
kernel compiles once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from codesign.backends.hls import HlsProject, emit_hls, library_dir
from codesign.backends.words import pack_words, unpack_words
from codesign.cache import cache_dir, entry_lock
from codesign.dataflow.graph import side_by_side
from codesign.dataflow.kernels import IntArray, KernelInstance
from codesign.errors import ToolNotFoundError, VerificationError
from codesign.tools import require_tool, tool_version

CXXFLAGS = (
    "-std=c++14", "-O2", "-Wall", "-Werror",
    "-Wno-unknown-pragmas", "-Wno-uninitialized", "-Wno-maybe-uninitialized",
)
BINARY = "csim"


def ap_types_dir() -> Path:
    """hls4ml's bundled ap_types headers (found without importing hls4ml)."""
    spec = find_spec("hls4ml")
    if spec is None or not spec.submodule_search_locations:
        raise ToolNotFoundError(
            "the ap_types headers come from the hls4ml package, which is not installed; "
            "to get it: pip install -c constraints.txt hls4ml"
        )
    d = Path(next(iter(spec.submodule_search_locations))) / "templates" / "vivado" / "ap_types"
    if not (d / "ap_int.h").is_file():
        raise ToolNotFoundError(f"hls4ml is installed but has no ap_types headers in {d}")
    return d


@dataclass(frozen=True)
class CsimReport:
    """What a C-simulation found."""

    frames: int
    words_compared: int
    mismatches: int
    first_mismatch: dict[str, Any] | None
    errors: tuple[str, ...]
    seconds: float
    """Time spent calling the top (reading files and compiling apart)."""
    compile_seconds: float
    """0 when the binary came from the cache."""
    binary: Path

    @property
    def passed(self) -> bool:
        return self.mismatches == 0 and not self.errors and self.words_compared > 0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")

    def to_json(self) -> dict[str, Any]:
        return {
            "backend": "hls",
            "simulator": "g++ csim",
            "frames": self.frames,
            "words_compared": self.words_compared,
            "mismatches": self.mismatches,
            "first_mismatch": self.first_mismatch,
            "stream_errors": list(self.errors),
            "passed": self.passed,
            "csim_seconds": round(self.seconds, 4),
            "frames_per_second": round(self.frames_per_second, 1),
            "compile_seconds": round(self.compile_seconds, 2),
        }


def _gxx() -> Path:
    try:
        return require_tool("g++")
    except ToolNotFoundError as err:
        raise ToolNotFoundError(
            f"{err} (C-simulation of the HLS backend compiles with g++; `codesign doctor` "
            "lists what is missing)"
        ) from None


def compile_project(project: HlsProject, cache: Path | None = None) -> tuple[Path, float]:
    """The C-sim binary of ``project`` (from the cache, else compiled into it); returns the
    binary and the seconds spent compiling (0 on a cache hit)."""
    gxx = _gxx()
    ap = ap_types_dir()
    lib = library_dir()
    h = hashlib.sha256()
    for part in (*CXXFLAGS, str(tool_version("g++", gxx)), str(ap)):
        h.update(part.encode() + b"\0")
    sources = [*project.generated, *sorted(lib.glob("*.hpp"))]
    for src in sources:
        name = src.relative_to(project.out_dir) if src.is_relative_to(project.out_dir) else src.name
        h.update(str(name).encode() + b"\0" + src.read_bytes())
    key = h.hexdigest()[:32]
    root = cache if cache is not None else cache_dir("csim")
    binary = root / key / BINARY
    if binary.is_file():
        return binary, 0.0
    # parallel tests and sweep points that need the same binary wait for the first compile
    with entry_lock(root, key):
        if binary.is_file():
            return binary, 0.0
        return binary, _compile(project, gxx, ap, lib, root, key)


def _compile(project: HlsProject, gxx: Path, ap: Path, lib: Path, root: Path, key: str) -> float:
    """Compile ``project`` into the cache entry ``key`` (written whole, then renamed into
    place); returns the seconds g++ took."""
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=root))
    try:
        cmd = [
            str(gxx), *CXXFLAGS, "-I", str(lib), "-I", str(project.out_dir), "-isystem", str(ap),
            str(project.top_file), str(project.main_file), "-o", str(tmp / BINARY),
        ]
        t0 = time.monotonic()
        res = subprocess.run(cmd, capture_output=True, text=True, check=False)
        seconds = time.monotonic() - t0
        if res.returncode != 0:
            raise VerificationError(
                f"g++ failed on the HLS project {project.out_dir}:\n{res.stderr[-6000:]}"
            )
        with contextlib.suppress(OSError):  # another process stored the same key first
            os.replace(tmp, root / key)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return seconds


def _run(binary: Path, frames: int, args: Sequence[Path], work: Path) -> dict[str, Any]:
    res = subprocess.run([str(binary), str(frames), *map(str, args)], capture_output=True,
                         text=True, check=False, cwd=work)
    lines = res.stdout.strip().splitlines()
    # exit 1: the run finished and its report says what differs
    if res.returncode not in (0, 1) or not lines or not lines[-1].startswith("{"):
        raise VerificationError(
            f"C-simulation {binary} exited with {res.returncode}:\n{res.stderr[-4000:]}"
        )
    data: dict[str, Any] = json.loads(lines[-1])
    # hls_stream.h reports a read of an empty stream (a kernel reading more words than a
    # frame holds) on stdout and carries on with a zero word: that is a failure
    warnings = [ln for ln in lines[:-1] if "Hls::stream" in ln]
    data["errors"] = [*data["errors"], *warnings[:20]]
    return data


def run_csim(project: HlsProject, vectors_dir: Path, build_dir: Path,
             frames: int | None = None, cache: Path | None = None) -> CsimReport:
    """Stream the vector files of ``vectors_dir`` (codesign.backends.vectors) through the
    compiled top, one call per frame, comparing every output word.

    Raises :class:`VerificationError` when the vectors do not fit the project's ports, the
    compile fails, or the run does not pass (naming the first mismatching frame and word).
    """
    vectors = Path(vectors_dir).resolve()
    meta = json.loads((vectors / "meta.json").read_text())
    if len(project.inputs) != 1 or len(project.outputs) != 1:
        raise VerificationError(
            f"the vector files drive one input and one output stream; {project.out_dir} has "
            f"{len(project.inputs)} and {len(project.outputs)}"
        )
    (inp,), (out,) = project.inputs, project.outputs
    for side, port in (("in", inp), ("out", out)):
        want = (meta[side]["tdata_bits"], meta[side]["words_per_frame"])
        if want != (port.bits, port.words):
            raise VerificationError(
                f"vectors {vectors} have {want[0]}-bit x {want[1]} words per frame on the "
                f"{side}put, the HLS top {port.bits}-bit x {port.words}"
            )
    n = min(frames or int(meta["frames"]), int(meta["frames"]))
    binary, compile_s = compile_project(project, cache)
    build = Path(build_dir).resolve()
    build.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(binary, build / BINARY)
    os.chmod(build / BINARY, 0o755)
    got = build / "output.hex"
    data = _run(build / BINARY, n,
                [vectors / meta["files"]["input"], got, vectors / meta["files"]["expected"]],
                build)
    report = CsimReport(
        frames=int(data["frames"]), words_compared=int(data["words"]),
        mismatches=int(data["mismatches"]), first_mismatch=data["first_mismatch"],
        errors=tuple(data["errors"]), seconds=float(data["seconds"]),
        compile_seconds=compile_s, binary=build / BINARY,
    )
    (build / "csim_report.json").write_text(json.dumps(report.to_json(), indent=2) + "\n")
    if not report.passed:
        first = report.first_mismatch
        where = (f"first at frame {first['frame']} word {first['word']}: expected "
                 f"{first['expected']}, got {first['got']}" if first else "")
        raise VerificationError(
            f"C-simulation of {project.out_dir}: {report.mismatches} of "
            f"{report.words_compared} words differ {where}"
            + "".join(f"\n  {e}" for e in report.errors)
        )
    return report


def run_kernel(k: KernelInstance, inputs: Sequence[IntArray], work_dir: Path,
               cache: Path | None = None) -> tuple[IntArray, ...]:
    """A kernel's HLS outputs for input values ``inputs`` (one (frames, values per frame)
    array per streamed input, as :meth:`Kernel.golden` takes them): the kernel alone is
    emitted as a top (graph.single_kernel), compiled and called once per frame. Returns
    one (frames, values per frame) array per output."""
    return run_kernels([k], [inputs], work_dir, cache)[0]


def run_kernels(ks: Sequence[KernelInstance], inputs: Sequence[Sequence[IntArray]],
                work_dir: Path, cache: Path | None = None) -> list[tuple[IntArray, ...]]:
    """:func:`run_kernel` for several kernels in one compile: side by side in one top
    (graph.side_by_side), each on its own ports, the same number of frames each."""
    graph = side_by_side(ks, name="csim_kernels")
    work = Path(work_dir).resolve()
    project = emit_hls(graph, work / "hls")
    frames = {len(x) for xs in inputs for x in xs}
    if len(frames) != 1:
        raise ValueError(f"every input needs the same number of frames, got {sorted(frames)}")
    (n,) = frames
    ins: list[Path] = []
    outs: list[Path] = []
    for k, xs in zip(ks, inputs, strict=True):
        for i, (fmt, x) in enumerate(zip(k.inputs, xs, strict=True)):
            words = pack_words(np.asarray(x).reshape(-1), fmt.elem_bits, fmt.elems)
            digits = (fmt.tdata_bits + 3) // 4
            path = work / f"{k.instance_name}_in{i}.hex"
            path.write_text("".join(f"{w:0{digits}x}\n" for w in words))
            ins.append(path)
        outs += [work / f"{k.instance_name}_out{i}.hex" for i in range(len(k.outputs))]
    binary, _ = compile_project(project, cache)
    data = _run(binary, n, [*ins, *outs], work)
    if data["errors"]:
        raise VerificationError("C-simulation of kernels: " + "; ".join(data["errors"]))
    result: list[tuple[IntArray, ...]] = []
    it = iter(outs)
    for k in ks:
        ys = []
        for fmt in k.outputs:
            words = [int(line, 16) for line in next(it).read_text().split()]
            ys.append(unpack_words(words, fmt.elem_bits, fmt.elems, fmt.signed).reshape(n, -1))
        result.append(tuple(ys))
    return result
