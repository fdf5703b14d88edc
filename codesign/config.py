"""Typed, validated flow configuration: YAML in, YAML out.

Every key is checked by pydantic; an unknown key or a bad value raises
:class:`~codesign.errors.ConfigError` naming the key and what is allowed.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from codesign.bounds import smallest_useful_acc_bits
from codesign.errors import ConfigError

QuantMethod = Literal["float", "baseline", "a2q", "a2q_plus"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


IMAGE_SIZE = 8
"""Height and width of the digits images (the MLP sees them flat, the CNN as 1x8x8)."""


class ModelConfig(_Strict):
    """``model.kind: mlp`` (the default): a TFC-like MLP on the flat 64 pixels."""

    kind: Literal["mlp"] = "mlp"
    hidden: list[int] = Field(default=[64, 64], min_length=1)
    """Widths of the hidden QuantLinear + BatchNorm + QuantReLU stacks."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: the flat pixels."""
        return (IMAGE_SIZE * IMAGE_SIZE,)

    @model_validator(mode="after")
    def _positive_widths(self) -> ModelConfig:
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"model.hidden widths must be >= 1, got {self.hidden}")
        return self


def _per_stage(value: bool | list[bool], stages: int, key: str, all_means: str) -> list[bool]:
    """Expand a per-stage flag: a list (one entry per stage) or one bool for all stages
    (``all_means`` says which: "every" stage or every stage "after the first")."""
    if isinstance(value, list):
        if len(value) != stages:
            raise ValueError(
                f"model.{key} has {len(value)} entries but model.conv has {stages} stages; "
                f"give one bool per stage or a single bool"
            )
        return list(value)
    first = value if all_means == "every" else False
    return [first] + [value] * (stages - 1)


class CNNConfig(_Strict):
    """``model.kind: cnn``: conv stages on the 1x8x8 digits, then FC layers.

    A stage is a ``kernel`` x ``kernel`` convolution ("same" padding), BatchNorm and a
    quantized ReLU, optionally followed by a 2x2 max-pool. A depthwise-separable stage is
    a depthwise ``kernel`` x ``kernel`` convolution (BatchNorm, ReLU) and a pointwise 1x1
    one. A residual stage computes h + f(h); f's output and h pass through one shared
    activation quantizer (same scale), and the sum is requantized by the stage's own.
    """

    kind: Literal["cnn"]
    conv: list[int] = Field(default=[8, 16], min_length=1)
    """Output channels of each conv stage."""
    kernel: int = Field(default=3, ge=1, le=IMAGE_SIZE)
    """Kernel size (odd: the padding keeps each stage's height and width)."""
    pool: bool | list[bool] = True
    """2x2 max-pool after a stage: one bool for every stage, or one per stage."""
    depthwise_separable: bool | list[bool] = False
    """A stage = depthwise k x k + pointwise 1x1. True: every stage after the first
    (a depthwise conv of the 1-channel image is a plain conv); or one bool per stage."""
    residual: bool | list[bool] = False
    """A stage = h + f(h) (input channels = output channels). True: every stage after
    the first (the first lifts the 1-channel image); or one bool per stage."""
    hidden: list[int] = Field(default=[], min_length=0)
    """Widths of the FC (QuantLinear + BatchNorm + QuantReLU) layers before the classifier."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample: a 1-channel image (NCHW without the batch)."""
        return (1, IMAGE_SIZE, IMAGE_SIZE)

    @property
    def pools(self) -> list[bool]:
        return _per_stage(self.pool, len(self.conv), "pool", "every")

    @property
    def separable(self) -> list[bool]:
        return _per_stage(self.depthwise_separable, len(self.conv), "depthwise_separable", "after")

    @property
    def residuals(self) -> list[bool]:
        return _per_stage(self.residual, len(self.conv), "residual", "after")

    def feature_shape(self) -> tuple[int, int, int]:
        """(channels, height, width) after the last stage."""
        size = IMAGE_SIZE // 2 ** sum(self.pools)
        return self.conv[-1], size, size

    @model_validator(mode="after")
    def _consistent(self) -> CNNConfig:
        if any(c < 1 for c in self.conv):
            raise ValueError(f"model.conv channels must be >= 1, got {self.conv}")
        if any(h < 1 for h in self.hidden):
            raise ValueError(f"model.hidden widths must be >= 1, got {self.hidden}")
        if self.kernel % 2 == 0:
            raise ValueError(
                f"model.kernel={self.kernel} is even; an odd kernel (1, 3, 5, 7) keeps the "
                "feature map size with symmetric padding"
            )
        pools, separable, residuals = self.pools, self.separable, self.residuals
        size = IMAGE_SIZE
        channels = 1
        for i, out in enumerate(self.conv):
            if separable[i] and channels == 1:
                raise ValueError(
                    f"model.depthwise_separable: stage {i} gets a 1-channel input, where a "
                    "depthwise conv is a plain conv; make that stage a standard one"
                )
            if residuals[i] and channels != out:
                raise ValueError(
                    f"model.residual: stage {i} maps {channels} to {out} channels, but h + f(h) "
                    "needs equal input and output channels (model.conv)"
                )
            if pools[i]:
                if size < 2:
                    raise ValueError(
                        f"model.pool: stage {i} would pool a {size}x{size} feature map; at "
                        f"most {IMAGE_SIZE.bit_length() - 1} stages can pool an "
                        f"{IMAGE_SIZE}x{IMAGE_SIZE} image"
                    )
                size //= 2
            channels = out
        return self


