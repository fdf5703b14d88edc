"""HLS backend: the C++ dataflow top level that calls hls/ kernels, plus its C-sim main.

Only the top level is generated (hls4ml style): one ``hls::stream`` per edge of the
stream graph with its FIFO depth, one kernel call per node in topological order with the
template arguments and constant arrays its kernel module gives (``Kernel.hls_call``), an
AXI-Stream interface with the port names and word packing of the RTL top. Every kernel
body comes unchanged from the hls/ library.

A project folder holds ``accel_top.hpp`` (the top's declaration), ``accel_top.cpp``,
``params/<instance>.hpp`` (the const arrays of one node), ``csim_main.cpp`` (reads the
test-vector files, calls the top once per frame, compares every word) and
``project.json`` (ports, widths, words per frame: what the C-sim runner checks the
vectors against).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.backends.words import value_range
from codesign.cache import files_digest
from codesign.dataflow.graph import StreamGraph, stream_names, top_ports
from codesign.dataflow.kernels import HlsArray, HlsCall, KernelInstance
from codesign.errors import LoweringError
from codesign.paths import data_dir

TOP = "accel_top"
PROJECT_FILE = "project.json"
_PARTITIONS = ("complete", "cyclic factor=", "block factor=")


@dataclass(frozen=True)
class HlsPort:
    """One AXI-Stream port of the top: name, tdata width, words per frame."""

    name: str
    bits: int
    words: int


@dataclass(frozen=True)
class HlsProject:
    """A generated HLS project (see the module docstring for its files)."""

    top: str
    out_dir: Path
    inputs: tuple[HlsPort, ...]
    outputs: tuple[HlsPort, ...]
    headers: tuple[str, ...]
    """The hls/ library headers the top includes."""

    @property
    def top_file(self) -> Path:
        return self.out_dir / f"{self.top}.cpp"

    @property
    def header(self) -> Path:
        return self.out_dir / f"{self.top}.hpp"

    @property
    def main_file(self) -> Path:
        return self.out_dir / "csim_main.cpp"

    @property
    def params(self) -> tuple[Path, ...]:
        return tuple(sorted((self.out_dir / "params").glob("*.hpp")))

    @property
    def generated(self) -> tuple[Path, ...]:
        """Every file emitted for this design (what a compile depends on besides hls/)."""
        return (self.header, self.top_file, *self.params, self.main_file)

    def to_json(self) -> dict[str, Any]:
        return {
            "top": self.top,
            "inputs": [vars(p) for p in self.inputs],
            "outputs": [vars(p) for p in self.outputs],
            "headers": list(self.headers),
        }


def library_dir() -> Path:
    """The hls/ kernel library (header-only)."""
    return data_dir("hls")


def library_digest() -> str:
    """Digest of the hls/ library: a C-sim made with other kernels is stale."""
    return files_digest({p.name: p for p in sorted(library_dir().glob("*.hpp"))})[:16]


def load_hls_project(out_dir: Path) -> HlsProject:
    """The project :func:`emit_hls` wrote into ``out_dir``."""
    out = Path(out_dir).resolve()
    data = json.loads((out / PROJECT_FILE).read_text())
    return HlsProject(
        top=data["top"], out_dir=out,
        inputs=tuple(HlsPort(**p) for p in data["inputs"]),
        outputs=tuple(HlsPort(**p) for p in data["outputs"]),
        headers=tuple(data["headers"]),
    )


# --------------------------------------------------------------------------- literals


def _literal(v: int, node: str, name: str) -> str:
    if -(1 << 31) <= v < (1 << 31):
        return str(v)
    if -(1 << 63) < v < (1 << 63):
        return f"{v}LL"
    raise LoweringError(
        f"node {node}: array {name} holds {v}, wider than the 64-bit literals the HLS "
        "top emits"
    )


def _initializer(values: np.ndarray, node: str, name: str) -> str:
    """Nested C initializer list of an integer array."""
    if values.ndim == 1:
        return "{" + ", ".join(_literal(int(v), node, name) for v in values) + "}"
    return "{" + ",\n ".join(_initializer(sub, node, name) for sub in values) + "}"


def _check_array(a: HlsArray, node: str) -> None:
    if not a.name.isidentifier():
        raise LoweringError(f"node {node}: HLS array name {a.name!r} is not a C identifier")
    if a.values.size == 0:
        raise LoweringError(f"node {node}: HLS array {a.name} is empty")
    if not 1 <= a.bits <= 64:
        raise LoweringError(
            f"node {node}: HLS array {a.name} has {a.bits}-bit elements; accepted: 1 to 64"
        )
    # the synthesized ROM holds `bits` bits, the C-sim's native integer more: a value out
    # of range would wrap in one and not the other
    lo, hi = value_range(a.bits, a.signed)
    if int(a.values.min()) < lo or int(a.values.max()) > hi:
        raise LoweringError(
            f"node {node}: HLS array {a.name} holds values in [{int(a.values.min())}, "
            f"{int(a.values.max())}], outside the {a.bits}-bit "
            f"{'signed' if a.signed else 'unsigned'} range [{lo}, {hi}]"
        )
    for dim, how in a.partition:
        if not 1 <= dim <= a.values.ndim or not how.startswith(_PARTITIONS):
            raise LoweringError(
                f"node {node}: partition ({dim}, {how!r}) of array {a.name} (shape "
                f"{a.values.shape}); accepted: a dimension 1..{a.values.ndim} and one of "
                "complete, cyclic factor=N, block factor=N"
            )


def _array_name(k: KernelInstance, a: HlsArray) -> str:
    return f"{k.instance_name}_{a.name}"


def params_header(k: KernelInstance, call: HlsCall) -> str:
    """The const arrays of one node's call, as a header the top includes."""
    guard = f"CS_PARAMS_{k.instance_name.upper()}_HPP"
    lines = [
        f"// Generated by codesign: constant arrays of node {k.node} ({k.op_type}).",
        f"#ifndef {guard}", f"#define {guard}", "", '#include "cs_common.hpp"', "",
    ]
    for a in call.arrays:
        _check_array(a, k.node)
        dims = "".join(f"[{d}]" for d in a.values.shape)
        values = np.asarray(a.values, dtype=np.int64)
        ctype = f"cs::rom<{a.bits}, {'true' if a.signed else 'false'}>::type"
        lines.append(f"static const {ctype} {_array_name(k, a)}{dims} =")
        lines.append(_initializer(values, k.node, a.name) + ";")
        lines.append("")
    lines.append("#endif")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the top


