"""The sections every flow has: quantization, training, folding, simulation, synthesis."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from codesign.bounds import smallest_useful_acc_bits
from codesign.schema import Strict

QuantMethod = Literal["float", "baseline", "a2q", "a2q_plus"]


class QuantConfig(Strict):
    method: QuantMethod = "a2q"
    weight_bits: int = Field(default=8, ge=2, le=16)
    act_bits: int = Field(default=8, ge=2, le=16)
    input_bits: int = Field(default=8, ge=2, le=16)
    acc_bits: int | None = Field(default=16, ge=2, le=64)
    """Target accumulator width P. Required for a2q/a2q_plus; for baseline, None keeps
    the width FINN derives from the weights and an integer squeezes accumulators to P."""

    @model_validator(mode="after")
    def _usable_acc_bits(self) -> QuantConfig:
        if self.method in ("a2q", "a2q_plus"):
            if self.acc_bits is None:
                raise ValueError(f"quant.acc_bits (P) is required for method {self.method!r}")
            # every layer's input is unsigned: the quantized image or a QuantReLU output
            need = max(
                smallest_useful_acc_bits(self.method, bits, input_signed=False)
                for bits in (self.input_bits, self.act_bits)
            )
            if self.acc_bits < need:
                raise ValueError(
                    f"quant.acc_bits={self.acc_bits} leaves no nonzero weight possible for "
                    f"{self.method} with {max(self.input_bits, self.act_bits)}-bit unsigned "
                    f"inputs; the smallest usable P is {need}"
                )
        return self


class TrainConfig(Strict):
    epochs: int = Field(default=40, ge=1)
    seed: int = 0
    batch_size: int = Field(default=64, ge=1)
    lr: float = Field(default=0.02, gt=0)
    cache: bool = True
    """Take the checkpoint of an identical earlier training run (see
    codesign.frontend.quant.train_cache); False trains afresh (and stores nothing)."""


MacResource = Literal["lut", "dsp"]
"""Where a weighted layer's multipliers go (FINN's MVAU/VVAU ``resType``): ``lut``, in
LUTs and carry chains (FINN's default when the A2Q papers ran it), or ``dsp``, in DSP
blocks."""


def _omit_none(
    model: Strict, handler: SerializerFunctionWrapHandler, keys: tuple[str, ...]
) -> dict[str, Any]:
    """The section dumped without the ``keys`` left unset (None): configs that do not set
    them dump, and digest, as before the keys existed."""
    out: dict[str, Any] = handler(model)
    for key in keys:
        if getattr(model, key) is None:
            out.pop(key, None)
    return out


class LayerFold(Strict):
    pe: int = Field(ge=1)
    simd: int = Field(ge=1)
    mac_resource: MacResource | None = None
    """This layer's multipliers; None: ``fold.mac_resource``'s rule."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_none(self, handler, ("mac_resource",))


class FoldConfig(Strict):
    """Folding: explicit PE/SIMD per MVAU layer, a target cycles-per-frame, or ``fit``: the
    largest-throughput target whose design fits a board (codesign.dse.fold_fit resolves it
    into ``target_cycles`` before the flow runs); and where the layers' multipliers go."""

    # strict: YAML's ``yes`` or ``"64"`` is no count of cycles (lax int would take them)
    target_cycles: int | None = Field(default=None, ge=1, strict=True)
    layers: list[LayerFold] | None = None
    fit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]+$")
    mac_resource: MacResource | None = None
    """Every weighted layer's multipliers (``fold.layers[i].mac_resource`` overrides it for
    one layer). None keeps each layer's own ``resType`` where its graph sets one (a
    user's FINN-ONNX file) and puts the others in DSPs where the board has DSP blocks, as
    codesign did before the setting existed; in LUTs on a board without."""

    @property
    def explicit_mac_resources(self) -> set[str]:
        """The MAC resources this section sets itself (net-wide or per layer)."""
        per_layer = {f.mac_resource for f in self.layers or ()}
        return {m for m in (self.mac_resource, *per_layer) if m is not None}

    @model_validator(mode="after")
    def _one_of(self) -> FoldConfig:
        given = [k for k in ("target_cycles", "layers", "fit") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                "fold needs exactly one of fold.target_cycles, fold.layers or fold.fit "
                f"(a board name), got {', '.join(given) or 'none'}"
            )
        return self

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_none(self, handler, ("fit", "mac_resource"))


class SimConfig(Strict):
    """Cycle simulation of the generated accelerator (cocotb)."""

    simulator: Literal["verilator", "icarus"] = "verilator"
    driver: Literal["hdl", "python"] = "hdl"
    """hdl: the streaming harness drives and checks the ports inside the simulator (fast);
    python: cocotbext-axi drives them from Python (for debugging; same stalls, same
    counters)."""
    frames: int | None = Field(default=None, ge=1, strict=True)
    """Test images streamed through the accelerator; None = the whole test set."""
    backpressure: float = Field(default=0.3, ge=0.0, lt=1.0)
    """Probability of a stall per cycle on the input valid and on the output ready."""
    waves: bool = False


class SynthConfig(Strict):
    """Yosys synthesis for the board's family."""

    enabled: bool = True
    compare_acc_bits: int | None = Field(default=32, ge=2, le=64)
    """Also synthesize the same accelerator with accumulators this wide (same weights and
    folding), for the side-by-side cost of wide accumulators; None skips it."""
    cache: bool = True
    """Reuse kernels synthesized before with identical sources, parameters and ROM contents
    (see codesign.synth.kernels); False synthesizes every kernel afresh (and stores
    nothing)."""