BASE_DIR_CONTEXT = "base_dir"
"""Validation context key: the directory relative file paths are read from (the config
file's directory; the working directory when absent)."""


def _existing_file(value: Path | None, info: ValidationInfo) -> Path | None:
    """``value`` resolved against the config's base directory; it must be a file."""
    if value is None:
        return None  # an optional file the user left out
    base = Path((info.context or {}).get(BASE_DIR_CONTEXT) or Path.cwd())
    path = (value if value.is_absolute() else base / value).resolve()
    if not path.is_file():
        raise ValueError(f"file not found: {path}")
    return path


class OnnxModelConfig(_Strict):
    """``model.kind: onnx``: a user's QONNX or FINN-ONNX file as the model.

    The flow neither trains nor exports: its ``import`` step checks the file (see
    :mod:`codesign.frontend.onnx_import`) and the lowering starts from it. The graph carries its
    own quantization, so the ``quant`` and ``train`` sections do not apply.
    """

    kind: Literal["onnx"]
    path: Path
    """The .onnx file; a relative path is relative to the config file."""

    _resolve = field_validator("path")(_existing_file)


FACTORY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*:[A-Za-z_][A-Za-z0-9_]*$"
"""``module.path:callable``: a dotted module name, a colon, a function name."""


def _search_dir(value: Path | None, info: ValidationInfo) -> Path:
    """``value`` (default: the config's base directory) resolved; it must be a directory."""
    base = Path((info.context or {}).get(BASE_DIR_CONTEXT) or Path.cwd())
    path = base if value is None else value if value.is_absolute() else base / value
    path = path.resolve()
    if not path.is_dir():
        raise ValueError(f"directory not found: {path}")
    return path


class BrevitasModelConfig(_Strict):
    """``model.kind: brevitas``: a Brevitas module built by a factory in the user's code.

    The flow imports ``factory`` (see :mod:`codesign.frontend.models.user`), builds the module,
    loads ``checkpoint`` (or, without one, trains it on ``data.train``), and exports it
    with its own checks as for the built-in models. Importing the factory runs the
    user's Python code: a config naming a factory is trusted code, unlike an ONNX file.
    The module carries its own quantization, so the ``quant`` section does not apply.
    """

    kind: Literal["brevitas"]
    factory: str
    """``pkg.module:make_net``: a callable taking no arguments that returns the
    ``torch.nn.Module``."""
    checkpoint: Path | None = None
    """Its state dict (``torch.save(net.state_dict(), path)``), relative to the config
    file; None: ``codesign train`` trains the module on ``data.train``."""
    input_shape: list[int] = Field(min_length=1)
    """One input sample's shape without the batch dimension, e.g. ``[1, 8, 8]``."""
    source_dir: Path | None = Field(default=None, validate_default=True)
    """Where the factory's module is looked up first (then ``sys.path``); default: the
    config file's directory."""

    _checkpoint = field_validator("checkpoint")(_existing_file)
    _source = field_validator("source_dir")(_search_dir)

    @field_validator("factory")
    @classmethod
    def _factory_form(cls, value: str) -> str:
        if not re.fullmatch(FACTORY_PATTERN, value):
            raise ValueError(
                f"{value!r} is not 'module.path:function' (a dotted module name, a colon, "
                "the name of a callable in it; e.g. 'mynet:make_net')"
            )
        return value

    @field_validator("input_shape")
    @classmethod
    def _positive_dims(cls, value: list[int]) -> list[int]:
        if any(d < 1 for d in value):
            raise ValueError(f"every dimension must be >= 1, got {value}")
        return value

    @property
    def module_name(self) -> str:
        return self.factory.partition(":")[0]

    @property
    def callable_name(self) -> str:
        return self.factory.partition(":")[2]