def _stream_type(bits: int) -> str:
    return f"hls::stream<ap_uint<{bits}>>"


def _signature(graph: StreamGraph, name: str = TOP) -> str:
    s_names, m_names = top_ports(graph)
    args = [f"{_stream_type(e.fmt.tdata_bits)}& {s_names[e.name]}" for e in graph.inputs]
    args += [f"{_stream_type(e.fmt.tdata_bits)}& {m_names[e.name]}" for e in graph.outputs]
    return f"void {name}({', '.join(args)})"


def body_function(function: str, k: KernelInstance) -> str:
    """Name of loop ``k``'s body function inside ``function``."""
    return f"{function}_{k.instance_name[2:]}_body"


def _function(graph: StreamGraph, calls: dict[str, HlsCall], name: str, top: bool) -> list[str]:
    """One DATAFLOW function of ``graph``: one stream per edge, one call per node (a loop
    also passes its body's function, emitted before it by :func:`top_source`); the top
    has the AXI-Stream interface."""
    s_names, m_names = top_ports(graph)
    names = stream_names(graph)
    lines = [f"{_signature(graph, name)} {{"]
    if top:
        lines += [*(f"#pragma HLS INTERFACE axis port={p}"
                    for p in [*s_names.values(), *m_names.values()]),
                  "#pragma HLS INTERFACE ap_ctrl_none port=return"]
    lines.append("#pragma HLS DATAFLOW")
    for k in graph.nodes:
        for a in calls[k.node].arrays:
            for dim, how in a.partition:
                lines.append(
                    f"#pragma HLS ARRAY_PARTITION variable={_array_name(k, a)} {how} dim={dim}"
                )
    depth = {}
    for k in graph.nodes:
        for e in graph.out_edges(k.node):
            depth[e.name] = max(2, calls[k.node].depth)
    for e in graph.edges:
        if e.src is None or e.dst is None:
            continue
        w = names[e.name]
        lines += [
            f"  // {e.name}: {e.src.node} -> {e.dst.node}, {e.words} words per frame",
            f'  {_stream_type(e.fmt.tdata_bits)} {w}("{w}");',
            f"#pragma HLS STREAM variable={w} depth={depth[e.name]}",
        ]
    for k in graph.nodes:
        call = calls[k.node]
        streams = [names[e.name] for e in (*graph.in_edges(k.node), *graph.out_edges(k.node))]
        extra = [body_function(name, k)] if k.body is not None else []
        args = ", ".join([*streams, *(_array_name(k, a) for a in call.arrays), *extra])
        targs = ", ".join(str(int(t)) for t in call.template_args)
        lines.append(f"  {call.function}<{targs}>({args});  // {k.node}")
    lines.append("}")
    return lines


