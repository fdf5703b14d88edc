"""Accelerator resources from out-of-context synthesis of each kernel instance.

The generated top level only wires kernels together (no logic of its own), so an
accelerator's resources are the sum of its kernels'. Each distinct kernel (module,
parameters, ROM contents) is synthesized alone, like Vivado's per-IP out-of-context runs,
and flattened inside, as Vivado flattens an IP by default: how a kernel's RTL is split
into modules (the shared MAC lanes, the activation tail, counters) is a matter of source
organisation and must not move its resources. Kept hierarchical, Yosys/ABC map each
module apart, and splitting one kernel into shared modules moved its LUTs by up to 27 %
for the same netlist (``bench/results/rtl_datapath.json``). This buys two more things:

* **parallel runs**: the kernels go to a pool of Yosys processes, largest first;
* **a content-addressed cache**: a kernel's key digests everything its netlist depends
  on (module sources, parameters, ROM values, board family, Yosys version and script), so
  identical kernels (a design's FIFOs, every sweep point's width converters, an unchanged
  layer after an edit elsewhere) are synthesized once. Entries are written whole into a
  temporary folder and renamed into place, so concurrent workers never see half of one,
  and a worker that needs a kernel another is synthesizing waits for it (a per-key file
  lock) instead of running the same Yosys job beside it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from codesign.backends.rtl import emit_rtl, library_digest
from codesign.board.registry import Board
from codesign.cache import entry_lock, store_entry
from codesign.dataflow.graph import StreamGraph, single_kernel
from codesign.dataflow.kernels import KernelInstance
from codesign.synth.cells import sum_counts
from codesign.synth.fit import check_fit
from codesign.synth.yosys import synthesize
from codesign.synth.yosys_script import RESULT_JSON, flatten_flags, recipe_digest
from codesign.tools import default_jobs, find_tool, tool_version

#: What a kernel's cache entry (a folder named by its key) holds.
ENTRY_FILES = (RESULT_JSON, "yosys.log")


@dataclass(frozen=True)
class KernelResources:
    """One kernel instance's out-of-context synthesis."""

    instance: str
    module: str
    key: str
    """Cache key (content digest); equal keys mean equal netlists."""
    total: dict[str, float]
    seconds: float
    """Yosys wall time (0 when served from the cache or by an identical instance)."""
    source: str
    """``yosys`` (ran here), ``cache`` or ``same as <instance>`` (identical kernel)."""
    role: str = ""
    """The kernel's role (e.g. ``attention``), which reports total over."""


@dataclass(frozen=True)
class AcceleratorResources:
    """Resources of an accelerator: the sum over its kernels, per board resource class."""

    board: str
    part: str
    total: dict[str, float]
    percent: dict[str, float]
    """``100 * total / available`` for each class the board lists."""
    kernels: list[KernelResources]
    seconds: float
    """Wall time of this accelerator's synthesis jobs."""

    @property
    def per_instance(self) -> dict[str, dict[str, float]]:
        return {k.instance: k.total for k in self.kernels}

    def to_json(self, timing: bool = False) -> dict[str, object]:
        """The outcome; with ``timing`` also each kernel's seconds and where its result
        came from (bookkeeping that differs between equal runs)."""
        outcome = ("instance", "module", "key", "total")
        kernels = [
            {k: v for k, v in asdict(kr).items()
             if (timing or k in outcome) or (k == "role" and v)}
            for kr in self.kernels
        ]
        data: dict[str, object] = {
            "total": self.total,
            "percent": self.percent,
            "per_instance": self.per_instance,
            "kernels": kernels,
        }
        if timing:
            data["seconds"] = round(self.seconds, 1)
        return data


def kernel_key(k: KernelInstance, board: Board, tool: str) -> str:
    """Digest of everything the kernel's netlist depends on. ``tool`` identifies the Yosys
    build (its version line)."""
    h = hashlib.sha256()

    def feed(*parts: object) -> None:
        for part in parts:
            data = part if isinstance(part, bytes) else str(part).encode()
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)

    params = {n: v for n, v in k.params.items() if n not in k.memories}
    feed("kernel-v1", tool, recipe_digest(board, flatten_flags(board)), k.module)
    streams = [asdict(f) for f in (*k.inputs, *k.outputs)]
    feed(json.dumps(params, sort_keys=True), json.dumps(streams))
    feed(library_digest([k.module]))
    for name in sorted(k.memories):
        mem = k.memories[name]
        feed(name, mem.kind, mem.pe, mem.simd, mem.bits, mem.signed, mem.values.shape)
        feed(mem.values.astype("<i8").tobytes())
    return h.hexdigest()[:24]