AnyModelConfig = ModelConfig | CNNConfig
"""The config of any built-in model kind (trained and exported by the flow)."""
BuiltinModelConfig = (ModelConfig, CNNConfig)


def _model_kind(value: Any) -> str:
    # an untagged mapping is an MLP, as before model.kind had a second value
    if isinstance(value, dict):
        return str(value.get("kind", "mlp"))
    return str(getattr(value, "kind", "mlp"))


ModelField = Annotated[
    Annotated[ModelConfig, Tag("mlp")]
    | Annotated[CNNConfig, Tag("cnn")]
    | Annotated[OnnxModelConfig, Tag("onnx")]
    | Annotated[BrevitasModelConfig, Tag("brevitas")],
    Discriminator(_model_kind),
]
_MODEL_KINDS = ("mlp", "cnn", "onnx", "brevitas")
UserModelConfig = OnnxModelConfig | BrevitasModelConfig
"""A user's model: it carries its own quantization and comes with an npz test set."""


class DigitsData(_Strict):
    """``data.kind: digits`` (the default): scikit-learn's digits, the built-in models'
    training and test set (see :mod:`codesign.frontend.data`)."""

    kind: Literal["digits"] = "digits"


class NpzData(_Strict):
    """``data.kind: npz``: the test set of a user's model, a NumPy ``.npz`` file with
    ``x`` (N, *model input shape without its batch dimension) and optionally ``y`` (N,)
    integer labels; checked by :func:`codesign.frontend.data.load_npz`."""

    kind: Literal["npz"]
    path: Path
    """The .npz file; a relative path is relative to the config file."""
    input_type: str | None = None
    """qonnx DataType name of ``x`` (e.g. ``UINT8``): where an ONNX graph does not
    annotate its input, and always for a Brevitas factory."""
    train: Path | None = None
    """Training set of a Brevitas factory without checkpoint (``x`` and ``y``), for
    ``codesign train``."""

    _resolve = field_validator("path", "train")(_existing_file)

    @field_validator("input_type")
    @classmethod
    def _integer_type(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from qonnx.core.datatype import DataType

        try:
            dtype = DataType[value]
        except KeyError:
            raise ValueError(
                f"{value!r} is not a qonnx DataType name (e.g. UINT8, INT4, BIPOLAR)"
            ) from None
        if not dtype.is_integer():
            raise ValueError(f"{value} is not an integer type; the accelerator takes integers")
        return value


def _data_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "digits"))
    return str(getattr(value, "kind", "digits"))