def _functions(graph: StreamGraph, calls: dict[str, HlsCall], name: str, top: bool
               ) -> list[str]:
    """The function of ``graph`` after those of its loops' bodies."""
    lines: list[str] = []
    for k in graph.nodes:
        if k.body is not None:
            lines += [*_functions(k.body, calls, body_function(name, k), False), ""]
    return lines + _function(graph, calls, name, top)


def top_source(graph: StreamGraph, calls: dict[str, HlsCall]) -> str:
    """C++ text of the top function: one DATAFLOW region, one stream per edge, one call
    per node; a loop's body is a function of its own, called by the loop's kernel."""
    headers = sorted({c.header for c in calls.values()})
    lines = [
        f"// Generated by codesign from the FINN dataflow graph of '{graph.name}'.",
        "// Kernels come from the hls/ library; only this top level is generated.",
        f'#include "{TOP}.hpp"',
        "",
        *(f'#include "{h}"' for h in headers),
        *(f'#include "params/{k.instance_name}.hpp"' for _, k in graph.walk()
          if calls[k.node].arrays),
        "",
        *_functions(graph, calls, TOP, True),
    ]
    return "\n".join(lines) + "\n"


def header_source(graph: StreamGraph) -> str:
    guard = f"CS_{TOP.upper()}_HPP"
    return "\n".join([
        f"// Generated by codesign: the accelerator top of '{graph.name}'.",
        f"#ifndef {guard}", f"#define {guard}", "",
        "#include <ap_int.h>", "#include <hls_stream.h>", "",
        f"{_signature(graph)};", "", "#endif",
    ]) + "\n"


