"""Synthesis drivers: Yosys resource estimates (and, later, nextpnr / Vivado flows)."""

from codesign.synth.yosys import (
    InstanceResources,
    ModuleResources,
    SynthesisError,
    SynthResult,
    synthesize,
)

__all__ = [
    "InstanceResources",
    "ModuleResources",
    "SynthResult",
    "SynthesisError",
    "synthesize",
]
