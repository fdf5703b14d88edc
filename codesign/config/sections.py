"""The sections every flow has: quantization, training, folding, simulation, synthesis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from codesign.bounds import smallest_useful_acc_bits
from codesign.schema import Strict

QuantMethod = Literal["float", "baseline", "a2q", "a2q_plus"]
LayerPolicy = Literal["uniform", "papers"]
AccBits = Annotated[int, Field(ge=2, le=64)]
PAPERS_EDGE_BITS = 8
"""Weight and input-activation bits of the first and last weighted layers under the
papers' layer policy (A2Q+ App. B.1, following Colbert et al. 2023)."""
ACCUMULATOR_AWARE = ("a2q", "a2q_plus")


@dataclass(frozen=True)
class LayerQuant:
    """How one weighted layer (linear or conv) is quantized."""

    weight_bits: int
    acc_bits: int | None
    """Its P: the width A2Q constrains it to (a squeezed baseline: the width it wraps
    at); None: unconstrained, the accumulator FINN derives from the data types and
    weights."""


def _omit_defaults(
    model: Strict, handler: SerializerFunctionWrapHandler, defaults: dict[str, Any]
) -> dict[str, Any]:
    """The section dumped without the keys left at these values (their defaults):
    configs that do not set them dump, and digest, as before the keys existed."""
    out: dict[str, Any] = handler(model)
    for key, default in defaults.items():
        if getattr(model, key) == default:
            out.pop(key, None)
    return out


