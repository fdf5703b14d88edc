"""What the CLI prints with: the consoles of the running command, progress (a live bar on
a terminal, plain lines in a pipe or a CI log) and listings that never cut a name."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from codesign.errors import CodesignError

T = TypeVar("T")


class _Consoles:
    """The consoles of the running command, made when it starts: rich reads the terminal
    width (``COLUMNS``) when a console is made, so one made at import would keep the width
    of whoever imported the package first."""

    out: Console | None = None
    err: Console | None = None


def start_command() -> None:
    """Make fresh consoles for a command (the app's callback calls this)."""
    _Consoles.out, _Consoles.err = Console(), Console(stderr=True)


def console() -> Console:
    if _Consoles.out is None:
        start_command()
    assert _Consoles.out is not None
    return _Consoles.out


def err_console() -> Console:
    if _Consoles.err is None:
        start_command()
    assert _Consoles.err is not None
    return _Consoles.err


def guard(fn: Callable[[], T]) -> T:
    """Run ``fn``; a :class:`CodesignError` becomes one red line and exit status 2."""
    try:
        return fn()
    except CodesignError as error:
        err_console().print(f"[red]error:[/] {error}", soft_wrap=True, highlight=False)
        raise typer.Exit(2) from None


def fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def print_json(data: Any) -> None:
    """``data`` as JSON on stdout, unstyled (for ``--json``)."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


# ----------------------------------------------------------------------------- progress


class _BarProgress:
    """On a terminal: one line per finished step, a bar with ETA per training run."""

    def __init__(self, bar: Progress) -> None:
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}

    def step(self, name: str, status: str, seconds: float | None = None) -> None:
        if status == "start":
            return
        note = "reused" if status == "cached" else f"{seconds:.1f} s"
        self.bar.console.print(f"[green]✓[/] {name:<8} {note}")

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None:
        if run not in self.tasks:
            self.tasks[run] = self.bar.add_task(f"train {run}", total=total)
        desc = f"train {run} loss {loss:.3f}"
        self.bar.update(self.tasks[run], completed=epoch, description=desc)


class _LineProgress:
    """In a pipe or a log: a plain line when a step starts and when it ends, and a line
    every tenth of a training run, so that a long step never looks hung."""

    def __init__(self, out: Console) -> None:
        self.out = out
        self.started: dict[str, float] = {}

    def _line(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False, soft_wrap=True)
        self.out.file.flush()

    def step(self, name: str, status: str, seconds: float | None = None) -> None:
        if status == "start":
            self.started[name] = time.monotonic()
            self._line(f"{name}: started")
        elif status == "cached":
            self._line(f"{name}: reused")
        else:
            took = seconds if seconds is not None else time.monotonic() - self.started[name]
            self._line(f"{name}: {status} in {took:.1f} s")

    def epoch(self, run: str, epoch: int, total: int, loss: float) -> None:
        if epoch == total or epoch % max(1, total // 10) == 0:
            self._line(f"train {run}: epoch {epoch}/{total}, loss {loss:.3f}")


@contextmanager
def progress() -> Iterator[_BarProgress | _LineProgress]:
    """The flow's progress reporter for this command's output."""
    out = console()
    if not out.is_terminal:
        yield _LineProgress(out)
        return
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    with Progress(*columns, console=out, transient=True) as bar:
        yield _BarProgress(bar)


@contextmanager
def point_progress(title: str) -> Iterator[Callable[[int, int, str, str], None]]:
    """A sweep's progress: a bar on a terminal, else a plain line per finished point."""
    out = console()
    if not out.is_terminal:
        def line(done: int, total: int, digest: str, status: str) -> None:
            out.print(f"{title}: {digest} {status} ({done}/{total})", markup=False,
                      highlight=False, soft_wrap=True)
            out.file.flush()
        yield line
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn(),
                  console=out) as bar:
        task = bar.add_task(title, total=None)

        def update(done: int, total: int, digest: str, status: str) -> None:
            bar.update(task, completed=done, total=total)
            bar.console.print(f"{'[green]✓' if status == 'done' else '[red]✗'}[/] {digest}")
        yield update


# ----------------------------------------------------------------------------- listings


def aligned(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """``rows`` under ``header`` in columns padded to their widest cell. Nothing is cut or
    wrapped inside a cell, so every name can be copied or grepped whole; a line wider than
    the terminal wraps there, never in a pipe."""
    table = [list(header), *(list(r) for r in rows)]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in table]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def detail(label: str, items: Sequence[str], width: int, indent: int = 4) -> list[str]:
    """``label: a, b, c`` wrapped to ``width`` between items only (an item is never split)."""
    text = ", ".join(items) if items else "-"
    first = " " * indent + f"{label}: "
    # a non-breaking stand-in keeps each item whole; textwrap then breaks only after ", "
    glued = text.replace(" ", "\0").replace(",\0", ", ")
    lines = textwrap.wrap(glued, width=max(width, len(first) + 20), initial_indent=first,
                          subsequent_indent=" " * len(first), break_long_words=False,
                          break_on_hyphens=False)
    return [line.replace("\0", " ") for line in lines]


def print_lines(lines: Sequence[str]) -> None:
    """Plain lines on stdout: no markup, highlighting or re-wrapping by rich."""
    out = console()
    for line in lines:
        out.print(line, markup=False, highlight=False, soft_wrap=True)
