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


class LayerFold(Strict):
    pe: int = Field(ge=1)
    simd: int = Field(ge=1)


class FoldConfig(Strict):
    """Folding: explicit PE/SIMD per MVAU layer, a target cycles-per-frame, or ``fit``: the
    largest-throughput target whose design fits a board (codesign.dse.fold_fit resolves it
    into ``target_cycles`` before the flow runs)."""

    # strict: YAML's ``yes`` or ``"64"`` is no count of cycles (lax int would take them)
    target_cycles: int | None = Field(default=None, ge=1, strict=True)
    layers: list[LayerFold] | None = None
    fit: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_\-]+$")

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
    def _omit_unset_fit(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # configs without fold.fit dump (and digest) as before it existed
        out: dict[str, Any] = handler(self)
        if self.fit is None:
            out.pop("fit", None)
        return out


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
    ii_frames: int = Field(default=24, ge=1, strict=True)
    """Frames of the second, stall-free run that measures the II (the mean gap between
    frame ends after the first) and the latency; at most ``frames``."""
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
