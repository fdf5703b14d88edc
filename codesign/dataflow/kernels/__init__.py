"""The kernel registry: one module per kernel kind, registered by the op types it
implements (FINN's own pattern of one HW op with per-backend variants).

Every module of this package whose name does not start with ``_`` is a kernel module; it
defines a :class:`~codesign.dataflow.kernels._base.Kernel` subclass decorated with
:func:`register`. A new op is a new module here plus its rtl/ (and hls/) sources.

An op of FINN's lives in FINN's HW domain (:data:`FINN_HW_DOMAIN`); an op of our own
lives in codesign's custom-op domain, :data:`DOMAIN`, which is this package: qonnx
resolves a node's domain by importing the module of that name and reading its
``custom_op`` dict (as for ``finn.custom_op.fpgadataflow``), and :func:`register` puts
each kernel's :attr:`~codesign.dataflow.kernels._base.Kernel.custom_ops` there. Our ops
therefore execute in Python (``execute_onnx``) and FINN's graph transformations see them
as HW layers (their ``backend`` attribute is ``fpgadataflow``), with no change to FINN.
"""

from __future__ import annotations

import importlib
import pkgutil
import threading
from typing import Any

from codesign.dataflow.kernels._base import (
    Accumulator,
    HlsArray,
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    Memory,
    Param,
    StreamFormat,
    ThresholdTensor,
)
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering, order_lowerings
from codesign.errors import LoweringError

__all__ = [
    "DOMAIN",
    "FINN_HW_DOMAIN",
    "Accumulator",
    "HlsArray",
    "HlsCall",
    "IntArray",
    "Kernel",
    "KernelInstance",
    "LoweredOp",
    "Lowering",
    "Memory",
    "Param",
    "StreamFormat",
    "ThresholdTensor",
    "hls_ops",
    "is_hw_domain",
    "kernel_for",
    "kernel_named",
    "kernels",
    "lowerings",
    "register",
]

DOMAIN = __name__
"""codesign's custom-op domain: the ONNX domain of the HW nodes of our own ops."""
FINN_HW_DOMAIN = "finn.custom_op.fpgadataflow"
"""FINN's HW layers: generic nodes in this domain, specialized ones in its ``.hls`` and
``.rtl`` subdomains."""

_CUSTOM_OP: dict[str, type[Any]] = {}
"""qonnx's custom-op table of :data:`DOMAIN` (op type -> CustomOp class), which qonnx reads
as this module's ``custom_op`` (see :func:`__getattr__`)."""
_LOADED = False
_LOADING = threading.RLock()
"""Held while the kernel modules import: another thread asking the registry then (the
synthesis pool's first kernels) waits for all of them; the importing thread may re-enter."""
_BY_NAME: dict[str, Kernel] = {}
_BY_OP: dict[str, Kernel] = {}


def is_hw_domain(domain: str) -> bool:
    """True for the domains of HW layers: FINN's (generic or specialized) and ours."""
    return domain.startswith(FINN_HW_DOMAIN) or domain == DOMAIN


def register(cls: type[Kernel]) -> type[Kernel]:
    """Class decorator: add a kernel kind to the registry under its name and op types."""
    kernel = cls()
    if cls.name in _BY_NAME:
        raise RuntimeError(f"kernel {cls.name!r} is registered twice")
    _BY_NAME[cls.name] = kernel
    for op in cls.op_types:
        if op in _BY_OP:
            raise RuntimeError(f"op type {op} has two kernels: {_BY_OP[op].name}, {cls.name}")
        _BY_OP[op] = kernel
    for op_class in cls.custom_ops:
        if op_class.__name__ not in cls.op_types:
            raise RuntimeError(
                f"kernel {cls.name!r}: custom op {op_class.__name__} is not one of its op types "
                f"{', '.join(cls.op_types)}"
            )
        _CUSTOM_OP[op_class.__name__] = op_class
    return cls


def _load_all() -> None:
    """Import every kernel module, once, when the registry is first asked. Not at import:
    a testbench that imports one kernel's golden must not pay for FINN's custom ops (and
    torch behind them), which some kernel modules subclass."""
    global _LOADED
    with _LOADING:
        if _LOADED:
            return
        _LOADED = True
        for mod in pkgutil.iter_modules(__path__):
            if not mod.name.startswith("_"):
                importlib.import_module(f"{__name__}.{mod.name}")


def __getattr__(name: str) -> Any:
    if name == "custom_op":  # qonnx's lookup of our domain's ops
        _load_all()
        return _CUSTOM_OP
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def kernels() -> list[Kernel]:
    """Every registered kernel kind, by name."""
    _load_all()
    return [_BY_NAME[n] for n in sorted(_BY_NAME)]


def lowerings() -> list[Lowering]:
    """Every kernel's lowering, in the order ``convert_to_hw`` applies them."""
    return order_lowerings((k.name, lw) for k in kernels() for lw in k.lowerings)


def supported_ops() -> list[str]:
    _load_all()
    return sorted(_BY_OP)


def hls_ops() -> list[str]:
    """The op types whose kernel has an HLS implementation (hls/)."""
    _load_all()
    return sorted(op for op, k in _BY_OP.items() if k.has_hls)


def kernel_named(name: str) -> Kernel:
    """The kernel kind called ``name``."""
    _load_all()
    try:
        return _BY_NAME[name]
    except KeyError:
        known = ", ".join(sorted(_BY_NAME))
        raise LoweringError(f"no kernel named {name!r}; known kernels: {known}") from None


def kernel_for(node: Any) -> Kernel:
    """The kernel that implements ``node`` (an ONNX NodeProto); raise LoweringError naming
    the node, its op type and the supported ops."""
    _load_all()
    try:
        return _BY_OP[node.op_type]
    except KeyError:
        raise LoweringError(
            f"node {node.name} ({node.op_type}) has no kernel in the registry; supported "
            f"ops: {', '.join(supported_ops())}"
        ) from None
