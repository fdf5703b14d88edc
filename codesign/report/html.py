"""One self-contained HTML file: inline CSS, figures as base64 data URIs, no scripts and
no external references."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from html import escape
from pathlib import Path

from codesign.report.tables import Table

CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 1200px; color: #222; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 2em;
     border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: right; }
th { background: #f2f2f2; } td:first-child, th:first-child { text-align: left; }
tr.paper td { background: #fff7d6; font-weight: bold; }
tr.failed td { color: #999; } tr.bad td { background: #fde2e2; }
tr.total td { font-style: italic; }
.note { font-size: 0.85em; color: #555; max-width: 60em; }
.scroll { overflow-x: auto; }
figure { margin: 1em 0; } figcaption { font-size: 0.85em; color: #555; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
ul.sources { font-size: 0.85em; font-family: monospace; }
"""


def table_html(table: Table) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in table.columns)
    body = []
    for k, row in enumerate(table.rows):
        cls = table.row_classes[k] if k < len(table.row_classes) else ""
        attr = f' class="{escape(cls)}"' if cls else ""
        cells = "".join(f"<td>{escape(v)}</td>" for v in row)
        body.append(f"<tr{attr}>{cells}</tr>")
    if not body:
        body.append(f'<tr><td colspan="{len(table.columns)}">no data</td></tr>')
    note = f'<p class="note">{escape(table.note)}</p>' if table.note else ""
    return (
        f'<h2 id="{escape(table.key)}">{escape(table.title)}</h2>\n<div class="scroll"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{note}\n"
    )


def figure_html(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>\n"
    )


def render(
    title: str,
    intro: Sequence[str],
    sources: Sequence[str],
    paper_section: str,
    figures: Sequence[tuple[Path, str]],
    tables: Sequence[Table],
    notes: Sequence[str] = (),
) -> str:
    """The whole document as a string (deterministic for equal inputs)."""
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>",
        f"<h1>{escape(title)}</h1>",
    ]
    parts += [f"<p>{escape(p)}</p>" for p in intro]
    parts.append('<ul class="sources">')
    parts += [f"<li>{escape(s)}</li>" for s in sources]
    parts.append("</ul>")
    parts.append(paper_section)
    if figures:
        parts.append('<h2 id="figures">Figures</h2>')
        parts += [figure_html(p, c) for p, c in figures]
    parts += [table_html(t) for t in tables]
    if notes:
        parts.append('<h2 id="notes">Notes</h2><ul class="note">')
        parts += [f"<li>{escape(n)}</li>" for n in notes]
        parts.append("</ul>")
    parts.append("</body></html>\n")
    return "\n".join(parts)
