"""RTL backend: the SystemVerilog top level that wires rtl/ kernels, plus ROM files.

Only the top level is generated (instances, wires, parameter values, hls4ml style);
every kernel body comes unchanged from the rtl/ library.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from codesign.cache import files_digest
from codesign.dataflow.graph import StreamGraph, body_instance, stream_names, top_ports
from codesign.dataflow.kernels import KernelInstance
from codesign.paths import data_dir

TOP = "accel_top"


@dataclass(frozen=True)
class RtlProject:
    """A generated RTL project: top module, the full source list and the ROM files."""

    top: str
    top_file: Path
    sources: tuple[Path, ...]
    filelist: Path
    memories: tuple[Path, ...]

    def stage_memories(self, work_dir: Path) -> None:
        """Copy the ROM files into the directory a tool runs in.

        The top level names ROM files without a directory, so ``$readmemh`` resolves
        them against the tool's working directory: the project stays relocatable and
        sandboxed tools (the WebAssembly Yosys) need no access outside their folder.
        """
        work_dir.mkdir(parents=True, exist_ok=True)
        for mem in self.memories:
            shutil.copyfile(mem, work_dir / mem.name)


def load_rtl_project(out_dir: Path) -> RtlProject:
    """The project :func:`emit_rtl` wrote into ``out_dir`` (for steps that run later)."""
    out = Path(out_dir).resolve()
    sources = tuple(Path(line) for line in (out / "filelist.f").read_text().split())
    return RtlProject(
        top=TOP, top_file=out / f"{TOP}.sv", sources=sources, filelist=out / "filelist.f",
        memories=tuple(sorted((out / "mem").glob("*.mem"))),
    )


def library_sources() -> tuple[Path, ...]:
    """Every kernel of the rtl/ library."""
    return tuple(sorted(data_dir("rtl").glob("*.sv")))


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_INSTANCE = re.compile(r"\b(cs_\w+)\s*(?:#\s*\(|\w+\s*\()")
_PACKAGE_USE = re.compile(r"\b(cs_\w+)\s*::")


def module_sources(modules: Iterable[str]) -> tuple[Path, ...]:
    """The rtl/ files of ``modules`` and of every library module they instantiate and
    package they use (``cs_pkg::name``), packages first: a package must be compiled
    before its users (Icarus, Verilator and Yosys read the files in this order).

    Projects list only these, so a kernel's synth cache key (and a tool's parse) covers
    only its own sources: an edit to one kernel leaves the others' cache entries valid.

    >>> [p.name for p in module_sources(["cs_mvau"])]
    ['cs_pkg.sv', 'cs_act_tail.sv', 'cs_counter.sv', 'cs_fifo.sv', 'cs_mac_lanes.sv', \
'cs_mvau.sv', 'cs_thresh_search.sv']
    """
    rtl = data_dir("rtl")
    todo, seen, packages = list(modules), set[str](), set[str]()
    while todo:
        module = todo.pop()
        if module in seen:
            continue
        src = rtl / f"{module}.sv"
        if not src.is_file():
            raise FileNotFoundError(f"module {module} is not in the rtl/ library ({src})")
        seen.add(module)
        text = _COMMENT.sub("", src.read_text())
        todo += [m for m in _INSTANCE.findall(text) if m != module]
        used = set(_PACKAGE_USE.findall(text)) - {module}
        packages |= used
        todo += sorted(used)
    return tuple(rtl / f"{m}.sv" for m in [*sorted(packages), *sorted(seen - packages)])


def library_digest(modules: Iterable[str] | None = None) -> str:
    """Digest of the kernel library's sources (of ``modules`` and what they instantiate,
    when given): a build made with other kernels is stale."""
    srcs = library_sources() if modules is None else module_sources(modules)
    return files_digest({src.name: src for src in srcs})[:16]


def module_parameters(module: str) -> list[str]:
    """Parameter names of an rtl/ library module, in declaration order.

    >>> module_parameters("cs_fifo")
    ['WIDTH', 'DEPTH']
    """
    src = data_dir("rtl") / f"{module}.sv"
    if not src.is_file():
        raise FileNotFoundError(f"module {module} is not in the rtl/ library ({src})")
    text = src.read_text()
    header = text[text.index(f"module {module}"):]
    header = header[: header.index(");")]
    return re.findall(r"parameter\s+(?:[\w\[\]:-]+\s+)*?(\w+)\s*=", header)


def _param_value(value: int | str) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)


def _instance(k: KernelInstance, params: dict[str, int | str], wires_in: list[str],
              wires_out: list[str], ovf: str | None) -> str:
    ins, outs = k.kernel.rtl_ports(k)
    ports = [".ap_clk(ap_clk)", ".ap_rst_n(ap_rst_n)"]
    for port, wire in zip(ins, wires_in, strict=True):
        ports += [f".{port}_tvalid({wire}_tvalid)", f".{port}_tready({wire}_tready)",
                  f".{port}_tdata({wire}_tdata)"]
    for port, wire in zip(outs, wires_out, strict=True):
        ports += [f".{port}_tvalid({wire}_tvalid)", f".{port}_tready({wire}_tready)",
                  f".{port}_tdata({wire}_tdata)"]
    if ovf is not None:
        ports.append(f".ovf({ovf})")
    param_text = ",\n".join(f"    .{n}({_param_value(v)})" for n, v in params.items())
    port_text = ",\n".join(f"    {p}" for p in ports)
    return f"  {k.module} #(\n{param_text}\n  ) {k.instance_name} (\n{port_text}\n  );\n"


def _ports(graph: StreamGraph, monitor_overflow: bool) -> list[str]:
    s_names, m_names = top_ports(graph)
    ports = ["  input  logic ap_clk", "  input  logic ap_rst_n"]
    for e in graph.inputs:
        p = s_names[e.name]
        ports += [f"  input  logic {p}_tvalid", f"  output logic {p}_tready",
                  f"  input  logic [{e.fmt.tdata_bits - 1}:0] {p}_tdata"]
    for e in graph.outputs:
        p = m_names[e.name]
        ports += [f"  output logic {p}_tvalid", f"  input  logic {p}_tready",
                  f"  output logic [{e.fmt.tdata_bits - 1}:0] {p}_tdata"]
    if monitor_overflow:
        ports.append(f"  output logic [{max(1, len(graph.monitored)) - 1}:0] ovf")
    return ports


def _wire(name: str, bits: int, comment: str) -> list[str]:
    return [f"  // {comment}", f"  logic {name}_tvalid, {name}_tready;",
            f"  logic [{bits - 1}:0] {name}_tdata;"]


def body_module(module: str, k: KernelInstance) -> str:
    """Module name of loop ``k``'s body inside ``module``."""
    return f"{module}_{k.instance_name[2:]}_body"


