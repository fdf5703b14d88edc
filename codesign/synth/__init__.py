"""Synthesis drivers: Yosys resource estimates (and, later, nextpnr / Vivado flows)."""

from codesign.synth.yosys import synthesize
from codesign.synth.yosys_script import SynthesisError
from codesign.synth.yosys_stats import InstanceResources, ModuleResources, SynthResult

__all__ = [
    "InstanceResources",
    "ModuleResources",
    "SynthResult",
    "SynthesisError",
    "synthesize",
]
