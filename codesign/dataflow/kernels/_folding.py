"""Folding checks for kernels whose folded size is not a single node attribute (a
product of a list attribute, a tensor shape's last axis)."""

from __future__ import annotations

from typing import Any

from codesign.dataflow.kernels._base import divisors
from codesign.errors import LoweringError


def check_divides(node: Any, attr: str, value: int, size_name: str, size: int) -> None:
    """Raise LoweringError naming the node and the allowed values unless the folding
    attribute ``attr`` = ``value`` divides ``size_name`` = ``size``."""
    allowed = divisors(size)
    if value not in allowed:
        raise LoweringError(
            f"illegal folding for node {node.name} ({node.op_type}): {attr}={value} does not "
            f"divide {size_name}={size}; allowed {attr} values: {', '.join(map(str, allowed))}"
        )
