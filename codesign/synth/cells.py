"""Yosys cell types per FPGA family, mapped to resource classes (the table is in
:mod:`codesign.synth.yosys`), and arithmetic on resource counts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

_XILINX_LUTRAM_LUTS: dict[str, int] = {
    "RAM16X1S": 1,
    "RAM16X1D": 2,
    "RAM32X1S": 1,
    "RAM32X1D": 2,
    "RAM64X1S": 1,
    "RAM64X1D": 2,
    "RAM128X1S": 2,
    "RAM128X1D": 4,
    "RAM256X1S": 4,
    "RAM256X1D": 8,
    "RAM512X1S": 8,
    "RAM32X16DR8": 8,
    "RAM64X8SW": 8,
    "RAM32M": 4,
    "RAM64M": 4,
    "RAM32M16": 8,
    "RAM64M8": 8,
    "SRL16E": 1,
    "SRLC16E": 1,
    "SRLC32E": 1,
    "CFGLUT5": 1,
}

_XILINX_FIXED: dict[str, tuple[str, float]] = {
    "LUT1": ("LUT", 1),
    "LUT2": ("LUT", 1),
    "LUT3": ("LUT", 1),
    "LUT4": ("LUT", 1),
    "LUT5": ("LUT", 1),
    "LUT6": ("LUT", 1),
    "LUT6_2": ("LUT", 1),
    "INV": ("LUT", 1),
    "FDRE": ("FF", 1),
    "FDSE": ("FF", 1),
    "FDCE": ("FF", 1),
    "FDPE": ("FF", 1),
    "LDCE": ("FF", 1),
    "LDPE": ("FF", 1),
    "CARRY4": ("CARRY", 1),
    "CARRY8": ("CARRY", 1),
    "MUXF7": ("MUXF", 1),
    "MUXF8": ("MUXF", 1),
    "MUXF9": ("MUXF", 1),
    "DSP48E2": ("DSP", 1),
    "DSP48E1": ("DSP", 1),
    "RAMB36E2": ("BRAM36", 1),
    "RAMB36E1": ("BRAM36", 1),
    "RAMB18E2": ("BRAM36", 0.5),
    "RAMB18E1": ("BRAM36", 0.5),
    "FIFO36E2": ("BRAM36", 1),
    "FIFO18E2": ("BRAM36", 0.5),
    "URAM288": ("URAM", 1),
    "URAM288_BASE": ("URAM", 1),
}

_ICE40_PREFIX: tuple[tuple[str, str], ...] = (
    ("SB_LUT4", "LUT"),
    ("SB_DFF", "FF"),
    ("SB_CARRY", "CARRY"),
    ("SB_RAM40_4K", "EBR"),
    ("SB_SPRAM256KA", "SPRAM"),
    ("SB_MAC16", "DSP"),
    ("SB_IO", "IO"),
    ("SB_GB", "IO"),
)

_ECP5_FIXED: dict[str, tuple[str, float]] = {
    "LUT4": ("LUT", 1),
    "TRELLIS_FF": ("FF", 1),
    "CCU2C": ("CARRY", 1),
    "DP16KD": ("EBR", 1),
    "PDPW16KD": ("EBR", 1),
    "MULT18X18D": ("DSP", 1),
    "ALU54B": ("DSP", 1),
    "TRELLIS_DPR16X4": ("LUTRAM", 1),
    "PFUMX": ("MUXF", 1),
    "L6MUX21": ("MUXF", 1),
}

_GOWIN_FIXED: dict[str, dict[str, float]] = {
    **{f"LUT{i}": {"LUT": 1} for i in range(1, 5)},
    **{f"MUX2_LUT{i}": {"MUXF": 1} for i in range(5, 9)},
    "ALU": {"CARRY": 1},
    **{ram: {"BSRAM": 1} for ram in (
        "DP", "DPB", "DPX9", "DPX9B", "SDP", "SDPB", "SDPX9", "SDPX9B", "SP", "SPX9",
        "ROM", "ROMX9", "pROM", "pROMX9",
    )},
    **{ram: {"LUTRAM": 4, "LUT": 4} for ram in ("RAM16S1", "RAM16S2", "RAM16S4", "RAM16SDP1",
                                                 "RAM16SDP2", "RAM16SDP4")},
    "MULT18X18": {"DSP": 1}, "MULT9X9": {"DSP": 0.5}, "MULT36X36": {"DSP": 4},
    "MULTALU18X18": {"DSP": 1}, "MULTADDALU18X18": {"DSP": 2}, "MULTALU36X18": {"DSP": 2},
    "ALU54D": {"DSP": 1},
    **{io: {"IO": 1} for io in ("IBUF", "OBUF", "TBUF", "IOBUF", "ELVDS_OBUF", "TLVDS_OBUF")},
}

_IGNORED = {"VCC", "GND", "$scopeinfo", "SB_VCC", "SB_GND", "GSR"}


def cell_resources(family: str, cell_type: str) -> dict[str, float]:
    """Resource classes one mapped cell uses.

    >>> cell_resources("xcup", "RAMB18E2")
    {'BRAM36': 0.5}
    >>> cell_resources("xcup", "RAM64M")
    {'LUT': 4, 'LUTRAM': 4}
    >>> cell_resources("ice40", "SB_DFFER")
    {'FF': 1}
    >>> cell_resources("xcup", "XORCY")
    {'OTHER': 1}
    >>> cell_resources("gowin", "DFFRE"), cell_resources("gowin", "RAM16SDP4")
    ({'FF': 1}, {'LUTRAM': 4, 'LUT': 4})
    """
    if cell_type in _IGNORED:
        return {}
    if family in ("xcup", "xcu", "xc7"):
        if cell_type in _XILINX_LUTRAM_LUTS:
            luts = _XILINX_LUTRAM_LUTS[cell_type]
            return {"LUT": luts, "LUTRAM": luts}
        if cell_type in _XILINX_FIXED:
            cls, amount = _XILINX_FIXED[cell_type]
            return {cls: amount}
        if cell_type.startswith(("IBUF", "OBUF", "IOBUF", "BUFG", "BUFCE", "BUFH")):
            return {"IO": 1}
    elif family == "ice40":
        for prefix, cls in _ICE40_PREFIX:
            if cell_type.startswith(prefix):
                return {cls: 1}
    elif family == "ecp5":
        if cell_type in _ECP5_FIXED:
            cls, amount = _ECP5_FIXED[cell_type]
            return {cls: amount}
        if cell_type in ("TRELLIS_IO", "DCCA"):
            return {"IO": 1}
    elif family == "gowin":
        if cell_type in _GOWIN_FIXED:
            return dict(_GOWIN_FIXED[cell_type])
        if cell_type.startswith("DFF"):
            return {"FF": 1}
    return {"OTHER": 1}


def add_counts(into: dict[str, float], other: Mapping[str, float], times: float = 1) -> None:
    for key, value in other.items():
        into[key] = into.get(key, 0) + value * times


def sum_counts(totals: Iterable[Mapping[str, float]]) -> dict[str, float]:
    """The sum of resource counts, tidied (:func:`tidy_counts`).

    >>> sum_counts([{"LUT": 2, "BRAM36": 0.5}, {"LUT": 3.0, "BRAM36": 0.5}])
    {'BRAM36': 1, 'LUT': 5}
    """
    out: dict[str, float] = {}
    for total in totals:
        add_counts(out, total)
    return tidy_counts(out)


def tidy_counts(counts: Mapping[str, float]) -> dict[str, float]:
    """Sorted, with whole numbers as int (BRAM36 may be x.5)."""
    out: dict[str, float] = {}
    for key in sorted(counts):
        value = counts[key]
        out[key] = int(value) if float(value).is_integer() else value
    return out