def main_source(inputs: tuple[HlsPort, ...], outputs: tuple[HlsPort, ...]) -> str:
    """The C-sim main: ``csim FRAMES IN.hex... OUT.hex... [EXPECTED.hex...]`` streams each
    frame's words into the top's inputs, calls it once, writes every output word and
    compares it with the expected file's (see hls/cs_csim.hpp)."""
    n_in, n_out = len(inputs), len(outputs)
    body = [
        f"// Generated by codesign: C-simulation of {TOP} on test-vector files.",
        f'#include "{TOP}.hpp"',
        '#include "cs_csim.hpp"',
        "",
        "#include <cstdlib>",
        "",
        "int main(int argc, char** argv) {",
        f"  if (argc != {2 + n_in + n_out} && argc != {2 + n_in + 2 * n_out}) {{",
        f'    std::cerr << "usage: " << argv[0] << " FRAMES{" IN.hex" * n_in}'
        f'{" OUT.hex" * n_out} [{" EXPECTED.hex" * n_out} ]" << std::endl;',
        "    return 2;",
        "  }",
        "  const long frames = std::atol(argv[1]);",
        "  cs::csim::Report r;",
    ]
    for i, p in enumerate(inputs):
        body += [
            f"  const std::vector<ap_uint<{p.bits}>> in{i} = "
            f"cs::csim::read_hex<{p.bits}>(argv[{2 + i}]);",
            f"  if ((long)in{i}.size() < frames * {p.words}) {{",
            f'    std::cerr << "csim: " << argv[{2 + i}] << " holds " << in{i}.size() '
            f'<< " words, " << frames << " frames need " << frames * {p.words} << std::endl;',
            "    return 2;",
            "  }",
            f'  {_stream_type(p.bits)} {p.name}("{p.name}");',
        ]
    for i, p in enumerate(outputs):
        body += [
            f"  std::vector<ap_uint<{p.bits}>> out{i};",
            f'  {_stream_type(p.bits)} {p.name}("{p.name}");',
        ]
    ports = ", ".join(p.name for p in (*inputs, *outputs))
    body += [
        "  const double t0 = cs::csim::now();",
        "  for (long f = 0; f < frames; f++) {",
        *(f"    cs::csim::feed({p.name}, in{i}, f, {p.words});" for i, p in enumerate(inputs)),
        f"    {TOP}({ports});",
        *(f'    cs::csim::check_consumed({p.name}, "{p.name}", f, r);' for p in inputs),
        *(f'    cs::csim::drain({p.name}, out{i}, "{p.name}", f, {p.words}, r);'
          for i, p in enumerate(outputs)),
        "  }",
        "  r.seconds = cs::csim::now() - t0;",
        "  r.frames = frames;",
        *(f"  cs::csim::write_hex(argv[{2 + n_in + i}], out{i});" for i in range(n_out)),
        f"  if (argc == {2 + n_in + 2 * n_out}) {{",
        *(f"    cs::csim::compare(out{i}, cs::csim::read_hex<{p.bits}>"
          f'(argv[{2 + n_in + n_out + i}]), "{p.name}", {p.words}, r);'
          for i, p in enumerate(outputs)),
        "  }",
        "  r.print();",
        "  return (r.mismatches || !r.errors.empty()) ? 1 : 0;  // a testbench's verdict",
        "}",
    ]
    return "\n".join(body) + "\n"


def emit_hls(graph: StreamGraph, out_dir: Path) -> HlsProject:
    """Write the top, its header, the per-node array headers, the C-sim main and
    ``project.json`` into ``out_dir``.

    Raises :class:`LoweringError` naming the node whose op has no HLS kernel (listing the
    ops that have one) or whose mode its kernel does not implement.
    """
    calls = {k.node: k.kernel.hls_call(k) for _, k in graph.walk()}
    out = Path(out_dir).resolve()
    shutil.rmtree(out / "params", ignore_errors=True)  # load_hls_project lists every file
    (out / "params").mkdir(parents=True)
    for _, k in graph.walk():
        if calls[k.node].arrays:
            (out / "params" / f"{k.instance_name}.hpp").write_text(params_header(k, calls[k.node]))
    s_names, m_names = top_ports(graph)
    project = HlsProject(
        top=TOP, out_dir=out,
        inputs=tuple(HlsPort(s_names[e.name], e.fmt.tdata_bits, e.words) for e in graph.inputs),
        outputs=tuple(HlsPort(m_names[e.name], e.fmt.tdata_bits, e.words)
                      for e in graph.outputs),
        headers=tuple(sorted({c.header for c in calls.values()})),
    )
    for h in project.headers:
        if not (library_dir() / h).is_file():
            raise LoweringError(f"HLS header {h} is not in the hls/ library ({library_dir()})")
    project.header.write_text(header_source(graph))
    project.top_file.write_text(top_source(graph, calls))
    project.main_file.write_text(main_source(project.inputs, project.outputs))
    (out / PROJECT_FILE).write_text(json.dumps(project.to_json(), indent=2) + "\n")
    return project
