"""Fit first: a design's synthesized resources against the board's budget, refused with
the resource, what it needs, what the board has and the change that would help.

>>> from codesign.board.registry import get_board
>>> check_fit({"LUT": 9000, "FF": 100, "EBR": 2}, get_board("icebreaker"), "accel")
Traceback (most recent call last):
...
codesign.synth.fit.FitError: accel does not fit icebreaker: LUT (SB_LUT4) needs 9000, \
budget 4224 (80% of 5280 available); fold more (a larger fold.target_cycles, or smaller \
PE/SIMD in fold.layers: fewer MACs in parallel) or narrow quant.act_bits (fewer and \
narrower thresholds, smaller ROMs)
>>> over_budget({"LUT": 100, "DSP": 9}, get_board("icebreaker"))
{'DSP': 9}
"""

from __future__ import annotations

from collections.abc import Mapping

from codesign.board.registry import Board
from codesign.errors import CodesignError

_FOLD = (
    "fold more (a larger fold.target_cycles, or smaller PE/SIMD in fold.layers: fewer MACs "
    "in parallel)"
)
HINTS: dict[str, str] = {
    "LUT": f"{_FOLD} or narrow quant.act_bits (fewer and narrower thresholds, smaller ROMs)",
    "FF": f"{_FOLD} or narrow quant.act_bits / quant.weight_bits (narrower pipelines)",
    "CARRY": f"{_FOLD} or narrow quant.acc_bits (shorter adders)",
    "DSP": f"{_FOLD}, or narrow quant.weight_bits / quant.act_bits so that products fit LUTs",
    "LUTRAM": f"{_FOLD}, or smaller FIFOs or a smaller loop frame buffer (an ODE's "
              "model.channels, model.pool)",
}
_MEMORY = (
    "lower PE (each PE reads its own weight ROM; fewer, deeper ROMs pack block RAM "
    "better) or narrow quant.weight_bits; a loop's frame buffer holds one feature map "
    "(an ODE's: fewer model.channels, or model.pool); at large frames the FIFOs sized "
    "by simulation may hold most of a feature map (the fifos step's peaks name them)"
)
for _mem in ("BRAM36", "URAM", "EBR", "SPRAM", "BSRAM"):
    HINTS[_mem] = _MEMORY


class FitError(CodesignError):
    """A design needs more of a resource than the board's budget allows."""


def over_budget(totals: Mapping[str, float], board: Board) -> dict[str, float]:
    """Classes whose use exceeds the board's planning budget: class -> amount used."""
    budget = board.budget()
    return {k: v for k, v in totals.items() if k in budget and v > budget[k]}


def check_fit(totals: Mapping[str, float], board: Board, design: str) -> None:
    """Raise :class:`FitError` naming every resource of ``totals`` over the budget."""
    over = over_budget(totals, board)
    if not over:
        return
    budget, units = board.budget(), board.units()
    parts = []
    for cls, used in over.items():
        avail = board.resources[cls]
        limit = board.limits.get(cls, 1.0)
        of = f"{limit:.0%} of {avail} available" if limit < 1.0 else "all available"
        need = int(used) if float(used).is_integer() else used
        hint = HINTS.get(cls, _FOLD)
        parts.append(f"{cls} ({units[cls]}) needs {need}, budget {budget[cls]} ({of}); {hint}")
    raise FitError(f"{design} does not fit {board.name}: " + "; ".join(parts))
