"""Which ONNX/qonnx ops the lowering takes, built from the kernel registry.

Kernels declare what their lowerings turn into HW layers
(:class:`~codesign.dataflow.kernels.Lowering`); this module adds what is not a kernel's:
the ops streamlining consumes (quantizers, BatchNorm, ReLU...), the layout ops that may
stay on the host before the dataflow region, and the host ops after it. From these it
builds the lowerable-op list of the lowering errors and the allowlist of a user's ONNX
file (:mod:`codesign.frontend.onnx_import`).
"""

from __future__ import annotations

from qonnx.custom_op.registry import is_custom_op

from codesign.dataflow.kernels import lowerings

QONNX_DOMAIN = "qonnx.custom_op.general"

QUANTIZER_OPS = ("Quant", "IntQuant", "BipolarQuant", "Trunc")
"""QONNX's quantizer ops; a graph without them is FINN-ONNX already."""
HEAD_OPS = frozenset({"Transpose", "Reshape", "Flatten", "Identity", "Squeeze", "Unsqueeze"})
"""What may stay on the host before the dataflow region: layout ops only, so the
accelerator takes the graph's integer input codes."""
HOST_ONLY_OPS = HEAD_OPS | {"Mul", "Sub", "Div", "ArgMax", "Softmax"}
"""Ops no kernel lowers that may run on the host after the dataflow region (the float
de-quantization of the logits, layout ops, the argmax)."""
STREAMLINED_OPS = frozenset(
    {
        *QUANTIZER_OPS, "QuantAvgPool2d",
        # layers and activations FINN's QONNX-to-FINN conversion and streamlining absorb
        "Gemm", "BatchNormalization", "Relu", "Clip", "Sign", "AveragePool",
        "GlobalAveragePool", "Pad",
        # shape arithmetic the cleanup folds away
        "Constant", "Shape", "Gather", "Concat", "Slice", "Cast",
    }
)  # fmt: skip
"""Ops that never reach ``convert_to_hw``: converted, absorbed or folded before it."""


def lowered_ops() -> dict[str, str]:
    """Every op a kernel's lowering turns into HW layers -> what it becomes (in words),
    in lowering order."""
    found: dict[str, list[str]] = {}
    for lowering in lowerings():
        for op in lowering.lowers:
            found.setdefault(op.op_type, []).append(op.becomes)
    return {op: "; or ".join(texts) for op, texts in found.items()}


def intermediate_ops() -> dict[str, str]:
    """Ops streamlining makes of a lowerable op (an Im2Col of a Conv, a MaxPoolNHWC) that
    trigger a kernel's lowering without being among the ops it names -> the kernel's HW
    op types and the lowering, in words."""
    from codesign.dataflow.kernels import kernels

    named = set(lowered_ops())
    found: dict[str, str] = {}
    for kernel in kernels():
        for lowering in kernel.lowerings:
            for op in lowering.guard:
                if op not in named:
                    found.setdefault(op, f"{' / '.join(kernel.op_types)} ({lowering.name})")
    return found


def host_ops() -> frozenset[str]:
    """Ops that may run on the host after the dataflow region: :data:`HOST_ONLY_OPS` and
    the lowerable ops that stay there when FINN does not lower them (float inputs)."""
    kept = {op.op_type for lw in lowerings() for op in lw.lowers if op.on_host}
    return HOST_ONLY_OPS | kept


def import_allowlist() -> dict[str, frozenset[str]]:
    """The ops a user's ONNX file may hold, by canonical domain (``""`` for ONNX's,
    :data:`QONNX_DOMAIN`): what streamlining consumes, what the kernels lower (the ops
    their lowerings name or are triggered by), and what may stay on the host."""
    ops = set(STREAMLINED_OPS) | host_ops() | set(lowered_ops())
    ops |= {op for lowering in lowerings() for op in lowering.guard}
    qonnx = frozenset(op for op in ops if is_custom_op(QONNX_DOMAIN, op))
    return {"": frozenset(ops - qonnx), QONNX_DOMAIN: qonnx}