def _body_instance(module: str, k: KernelInstance, ovf: str | None) -> str:
    """The body of loop ``k``: its module fed by the controller's ``mb_axis`` and feeding
    its ``sb_axis`` (the wires ``<body instance>_in`` / ``_out``)."""
    b = body_instance(k)
    ports = [".ap_clk(ap_clk)", ".ap_rst_n(ap_rst_n)"]
    for port, wire in (("s_axis", f"{b}_in"), ("m_axis", f"{b}_out")):
        ports += [f".{port}_{sig}({wire}_{sig})" for sig in ("tvalid", "tready", "tdata")]
    if ovf is not None:
        ports.append(f".ovf({ovf})")
    port_text = ",\n".join(f"    {p}" for p in ports)
    return f"  {body_module(module, k)} {b} (\n{port_text}\n  );\n"


def top_source(
    graph: StreamGraph, memory_paths: dict[tuple[str, str], Path], monitor_overflow: bool = True,
    module: str = TOP,
) -> str:
    """SystemVerilog text of the top level: kernels wired by one AXI-Stream per edge.

    With ``monitor_overflow`` the accumulating kernels' overflow monitors drive the
    ``ovf`` port (for verification); without, the kernels are built without them
    (``OVF_MONITOR = 0``). A loop node is its controller and one instance of its body's module
    (:func:`body_module`, written by :func:`emit_rtl`), whose monitors take their place
    in ``ovf`` (in :meth:`StreamGraph.walk` order).
    """
    lines = [
        f"// Generated by codesign from the FINN dataflow graph of '{graph.name}'.",
        "// Kernels come from the rtl/ library; only this top level is generated.",
        "// ovf[i]: sticky accumulator-overflow monitor of the i-th accumulating kernel."
        if monitor_overflow else "// No overflow monitors (OVF_MONITOR = 0).",
        f"module {module} (",
        ",\n".join(_ports(graph, monitor_overflow)),
        ");",
    ]
    wire = stream_names(graph)
    for e in (x for x in graph.edges if x.src is not None and x.dst is not None):
        lines += _wire(wire[e.name], e.fmt.tdata_bits,
                       f"{e.name}: {e.src.node if e.src else ''} -> {e.dst.node if e.dst else ''}")
    if monitor_overflow and not graph.monitored:
        lines.append("  assign ovf = 1'b0;")
    body = []
    mon = 0
    for k in graph.nodes:
        params = dict(k.params)
        for key in k.memories:
            params[key] = memory_paths[(k.node, key)].name
        ovf = None
        if k.has_ovf and monitor_overflow:
            ovf = f"ovf[{mon}]"
            mon += 1
        elif k.has_ovf:  # no monitor built, whether or not synthesis flattens
            params["OVF_MONITOR"] = 0
        ins = [wire[e.name] for e in graph.in_edges(k.node)]
        outs = [wire[e.name] for e in graph.out_edges(k.node)]
        if k.body is not None:
            b = body_instance(k)
            for end in ("in", "out"):
                lines += _wire(f"{b}_{end}", k.inp.tdata_bits, f"{k.node}: body stream {end}")
            ins, outs = [*ins, f"{b}_out"], [*outs, f"{b}_in"]
        body.append(_instance(k, params, ins, outs, ovf))
        if k.body is not None:
            n = len(k.body.monitored)
            body_ovf = f"ovf[{mon + n - 1}:{mon}]" if monitor_overflow and n else None
            mon += n
            body.append(_body_instance(module, k, body_ovf))
    return "\n".join(lines) + "\n\n" + "\n".join(body) + "endmodule\n"


