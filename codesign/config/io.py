"""Reading a config: YAML (``yaml.safe_load`` only) to a validated :class:`FlowConfig`,
every error one message naming the key at fault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from codesign.config.data import DATA_KINDS
from codesign.config.flow import FlowConfig
from codesign.errors import ConfigError
from codesign.frontend.models.registry import kinds
from codesign.schema import BASE_DIR_CONTEXT


def _format_validation(err: ValidationError, source: str) -> str:
    lines = [f"invalid config {source}:"]
    for e in err.errors():
        loc = list(e["loc"])
        unions = {"model": tuple(sorted(kinds())), "data": DATA_KINDS}
        union = unions.get(str(loc[0])) if loc else None
        if union and len(loc) > 1 and loc[1] in union:
            del loc[1]  # the union member's tag is not a key the user wrote
        key = ".".join(str(p) for p in loc)
        msg = e["msg"]
        if e["type"] == "value_error":  # our validators' own words, without pydantic's prefix
            msg = str(e.get("ctx", {}).get("error", msg))
        elif e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif e["type"] == "union_tag_invalid" and union:
            key = f"{loc[0]}.kind"
            msg = f"unknown {loc[0]} kind; known: {', '.join(union)}"
        lines.append(f"  {key}: {msg}" if key else f"  {msg}")
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