def _cached(cache: Path | None, key: str) -> dict[str, float] | None:
    if cache is None:
        return None
    try:
        data = json.loads((cache / key / RESULT_JSON).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    total = data.get("totals")
    return total if isinstance(total, dict) else None


def _run_kernel(
    k: KernelInstance, board: Board, work: Path, key: str, cache: Path | None
) -> tuple[dict[str, float], float, str]:
    """Totals, Yosys seconds and source ("yosys", or "cache" when a concurrent worker
    synthesized the same kernel while this one waited for the entry's lock)."""
    if cache is None:
        return (*_synthesize_kernel(k, board, work), "yosys")
    with entry_lock(cache, key):
        if (hit := _cached(cache, key)) is not None:
            return hit, 0.0, "cache"
        totals, seconds = _synthesize_kernel(k, board, work)
        store_entry(cache, key, {name: work / name for name in ENTRY_FILES})
    return totals, seconds, "yosys"


def _synthesize_kernel(
    k: KernelInstance, board: Board, work: Path
) -> tuple[dict[str, float], float]:
    single = single_kernel(k, name=k.node)
    # the deployable kernel: built without its overflow monitor (OVF_MONITOR = 0)
    project = emit_rtl(single, work / "rtl", monitor_overflow=False)
    project.stage_memories(work)
    res = synthesize(list(project.sources), project.top, board, work,
                     flags=flatten_flags(board))
    return res.totals, res.seconds


def _cost(k: KernelInstance) -> int:
    """Rough synthesis effort, to start the longest runs first."""
    rom_bits = sum(int(m.values.size) * m.bits for m in k.memories.values())
    return rom_bits + int(k.params.get("PE", 1)) * int(k.params.get("SIMD", 1)) * 1000


_Known = dict[str, tuple[dict[str, float], float, str]]
"""Kernel key -> (resource totals, Yosys seconds, source: ``yosys`` or ``cache``)."""
_Todo = dict[str, tuple[KernelInstance, Path]]
"""Kernel key -> the first kernel with that key and its work folder."""


def _plan(designs: Mapping[str, StreamGraph], keys: Mapping[tuple[str, str], str],
          out_dir: Path, cache_dir: Path | None) -> tuple[_Known, _Todo]:
    """The kernels the cache holds, and those to synthesize (each key once)."""
    known: _Known = {}
    todo: _Todo = {}
    for name, acc in designs.items():
        for k in acc.nodes:
            key = keys[(name, k.instance_name)]
            if key in known or key in todo:
                continue
            if (cached := _cached(cache_dir, key)) is not None:
                known[key] = (cached, 0.0, "cache")
            else:
                todo[key] = (k, out_dir / name / k.instance_name)
    return known, todo


def _kernels(acc: StreamGraph, name: str, keys: Mapping[tuple[str, str], str],
             known: _Known, todo: _Todo, out_dir: Path) -> list[KernelResources]:
    """Design ``name``'s kernels; one synthesized for another instance with the same key
    says so (and costs no seconds of its own)."""
    kernels = []
    for k in acc.nodes:
        key = keys[(name, k.instance_name)]
        total, seconds, source = known[key]
        first = todo.get(key, (None, out_dir / name / k.instance_name))[1]
        if source == "yosys" and first != out_dir / name / k.instance_name:
            seconds, source = 0.0, f"same as {first.relative_to(out_dir)}"
        kernels.append(
            KernelResources(
                instance=k.instance_name, module=k.module, key=key,
                total=dict(total), seconds=round(seconds, 1), source=source,
                role=k.kernel.role,
            )
        )
    return kernels


def _accelerator(board: Board, kernels: list[KernelResources], wall: float
                 ) -> AcceleratorResources:
    total = sum_counts(kr.total for kr in kernels)
    percent = {
        cls: round(100.0 * float(total.get(cls, 0)) / avail, 3)
        for cls, avail in board.resources.items()
    }
    return AcceleratorResources(
        board=board.name, part=board.part, total=total, percent=percent,
        kernels=kernels, seconds=wall,
    )


def synthesize_accelerators(
    designs: Mapping[str, StreamGraph],
    board: Board,
    out_dir: Path,
    *,
    cache_dir: Path | None = None,
    jobs: int | None = None,
    must_fit: str | None = "accelerator",
) -> dict[str, AcceleratorResources]:
    """Synthesize every kernel of ``designs`` (name -> accelerator) out of context for
    ``board`` and sum them per design. The design named ``must_fit`` (the flow's
    ``accelerator``; a comparison twin may exceed the board) is refused with a
    :class:`~codesign.synth.fit.FitError` when its sum exceeds the board's budget.

    Kernel ``u_X`` of design ``name`` runs in ``out_dir/name/u_X`` (script, log,
    statistics). ``cache_dir`` (None: no cache) serves and stores kernels by
    :func:`kernel_key`; ``jobs`` Yosys processes run at once (default
    :func:`default_jobs`).
    """
    exe = find_tool("yosys")
    tool = (tool_version("yosys", exe) or str(exe)) if exe is not None else "yosys"
    out_dir = Path(out_dir)
    keys = {
        (name, k.instance_name): kernel_key(k, board, tool)
        for name, acc in designs.items()
        for k in acc.nodes
    }
    known, todo = _plan(designs, keys, out_dir, cache_dir)
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, jobs or default_jobs())) as pool:
        futures = {
            key: pool.submit(_run_kernel, k, board, work, key, cache_dir)
            for key, (k, work) in sorted(todo.items(), key=lambda kv: -_cost(kv[1][0]))
        }
        for key, future in futures.items():
            known[key] = future.result()
    wall = time.monotonic() - start
    results = {
        name: _accelerator(board, _kernels(acc, name, keys, known, todo, out_dir), wall)
        for name, acc in designs.items()
    }
    if must_fit is not None and must_fit in results:
        check_fit(results[must_fit].total, board, f"design {must_fit!r} (kernels summed)")
    return results
