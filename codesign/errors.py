"""Typed errors raised by the library; the CLI turns them into messages and exit codes."""


class CodesignError(Exception):
    """Base class of every error codesign raises on purpose."""


class ConfigError(CodesignError):
    """A configuration value is invalid; the message names the key and what is allowed."""


class ExportMismatchError(CodesignError):
    """The exported QONNX graph does not compute what the torch model computes."""


class ModelFileError(CodesignError):
    """A user's model file is refused before anything runs on it; the message names the
    file, the node or tensor at fault, and what is accepted."""


class DataFileError(CodesignError):
    """A user's data file is refused; the message names the file and the array at fault."""


class LoweringError(CodesignError):
    """FINN could not lower a node; the message names the node and its op type."""


class VerificationError(CodesignError):
    """A simulated accelerator output differs from the reference."""


class ToolNotFoundError(CodesignError):
    """An external tool (simulator, synthesizer, vendor tool) is not installed."""