class QuantConfig(Strict):
    method: QuantMethod = "a2q"
    weight_bits: int = Field(default=8, ge=2, le=16)
    act_bits: int = Field(default=8, ge=2, le=16)
    input_bits: int = Field(default=8, ge=2, le=16)
    acc_bits: AccBits | list[AccBits | None] | None = 16
    """Target accumulator width P: one for every weighted layer, or a list with one entry
    per weighted layer in graph order (as ``fold.layers``; null: that layer
    unconstrained). Required for a2q/a2q_plus; for baseline, None keeps the width FINN
    derives from the weights and an integer squeezes accumulators to P."""
    layer_policy: LayerPolicy = "uniform"
    """uniform: every weighted layer as configured. papers: the A2Q papers' policy (A2Q+
    App. B.1, following Colbert et al. 2023): the first and last weighted layers take
    8-bit weights and 8-bit input activations (the first reads the input codes,
    ``input_bits``) and are not accumulator-constrained (their data-type bound: FINN
    sizes their accumulators); the hidden layers share ``weight_bits``, ``act_bits`` and
    P. A baseline, constrained nowhere, has its P (a build width: 32 bits, or squeezed)
    on every layer."""

    @model_validator(mode="after")
    def _usable_acc_bits(self) -> QuantConfig:
        if isinstance(self.acc_bits, list):
            self._check_acc_list(self.acc_bits)
        if self.method not in ACCUMULATOR_AWARE:
            return self
        if self.acc_bits is None:
            raise ValueError(f"quant.acc_bits (P) is required for method {self.method!r}")
        # every layer's input is unsigned: the quantized image or a QuantReLU output
        if isinstance(self.acc_bits, list):
            for i, p in enumerate(self.acc_bits):
                if p is not None:
                    self._check_usable(p, {self.input_bits if i == 0 else self.act_bits}, i)
        else:
            # one P for every constrained layer: the first reads the input codes (the
            # papers' policy leaves it unconstrained), the others an activation
            papers = self.layer_policy == "papers"
            widths = {self.act_bits} if papers else {self.input_bits, self.act_bits}
            self._check_usable(self.acc_bits, widths, None)
        return self

    def _check_acc_list(self, entries: list[int | None]) -> None:
        if not entries:
            raise ValueError("quant.acc_bits: give one P, or a list of one per weighted layer")
        if self.layer_policy == "papers" and self.method in ACCUMULATOR_AWARE:
            for i in sorted({0, len(entries) - 1}):
                if entries[i] is not None:
                    raise ValueError(
                        f"quant.acc_bits[{i}]={entries[i]}: quant.layer_policy papers leaves "
                        "the first and last weighted layers unconstrained; give null there"
                    )

    def _check_usable(self, p: int, input_widths: set[int], index: int | None) -> None:
        """P must leave room for a nonzero weight (||q||_1 >= 1) in a layer reading
        unsigned inputs of these widths, else A2Q zeroes every weight of it."""
        bits = max(input_widths)
        need = smallest_useful_acc_bits(self.method, bits, input_signed=False)
        if p >= need:
            return
        where = (
            f"quant.acc_bits[{index}]={p} (weighted layer {index})" if index is not None
            else f"quant.acc_bits={p}"
        )
        raise ValueError(
            f"{where} leaves no nonzero weight possible for {self.method} with {bits}-bit "
            f"unsigned inputs; the smallest usable P is {need}"
        )

    @property
    def last_input_bits(self) -> int:
        """Bits of the activation the last weighted layer reads."""
        return PAPERS_EDGE_BITS if self.layer_policy == "papers" else self.act_bits

    def layer_plan(self, layers: Sequence[str]) -> tuple[LayerQuant, ...]:
        """The quantization of each weighted layer (``layers``: their names, in graph
        order); a ValueError names the key when ``acc_bits`` is a list of another length,
        or when an accumulator-aware method would constrain no layer."""
        n = len(layers)
        if isinstance(self.acc_bits, list):
            if len(self.acc_bits) != n:
                raise ValueError(
                    f"quant.acc_bits has {len(self.acc_bits)} entries but the model has {n} "
                    f"weighted layers ({', '.join(layers)}); give one P per weighted layer, "
                    "in this order, or a single P"
                )
            targets: list[int | None] = list(self.acc_bits)
        else:
            targets = [self.acc_bits] * n
        plan = []
        constrains = self.method in ACCUMULATOR_AWARE
        for i, p in enumerate(targets):
            edge = self.layer_policy == "papers" and i in (0, n - 1)
            plan.append(LayerQuant(PAPERS_EDGE_BITS, None if constrains else p) if edge
                        else LayerQuant(self.weight_bits, p))
        if constrains and all(q.acc_bits is None for q in plan):
            why = (
                "quant.layer_policy papers leaves the first and last unconstrained; use a "
                "model with hidden layers or quant.layer_policy uniform"
                if self.layer_policy == "papers" else "every quant.acc_bits entry is null"
            )
            raise ValueError(
                f"quant.method {self.method} constrains none of the model's {n} weighted "
                f"layers ({', '.join(layers)}): {why}"
            )
        return tuple(plan)

    @model_serializer(mode="wrap")
    def _omit_uniform_policy(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_defaults(self, handler, {"layer_policy": "uniform"})


class TrainConfig(Strict):
    epochs: int = Field(default=40, ge=1)
    seed: int = 0
    batch_size: int = Field(default=64, ge=1)
    lr: float = Field(default=0.02, gt=0)
    cache: bool = True
    """Take the checkpoint of an identical earlier training run (see
    codesign.frontend.quant.train_cache); False trains afresh (and stores nothing)."""
    init: Literal["scratch", "float"] = "scratch"
    """Where the quantized model starts: ``scratch``, its seeded initialisation; ``float``,
    the trained float twin (weights copied, fitted to each layer's P, activation ranges
    calibrated; see codesign.frontend.quant.init), then fine-tuned for ``epochs`` at
    ``lr``, as the A2Q papers do for their classifiers."""

    @model_serializer(mode="wrap")
    def _omit_scratch_init(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_defaults(self, handler, {"init": "scratch"})


MacResource = Literal["lut", "dsp"]
"""Where a weighted layer's multipliers go (FINN's MVAU/VVAU ``resType``): ``lut``, in
LUTs and carry chains (FINN's default when the A2Q papers ran it), or ``dsp``, in DSP
blocks."""


class LayerFold(Strict):
    pe: int = Field(ge=1)
    simd: int = Field(ge=1)
    mac_resource: MacResource | None = None
    """This layer's multipliers; None: ``fold.mac_resource``'s rule."""

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        return _omit_defaults(self, handler, {"mac_resource": None})


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
        return _omit_defaults(self, handler, {"fit": None, "mac_resource": None})


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
