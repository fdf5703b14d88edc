"""Reports: accuracy vs accumulator width vs resources vs cycles, side by side with the
A2Q paper — PNG figures and one self-contained HTML file::

    from codesign.report import build_report
    res = build_report([Path("out/demo/results.json"), Path("out/sweep/store.sqlite")],
                       Path("out/report"))
    res.html, res.figures  # report.html, {"accuracy_vs_p": .../accuracy_vs_p.png, ...}
"""

from codesign.report.build import REPORT_NAME, ReportResult, build_report
from codesign.report.data import ReportError, Run, load_runs, load_source
from codesign.report.figures import pareto_front
from codesign.report.paper import (
    COMPRESSION_DEFINITION,
    PAPER,
    PaperComparison,
    PaperFigures,
    Reduction,
    WeightStats,
    compare_run,
    weight_stats,
)
from codesign.report.tables import Table

__all__ = [
    "COMPRESSION_DEFINITION",
    "PAPER",
    "REPORT_NAME",
    "PaperComparison",
    "PaperFigures",
    "Reduction",
    "ReportError",
    "ReportResult",
    "Run",
    "Table",
    "WeightStats",
    "build_report",
    "compare_run",
    "load_runs",
    "load_source",
    "pareto_front",
    "weight_stats",
]
