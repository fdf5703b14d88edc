"""The registry listings: ``codesign doctor``, ``kernels`` and ``boards``. Every name a
user types (a board, an op type, a module, a tool path) is printed whole at any width;
``--json`` gives the same facts to scripts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from codesign.cli.output import (
    aligned,
    console,
    detail,
    guard,
    print_json,
    print_lines,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON instead of a listing")]


def doctor(as_json: JsonOpt = False) -> None:
    """Tool and library versions.

    Exits with status 1 when a required open tool is missing.
    """
    from codesign.doctor import diagnose

    report = diagnose()
    if as_json:
        print_json(report.to_dict())
    else:
        print_lines(report.format_table().splitlines())
    if not report.ok:
        raise typer.Exit(1)


def _kernel_facts() -> list[dict[str, Any]]:
    from codesign.backends.rtl import module_parameters
    from codesign.dataflow.kernels import kernels

    return [
        {
            "kernel": k.name,
            "op_types": list(k.op_types),
            "rtl_module": k.rtl_module,
            "parameters": module_parameters(k.rtl_module),
            "folding": [{"attribute": a, "divides": size} for a, size in k.fold],
            "backends": list(k.backends),
            "lowers": [{"op_type": op.op_type, "becomes": op.becomes, "on_host": op.on_host}
                       for lw in k.lowerings for op in lw.lowers],
            "created_by": ([lw.name for lw in k.lowerings] or [k.created_by]),
        }
        for k in kernels()
    ]


def kernels(as_json: JsonOpt = False) -> None:
    """The kernel registry.

    Each kernel's line holds its name, the op types it implements (FINN's or codesign's),
    its RTL module and backends; the lines below it its module parameters, its folding
    attributes (and the dimension each must divide) and the ONNX ops it lowers.
    """
    facts = _kernel_facts()
    if as_json:
        print_json(facts)
        return
    width = console().width
    rows = [(k["kernel"], ", ".join(k["op_types"]), k["rtl_module"], ", ".join(k["backends"]))
            for k in facts]
    lines = aligned(("kernel", "op types", "RTL module", "backends"), rows)
    body = []
    for line, k in zip(lines[2:], facts, strict=True):
        body += [line, *detail("parameters", k["parameters"], width),
                 *detail("folding", [f"{f['attribute']} | {f['divides']}"
                                     for f in k["folding"]], width),
                 *detail("lowers", [f"{op['op_type']} -> {op['becomes']}"
                                    for op in k["lowers"]], width)]
    print_lines(["codesign kernels", *lines[:2], *body])


def _board_facts() -> list[dict[str, Any]]:
    from codesign.board.registry import get_board, list_boards

    facts = []
    for b in guard(lambda: [get_board(n) for n in list_boards()]):
        facts.append({
            "board": b.name, "part": b.part, "family": b.family, "flow": b.flow,
            "clock_mhz": b.clock_mhz, "resources": dict(b.resources),
            "units": {k: v.split(" (")[0] for k, v in b.units().items()},
        })
    return facts


def boards(as_json: JsonOpt = False) -> None:
    """The board registry.

    Part, family, flow, clock and resources of every board.

    Resources are in the family's own units (an iCE40 LUT is a LUT4, a ZCU104 LUT a LUT6);
    the unit follows each count.
    """
    facts = _board_facts()
    if as_json:
        print_json(facts)
        return
    width = console().width
    rows = [(b["board"], b["family"], b["part"], b["flow"], f"{b['clock_mhz']:g}")
            for b in facts]
    lines = aligned(("board", "family", "part", "flow", "MHz"), rows)
    body = []
    for line, b in zip(lines[2:], facts, strict=True):
        counts = [f"{k} {v:,} {b['units'][k]}".removesuffix(f" {k}")
                  for k, v in b["resources"].items()]
        body += [line, *detail("resources", counts, width)]
    print_lines(["codesign boards", *lines[:2], *body])
