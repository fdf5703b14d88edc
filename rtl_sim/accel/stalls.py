"""The stall pattern of the streaming harness (cs_axis_harness.sv), modelled in Python.

Each port has its own xorshift32 generator; the port stalls in a cycle when the
generator's low 16 bits are below ``threshold(probability)``. The HDL harness and the
Python driver draw the same bits from the same seed, so they stall on the same cycles.
"""

from __future__ import annotations

from collections.abc import Iterator

MASK32 = 0xFFFFFFFF


def xorshift32(x: int) -> int:
    """One step of Marsaglia's xorshift32 (shifts 13, 17, 5), as the harness computes it.

    >>> xorshift32(1)
    270369
    >>> xorshift32(xorshift32(1))
    67634689
    """
    x ^= (x << 13) & MASK32
    x ^= x >> 17
    return x ^ ((x << 5) & MASK32)


def threshold(probability: float) -> int:
    """The 16-bit compare value of a stall probability in [0, 1).

    >>> threshold(0.0), threshold(0.3), threshold(0.99999)
    (0, 19661, 65535)
    """
    if not 0.0 <= probability < 1.0:
        raise ValueError(f"stall probability {probability} is outside [0, 1)")
    return min(0xFFFF, round(probability * 0x10000))


def seeds(seed: int) -> tuple[int, int]:
    """Nonzero generator states of the input and the output port for a run seed.

    >>> seeds(0)
    (2654435769, 2246822507)
    >>> all(s != 0 for s in seeds(12345))
    True
    """
    s_in, s_out = ((seed * 0x27D4EB2F + k) & MASK32 for k in (0x9E3779B9, 0x85EBCA6B))
    return s_in or 1, s_out or 2


def stall_bits(state: int, probability: float) -> Iterator[bool]:
    """Endless per-cycle stall decisions of one port, starting from generator ``state``.

    >>> list(zip(range(4), stall_bits(1, 0.5)))
    [(0, True), (1, True), (2, True), (3, False)]
    """
    thr = threshold(probability)
    while True:
        yield (state & 0xFFFF) < thr
        state = xorshift32(state)
