"""Typed, validated flow configuration: YAML in, YAML out.

Every key is checked by pydantic; an unknown key or a bad value raises
:class:`~codesign.errors.ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codesign.errors import ConfigError
from codesign.quant.bounds import smallest_useful_acc_bits

QuantMethod = Literal["float", "baseline", "a2q", "a2q_plus"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelConfig(_Strict):
    kind: Literal["mlp"] = "mlp"
    hidden: list[int] = Field(default=[64, 64], min_length=1)
    """Widths of the hidden QuantLinear + BatchNorm + QuantReLU stacks."""

    @model_validator(mode="after")
    def _positive_widths(self) -> ModelConfig:
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"model.hidden widths must be >= 1, got {self.hidden}")
        return self


class QuantConfig(_Strict):
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


class TrainConfig(_Strict):
    epochs: int = Field(default=40, ge=1)
    seed: int = 0
    batch_size: int = Field(default=64, ge=1)
    lr: float = Field(default=0.02, gt=0)
    cache: bool = True
    """Take the checkpoint of an identical earlier training run (see
    codesign.quant.train_cache); False trains afresh (and stores nothing)."""


class LayerFold(_Strict):
    pe: int = Field(ge=1)
    simd: int = Field(ge=1)


class FoldConfig(_Strict):
    """Folding: explicit PE/SIMD per MVAU layer, or a target cycles-per-frame."""

    target_cycles: int | None = Field(default=None, ge=1)
    layers: list[LayerFold] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> FoldConfig:
        if (self.target_cycles is None) == (self.layers is None):
            raise ValueError("fold needs exactly one of fold.target_cycles or fold.layers")
        return self


class SimConfig(_Strict):
    """Cycle simulation of the generated accelerator (cocotb)."""

    simulator: Literal["verilator", "icarus"] = "verilator"
    driver: Literal["hdl", "python"] = "hdl"
    """hdl: the streaming harness drives and checks the ports inside the simulator (fast);
    python: cocotbext-axi drives them from Python (for debugging; same stalls, same
    counters)."""
    frames: int | None = Field(default=None, ge=1)
    """Test images streamed through the accelerator; None = the whole test set."""
    backpressure: float = Field(default=0.3, ge=0.0, lt=1.0)
    """Probability of a stall per cycle on the input valid and on the output ready."""
    waves: bool = False


class SynthConfig(_Strict):
    """Yosys synthesis for the board's family."""

    enabled: bool = True
    compare_acc_bits: int | None = Field(default=32, ge=2, le=64)
    """Also synthesize the same accelerator with accumulators this wide (same weights and
    folding), for the side-by-side cost of wide accumulators; None skips it."""
    cache: bool = True
    """Reuse kernels synthesized before with identical sources, parameters and ROM contents
    (see codesign.synth.kernels); False synthesizes every kernel afresh (and stores
    nothing)."""


class FlowConfig(_Strict):
    name: str = Field(default="mlp", pattern=r"^[A-Za-z0-9_.-]+$")
    model: ModelConfig = ModelConfig()
    quant: QuantConfig = QuantConfig()
    train: TrainConfig = TrainConfig()
    fold: FoldConfig = FoldConfig(target_cycles=64)
    board: str = "zcu104"
    sim: SimConfig = SimConfig()
    synth: SynthConfig = SynthConfig()

    def digest(self) -> str:
        """Content digest of the whole config: same config (and seed) -> same digest."""
        return _digest(self.model_dump(mode="json"))

    def design_digest(self) -> str:
        """Digest of what defines the design (model, quantization, training, folding,
        board): a build directory holds one design; verification and synthesis settings
        (``sim``, ``synth``) only decide which of its steps re-run."""
        return _digest(
            self.model_dump(mode="json", exclude={"sim": True, "synth": True, "train": {"cache"}})
        )

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _format_validation(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "literal_error":
            msg = f"{msg}"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_config(data: dict[str, Any], source: str = "<dict>") -> FlowConfig:
    """Validate a config mapping.

    >>> parse_config({"quant": {"method": "a2q", "acc_bits": 16}}).quant.acc_bits
    16
    >>> parse_config({"quant": {"bits": 4}})
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: invalid config <dict>:
      quant.bits: unknown key
    """
    try:
        return FlowConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_format_validation(err, source)) from None


def load_config(path: Path) -> FlowConfig:
    """Read and validate a YAML config file (``yaml.safe_load`` only)."""
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ConfigError(f"cannot read config {path}: {err.strerror}") from None
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a YAML mapping, got {type(data).__name__}")
    return parse_config(data, source=str(path))