DataField = Annotated[
    Annotated[DigitsData, Tag("digits")] | Annotated[NpzData, Tag("npz")],
    Discriminator(_data_kind),
]
_DATA_KINDS = ("digits", "npz")
_UNION_FIELDS = {"model": _MODEL_KINDS, "data": _DATA_KINDS}


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
    codesign.frontend.quant.train_cache); False trains afresh (and stores nothing)."""


class LayerFold(_Strict):
    pe: int = Field(ge=1)
    simd: int = Field(ge=1)


class FoldConfig(_Strict):
    """Folding: explicit PE/SIMD per MVAU layer, a target cycles-per-frame, or ``fit``: the
    largest-throughput target whose design fits a board (codesign.dse.fold_fit resolves it
    into ``target_cycles`` before the flow runs)."""

    target_cycles: int | None = Field(default=None, ge=1)
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
    model: ModelField = ModelConfig()
    data: DataField = DigitsData()
    quant: QuantConfig = QuantConfig()
    train: TrainConfig = TrainConfig()
    fold: FoldConfig = FoldConfig(target_cycles=64)
    board: str = "zcu104"
    sim: SimConfig = SimConfig()
    synth: SynthConfig = SynthConfig()

    @property
    def imported(self) -> bool:
        """True for a user's model file (no train and export steps)."""
        return isinstance(self.model, OnnxModelConfig)

    @property
    def user_model(self) -> bool:
        """True for a user's model (an ONNX file or a Brevitas factory): it carries its
        own quantization (no ``quant`` section) and comes with an npz test set."""
        return isinstance(self.model, UserModelConfig)

    @model_validator(mode="after")
    def _front_end(self) -> FlowConfig:
        kind = self.model.kind
        if self.user_model:
            if not isinstance(self.data, NpzData):
                raise ValueError(
                    f"model.kind {kind} needs its test set: data: {{kind: npz, path: ...}} "
                    "with arrays x and, optionally, y"
                )
            # an imported graph is not trained; a factory's module may be (train settings)
            not_applying = {"quant", "train"} if self.imported else {"quant"}
            unused = sorted(not_applying & self.model_fields_set)
            if unused:
                why = "is not trained" if self.imported else "is trained with the train section"
                raise ValueError(
                    f"{' and '.join(unused)} {'do' if len(unused) > 1 else 'does'} not apply "
                    f"to model.kind {kind} (the model carries its own quantization and {why}); "
                    "remove the section"
                )
        elif not isinstance(self.data, DigitsData):
            raise ValueError(
                f"data.kind {self.data.kind} is the test set of a user's model "
                f"(model.kind onnx or brevitas); model.kind {kind} trains and tests on digits"
            )
        if isinstance(self.data, NpzData):
            self._check_npz_keys(self.data)
        return self

    def _check_npz_keys(self, data: NpzData) -> None:
        model = self.model
        if not isinstance(model, BrevitasModelConfig):
            if data.train is not None:
                raise ValueError(
                    "data.train is the training set of a Brevitas factory without "
                    "checkpoint (model.kind brevitas); an ONNX model is not trained"
                )
            return
        if data.input_type is None:
            raise ValueError(
                "model.kind brevitas needs data.input_type, the qonnx DataType of the codes "
                "in x (e.g. UINT8): it becomes the exported graph's input annotation"
            )
        if model.checkpoint is None and data.train is None:
            raise ValueError(
                "model.kind brevitas without model.checkpoint is trained by codesign: give "
                "data.train (an npz with x and y), or a checkpoint"
            )

    @model_serializer(mode="wrap")
    def _omit_unused(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # the default data section is left out, so built-in configs dump (and digest) as
        # before it existed; a user's model has no quant section, an imported one no train
        out: dict[str, Any] = handler(self)
        if isinstance(self.data, DigitsData):
            out.pop("data", None)
        elif self.data.train is None and isinstance(out.get("data"), dict):
            out["data"].pop("train", None)  # an ONNX model's config dumps as before
        if self.user_model:
            out.pop("quant", None)
        if self.imported:
            out.pop("train", None)
        return out

    def _identity(self, dumped: dict[str, Any]) -> dict[str, Any]:
        """``dumped`` with each input file's path replaced by its content digest: the
        same files give the same digest wherever they are, and another file content
        another digest."""
        if isinstance(self.model, OnnxModelConfig):
            dumped["model"]["path"] = file_digest(self.model.path, "model.path")
        if isinstance(self.model, BrevitasModelConfig):
            # where the code is does not define the design: the step keys digest what
            # the factory's source and the checkpoint hold (codesign.flow.runner)
            dumped["model"]["source_dir"] = None
            if self.model.checkpoint is not None:
                dumped["model"]["checkpoint"] = True
        if isinstance(self.data, NpzData):
            dumped["data"]["path"] = file_digest(self.data.path, "data.path")
            if self.data.train is not None:
                dumped["data"]["train"] = file_digest(self.data.train, "data.train")
        return dumped

    def digest(self) -> str:
        """Content digest of the whole config: same config (and seed) -> same digest."""
        dumped = self._identity(self.model_dump(mode="json"))
        if isinstance(self.model, BrevitasModelConfig) and self.model.checkpoint is not None:
            dumped["model"]["checkpoint"] = file_digest(self.model.checkpoint, "model.checkpoint")
        return _digest(dumped)

    def design_digest(self) -> str:
        """Digest of what defines the design (model, quantization, training, folding,
        board): a build directory holds one design; verification and synthesis settings
        (``sim``, ``synth``) only decide which of its steps re-run."""
        return _digest(
            self._identity(
                self.model_dump(
                    mode="json", exclude={"sim": True, "synth": True, "train": {"cache"}}
                )
            )
        )

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def _digest(data: dict[str, Any]) -> str:
    canonical = json.dumps(data, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def file_digest(path: Path, key: str) -> str:
    """``sha256:<hex>`` of a user's file; unreadable: a ConfigError naming ``key``."""
    h = hashlib.sha256()
    try:
        with Path(path).open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    except OSError as err:
        raise ConfigError(f"{key}: cannot read {path}: {err.strerror}") from None
    return f"sha256:{h.hexdigest()}"


def _format_validation(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        loc = list(e["loc"])
        union = _UNION_FIELDS.get(str(loc[0])) if loc else None
        if union and len(loc) > 1 and loc[1] in union:
            del loc[1]  # the union member's tag is not a key the user wrote
        key = ".".join(str(p) for p in loc) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "union_tag_invalid" and union:
            key = f"{loc[0]}.kind"
            msg = f"unknown {loc[0]} kind; known: {', '.join(union)}"
        lines.append(f"  {key}: {msg}")
    return "\n".join(lines)


def parse_config(
    data: dict[str, Any], source: str = "<dict>", base_dir: Path | None = None
) -> FlowConfig:
    """Validate a config mapping; relative file paths in it (``model.path``,
    ``data.path``) are read from ``base_dir`` (default: the working directory).

    >>> parse_config({"quant": {"method": "a2q", "acc_bits": 16}}).quant.acc_bits
    16
    >>> parse_config({"quant": {"bits": 4}})
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: invalid config <dict>:
      quant.bits: unknown key
    """
    try:
        return FlowConfig.model_validate(data, context={BASE_DIR_CONTEXT: base_dir})
    except ValidationError as err:
        raise ConfigError(_format_validation(err, source)) from None


def _yaml_problem(err: yaml.YAMLError) -> str:
    """One line for what ``yaml.safe_load`` refused, and where."""
    if not isinstance(err, yaml.MarkedYAMLError):
        return str(err).splitlines()[0] if str(err) else type(err).__name__
    mark = err.problem_mark or err.context_mark
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = err.problem or err.context or type(err).__name__
    if isinstance(err, yaml.constructor.ConstructorError) and "tag" in problem:
        tag = problem.rsplit(" ", 1)[-1].replace("tag:yaml.org,2002:", "!!")
        return (
            f"{where}tag {tag} is not allowed (plain YAML only: mappings, lists, strings, "
            "numbers, booleans, null)"
        )
    if err.context and err.problem:
        problem = f"{problem} ({err.context})"
    return where + problem


def read_yaml_mapping(path: Path, what: str = "config") -> dict[str, Any]:
    """The mapping in YAML file ``path`` (``yaml.safe_load`` only; empty file: ``{}``).
    Unreadable files, YAML errors and non-mappings raise a one-line
    :class:`~codesign.errors.ConfigError` naming ``what`` and the file.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     bad = Path(tmp) / "c.yaml"
    ...     _ = bad.write_text("quant: !!python/object/apply:os.system [ls]\\n")
    ...     read_yaml_mapping(bad)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: config .../c.yaml is not valid YAML: line 1, column 8: tag '!!py...
    """
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ConfigError(f"cannot read {what} {path}: {err.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{what} {path} is not valid YAML: {_yaml_problem(err)}") from None
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError(f"{what} {path} must be a YAML mapping, got {type(data).__name__}")
    return data


def load_config(path: Path) -> FlowConfig:
    """Read and validate a YAML config file (``yaml.safe_load`` only); its relative file
    paths are relative to the file."""
    path = Path(path)
    return parse_config(read_yaml_mapping(path), source=str(path), base_dir=path.parent)
