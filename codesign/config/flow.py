"""The whole flow config: the model section of a registered family, the data section and
the common sections; its digests define the build directory and the sweep points."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Annotated, Any, Union

import yaml
from pydantic import (
    Discriminator,
    Field,
    SerializerFunctionWrapHandler,
    Tag,
    field_validator,
    model_serializer,
    model_validator,
)

from codesign.config.data import DataField, DigitsData, NpzData
from codesign.config.sections import (
    FoldConfig,
    LayerQuant,
    QuantConfig,
    SimConfig,
    SynthConfig,
    TrainConfig,
)
from codesign.frontend.models import family, registry
from codesign.schema import ModelSection, Strict, file_digest


def _model_kind(value: Any) -> str:
    # an untagged mapping is an MLP, as before model.kind had a second value
    if isinstance(value, dict):
        return str(value.get("kind", "mlp"))
    return str(getattr(value, "kind", "mlp"))


def _model_field() -> Any:
    """The ``model`` field: a union of the registered families' sections, tagged by kind."""
    members = tuple(Annotated[f.section, Tag(f.kind)] for f in registry.families())
    return Annotated[Union[members], Discriminator(_model_kind)]  # noqa: UP007


if TYPE_CHECKING:
    ModelField = ModelSection
else:
    ModelField = _model_field()


def _default_model() -> ModelSection:
    return family("mlp").section.model_validate({})


class FlowConfig(Strict):
    name: str = Field(default="mlp", pattern=r"^[A-Za-z0-9_.-]+$")
    model: ModelField = Field(default_factory=_default_model)
    data: DataField = DigitsData()
    quant: QuantConfig = QuantConfig()
    train: TrainConfig = TrainConfig()
    fold: FoldConfig = FoldConfig(target_cycles=64)
    board: str = "zcu104"
    sim: SimConfig = SimConfig()
    synth: SynthConfig = SynthConfig()

    @field_validator("board")
    @classmethod
    def _known_board(cls, name: str) -> str:
        # checked here, not at the fold step after training (the registry reads board files)
        from codesign.board.registry import list_boards

        known = list_boards()
        if name.strip().lower() not in known:
            raise ValueError(f"unknown board {name!r}; known boards: {', '.join(known)}")
        return name

    @model_validator(mode="after")
    def _dsp_on_board(self) -> FlowConfig:
        # checked here, not at the fold step after training
        from codesign.board.registry import get_board

        board = get_board(self.board)
        if "dsp" in self.fold.explicit_mac_resources and not board.has_dsp:
            raise ValueError(
                f"fold.mac_resource: dsp puts multipliers in DSP blocks, but board "
                f"{board.name} has none; use mac_resource: lut (or leave it unset)"
            )
        return self

    @property
    def source(self) -> registry.Source:
        """Where the model comes from (its family's source: builtin, file or factory)."""
        return family(self.model.kind).source

    @property
    def imported(self) -> bool:
        """True for a user's model file (no train and export steps)."""
        return self.source == "file"

    @property
    def user_model(self) -> bool:
        """True for a user's model (an ONNX file or a Brevitas factory): it carries its
        own quantization (no ``quant`` section) and comes with an npz test set."""
        return self.source != "builtin"

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
        if isinstance(self.data, NpzData) and self.data.train is not None and (
            self.source != "factory"
        ):
            raise ValueError(
                "data.train is the training set of a Brevitas factory without "
                "checkpoint (model.kind brevitas); an ONNX model is not trained"
            )
        if not self.user_model:
            self.layer_plan()  # a per-layer setting against the model's layers, before training
        if self.train.init == "float" and (self.user_model or self.quant.method == "float"):
            raise ValueError(
                "train.init float starts the quantized model of a built-in family from its "
                f"float twin; model.kind {kind} with quant.method {self.quant.method} has "
                "none (use train.init scratch)"
            )
        check = family(kind).check
        if check is not None:
            check(self)
        return self

    def layer_plan(self) -> tuple[LayerQuant, ...] | None:
        """Each weighted layer's quantization, in graph order (see
        :meth:`QuantConfig.layer_plan`); None for a user's model, which carries its own."""
        if self.user_model:
            return None
        names = family(self.model.kind).weighted_layers
        if names is None:
            raise ValueError(f"model.kind {self.model.kind} does not list its weighted layers")
        return self.quant.layer_plan(names(self.model))

    @model_serializer(mode="wrap")
    def _omit_unused(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # the default data section is left out, so built-in configs dump (and digest) as
        # before it existed; a user's model has no quant section, an imported one no train
        out: dict[str, Any] = handler(self)
        if self.data == DigitsData():
            out.pop("data", None)  # data.domain etc. at their defaults too
        elif isinstance(self.data, DigitsData) and self.data.adapt_lr is None:
            out["data"].pop("adapt_lr", None)  # an adapted model's config dumps as before
        elif (isinstance(self.data, NpzData) and self.data.train is None
              and isinstance(out.get("data"), dict)):
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
        identity = family(self.model.kind).identity
        if identity is not None:
            identity(self.model, dumped["model"])
        if isinstance(self.data, NpzData):
            dumped["data"]["path"] = file_digest(self.data.path, "data.path")
            if self.data.train is not None:
                dumped["data"]["train"] = file_digest(self.data.train, "data.train")
        return dumped

    def digest(self) -> str:
        """Content digest of the whole config: same config (and seed) -> same digest."""
        dumped = self._identity(self.model_dump(mode="json"))
        content = family(self.model.kind).content
        if content is not None:
            content(self.model, dumped["model"])
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