def _write_modules(graph: StreamGraph, memory_paths: dict[tuple[str, str], Path],
                   monitor_overflow: bool, module: str, out: Path) -> list[Path]:
    """Write ``module`` for ``graph`` and, before it, every loop body's module (a body
    monitors overflow when its loop's top does); returns the files, bodies first."""
    files: list[Path] = []
    for k in graph.nodes:
        if k.body is not None:
            files += _write_modules(k.body, memory_paths, monitor_overflow and bool(
                k.body.monitored), body_module(module, k), out)
    path = out / f"{module}.sv"
    path.write_text(top_source(graph, memory_paths, monitor_overflow, module))
    return [*files, path]


def emit_rtl(graph: StreamGraph, out_dir: Path, monitor_overflow: bool = True) -> RtlProject:
    """Write the top level, ROM files (``out_dir/mem``) and a file list into ``out_dir``."""
    out = Path(out_dir).resolve()
    mem_dir = out / "mem"
    mem_dir.mkdir(parents=True, exist_ok=True)
    for stale in mem_dir.glob("*.mem"):  # load_rtl_project lists every file here
        stale.unlink()
    memory_paths: dict[tuple[str, str], Path] = {}  # parameter values (file / base name)
    memory_files: list[Path] = []
    for _, k in graph.walk():
        for key, mem in k.memories.items():
            path = mem_dir / f"{k.instance_name[2:]}_{mem.kind}{mem.file_suffix}"
            memory_files += mem.write(path)
            memory_paths[(k.node, key)] = path
    for stale in out.glob(f"{TOP}_*_body.sv"):
        stale.unlink()
    generated = _write_modules(graph, memory_paths, monitor_overflow, TOP, out)
    top_file = generated[-1]
    sources = (*module_sources(k.module for _, k in graph.walk()), *generated)
    filelist = out / "filelist.f"
    filelist.write_text("".join(f"{p}\n" for p in sources))
    return RtlProject(
        top=TOP, top_file=top_file, sources=sources, filelist=filelist,
        memories=tuple(memory_files),
    )
