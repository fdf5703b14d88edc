"""torch -> QONNX export, cleanup, and the check that the graph computes what torch does.

Brevitas 0.13.4's QONNX export of the decoupled (weight-normalised) quantizers behind A2Q
and A2Q+ writes the *float parameter* as the input of each weight ``Quant`` node, together
with the post-clipping scale and ``rounding_mode=ROUND`` (its handler builds the quantized
values, ``quant_weight_values``, and never uses them). The graph thus computes
``round(w / s)`` where torch computes ``round_to_zero((w - mu) / pre_scale)`` with the
L1-normalised pre-scale (and, for A2Q+, the per-channel zero-centring ``mu``); the two
differ in scale, in centring and in rounding. :func:`export_qonnx` therefore replaces each
weight ``Quant`` input by the values torch quantizes to (integer times scale, exactly on
the quantizer's grid), so rounding in the graph is the identity and the Quant node still
carries the integer type FINN folds into integer weights.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import brevitas.nn as qnn
import numpy as np
import numpy.typing as npt
import onnx
import torch
from brevitas.export import export_qonnx as brevitas_export_qonnx
from brevitas.quant_tensor import QuantTensor
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.transformation.change_batchsize import ChangeBatchSize
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup_model
from torch import nn

from codesign.config import QuantConfig
from codesign.errors import ExportMismatchError
from codesign.frontend.quant.presets import LayerWeights, collect_quant_weights, get_preset

ATOL = 1e-5
"""Largest allowed |torch - QONNX| on an image's outputs, relative to the largest of
them (absolute below 1): see :func:`_output_tolerance`."""


@dataclass(frozen=True)
class ExportResult:
    path: Path
    input_name: str
    output_name: str
    input_datatype: str
    """qonnx DataType annotated on the graph input, e.g. ``UINT8``."""
    input_shape: tuple[int, ...]
    op_types: tuple[str, ...]
    """Node op types in graph order."""
    fixed_weight_quants: tuple[str, ...]
    """Weight Quant nodes whose input was replaced by torch's quantized weights."""


@dataclass(frozen=True)
class EquivalenceReport:
    n: int
    images_at_ties: int
    """Images whose outputs differ beyond the tolerance (:func:`_output_tolerance`), each
    explained by an activation that sits at a rounding tie to float precision (torch and
    onnxruntime round its last bit differently, so one quantized value is one step
    apart); 0 for most MLPs."""
    max_abs_diff: float
    torch_accuracy: float | None
    onnx_accuracy: float | None
    """Both None where the test set has no labels."""
    predictions_equal: bool
    batched: bool
    """True when the whole set ran as one batch, False when it ran image by image."""


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Keep the exporter's warnings, log lines and progress prints out of the caller's
    terminal: the library does not print."""
    loggers = [logging.getLogger(name) for name in ("torch.onnx", "torch.export", "brevitas")]
    levels = [lg.level for lg in loggers]
    sink = io.StringIO()
    try:
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(sink),
            contextlib.redirect_stderr(sink),
        ):
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _weight_layout(init: npt.NDArray[Any], lw: LayerWeights) -> str | None:
    """How a graph weight initializer holds this layer's float parameter, if it does."""
    if init.shape == lw.raw_weight.shape and np.array_equal(init, lw.raw_weight):
        return "same"
    if init.shape == lw.raw_weight.T.shape and np.array_equal(init, lw.raw_weight.T):
        return "transposed"
    return None


def _fix_weight_quants(model: ModelWrapper, layers: list[LayerWeights]) -> dict[str, str]:
    """Feed each weight Quant node the exact values torch quantizes to (see module doc);
    returns {Quant node: layer name} (a layer called several times, e.g. an ODE's shared
    block, has one Quant node per call)."""
    fixed: dict[str, str] = {}
    for node in model.get_nodes_by_op_type("Quant"):
        init = model.get_initializer(node.input[0])
        if init is None:
            continue  # an activation quantizer
        for lw in layers:
            layout = _weight_layout(init, lw)
            if layout is None:
                continue
            scale = model.get_initializer(node.input[1])
            want = lw.scale if layout == "same" else lw.scale.T
            if scale is None or not np.array_equal(
                np.broadcast_to(scale, want.shape).astype(np.float32), want
            ):
                raise ExportMismatchError(
                    f"weight Quant node {node.name} of layer {lw.name!r}: its scale differs "
                    "from the torch quantizer's"
                )
            value = lw.value if layout == "same" else lw.value.T
            model.set_initializer(node.input[0], np.ascontiguousarray(value, dtype=np.float32))
            for attr in node.attribute:
                if attr.name == "rounding_mode":
                    # values already sit on the grid; ROUND is the identity on them
                    attr.s = b"ROUND"
            fixed[node.name] = lw.name
            break
    return fixed


def export_qonnx(
    model: nn.Module,
    quant_cfg: QuantConfig,
    x_test: npt.ArrayLike,
    out_path: Path,
    *,
    fix_weight_quant: bool = True,
) -> ExportResult:
    """Export a built-in model to a cleaned QONNX graph at ``out_path`` (batch 1, input
    UINT{quant.input_bits}); see :func:`export_graph`."""
    quantized = get_preset(quant_cfg.method).weight_quant is not None
    return export_graph(
        model, f"UINT{quant_cfg.input_bits}", x_test, out_path,
        fix_weight_quant=fix_weight_quant and quantized,
    )


def export_graph(
    model: nn.Module,
    input_type: str,
    x_test: npt.ArrayLike,
    out_path: Path,
    *,
    fix_weight_quant: bool = True,
) -> ExportResult:
    """Export ``model`` (any Brevitas module) to a cleaned QONNX graph at ``out_path``:
    batch 1, its input annotated with the qonnx DataType ``input_type``.

    ``x_test`` provides the trace input and lets A2Q weight quantizers see their input
    types. The weight Quant node of every QuantLinear / QuantConv2d gets torch's quantized
    weights (see the module doc); ``fix_weight_quant=False`` keeps Brevitas's raw export
    (for demonstrating the trap only). Nothing is written at ``out_path`` unless the
    whole export succeeds.
    """
    out_path = Path(out_path)
    x = torch.from_numpy(np.array(x_test, dtype=np.float32))
    if x.ndim < 2 or x.shape[0] == 0:
        raise ValueError(
            f"x_test must be a non-empty batch (n, ...) of model inputs, got {tuple(x.shape)}"
        )
    layers = collect_quant_weights(model, x[:64]) if fix_weight_quant else []
    was_training = model.training
    model.eval()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(dir=out_path.parent, prefix=f".{out_path.name}."))
    try:
        raw = tmp_dir / "raw.onnx"
        with _quiet(), torch.no_grad():
            # the TorchScript exporter: ~10x faster here than the dynamo one, and the path
            # FINN's own tests take (no-bias layers come out as MatMul, biased as Gemm)
            brevitas_export_qonnx(model, args=x[:1], export_path=str(raw), dynamo=False)
        graph = cleanup_model(ModelWrapper(str(raw)))
        fixed = _fix_weight_quants(graph, layers) if fix_weight_quant else {}
        found = len(set(fixed.values()))
        if fix_weight_quant and found != len(layers):
            raise ExportMismatchError(
                f"found the weight Quant nodes of {found} of {len(layers)} quantized "
                "layers in the exported graph"
            )
        graph = graph.transform(InferShapes())
        input_name = graph.graph.input[0].name
        input_dt = DataType[input_type].get_canonical_name()
        graph.set_tensor_datatype(input_name, DataType[input_dt])
        graph = graph.transform(InferDataTypes())
        onnx.checker.check_model(graph.model)
        final = tmp_dir / "final.onnx"
        graph.save(str(final))
        os.replace(final, out_path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        model.train(was_training)
    return ExportResult(
        path=out_path,
        input_name=input_name,
        output_name=graph.graph.output[0].name,
        input_datatype=input_dt,
        input_shape=tuple(graph.get_tensor_shape(input_name)),
        op_types=tuple(n.op_type for n in graph.graph.node),
        fixed_weight_quants=tuple(fixed),
    )


# --- equivalence -------------------------------------------------------------------------

_LINEAR = (qnn.QuantLinear, nn.Linear, qnn.QuantConv2d, nn.Conv2d)
_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)
_ACT = (qnn.QuantReLU, nn.ReLU)


def _value(t: Any) -> npt.NDArray[np.float32]:
    if isinstance(t, QuantTensor):
        t = t.value
    return np.asarray(t.detach().cpu().numpy(), dtype=np.float32)


def _torch_tensors(
    model: nn.Module, x: torch.Tensor
) -> tuple[npt.NDArray[np.float32], list[tuple[str, str, int]],
           dict[tuple[str, str, int], Any]]:
    """Eval-mode output, and intermediate tensors in call order: (kind, module name,
    call) -> value.

    Kinds: ``weight`` (the quantized weight a linear or conv layer uses), ``linear``,
    ``batchnorm``, ``act``; these are the tensors the graph has counterparts of. ``call``
    counts the module's calls: a module called twice (a ViT's ``embed_act`` also
    requantizes the attention branch added to its output) has one value per call.
    """
    names = {m: n for n, m in model.named_modules()}
    order: list[tuple[str, str, int]] = []
    values: dict[tuple[str, str, int], npt.NDArray[np.float32]] = {}
    calls: dict[tuple[str, str], int] = {}

    def record(kind: str, name: str, value: npt.NDArray[np.float32]) -> None:
        call = calls.get((kind, name), 0)
        calls[(kind, name)] = call + 1
        order.append((kind, name, call))
        values[order[-1]] = value
    weights = {lw.name: lw.value for lw in collect_quant_weights(model, x[:64])}

    def hook(mod: nn.Module, _args: tuple[Any, ...], out: Any) -> None:
        name = names[mod]
        if isinstance(mod, _LINEAR):
            w = weights.get(name)
            if w is None:
                w = _value(mod.weight)
            record("weight", name, w)
            kind = "linear"
        elif isinstance(mod, _BATCHNORM):
            kind = "batchnorm"
        else:
            kind = "act"
        record(kind, name, _value(out))

    # whole layers only: a QuantReLU holds an nn.ReLU of its own
    layers = [n for n, m in model.named_modules() if isinstance(m, (*_LINEAR, *_ACT))]
    hooks = [
        m.register_forward_hook(hook)
        for n, m in model.named_modules()
        if isinstance(m, (*_LINEAR, *_BATCHNORM, *_ACT))
        and not any(n.startswith(f"{outer}.") for outer in layers)
    ]
    model.eval()
    try:
        with torch.no_grad():
            output = _value(model(x))
    finally:
        for h in hooks:
            h.remove()
    return output, order, values


def _graph_tensors(model: ModelWrapper) -> list[tuple[str, str, bool]]:
    """The graph's counterparts in node order: (kind, tensor name, weight is transposed)."""
    found: list[tuple[str, str, bool]] = []
    for node in model.graph.node:
        if node.op_type == "Conv":
            found.append(("weight", node.input[1], False))
            found.append(("linear", node.output[0], False))
        elif node.op_type in ("Gemm", "MatMul"):
            transposed = node.op_type == "MatMul" or not any(
                a.name == "transB" and a.i == 1 for a in node.attribute
            )
            found.append(("weight", node.input[1], transposed))
            out = node.output[0]
            consumer = model.find_consumer(out)
            if (
                node.op_type == "MatMul"
                and consumer is not None
                and consumer.op_type == "Add"
                and any(model.get_initializer(i) is not None for i in consumer.input)
            ):
                out = consumer.output[0]  # MatMul + bias Add is one linear layer
            found.append(("linear", out, False))
        elif node.op_type == "BatchNormalization":
            found.append(("batchnorm", node.output[0], False))
        elif node.op_type == "Relu":
            consumer = model.find_consumer(node.output[0])
            quantized = consumer is not None and consumer.op_type == "Quant"
            found.append(("act", consumer.output[0] if quantized else node.output[0], False))
    return found


def _run_graph(
    model: ModelWrapper, x: npt.NDArray[np.float32]
) -> tuple[dict[str, npt.NDArray[Any]], bool]:
    """Full execution context for the whole set: one batch if the graph allows, else a loop."""
    iname = model.graph.input[0].name
    n = x.shape[0]
    batch = model.get_tensor_shape(iname)[0]
    if batch != n:
        try:
            resized = model.transform(ChangeBatchSize(n)).transform(InferShapes())
            return execute_onnx(resized, {iname: x}, return_full_exec_context=True), True
        except Exception:  # any failure means: run image by image instead
            pass
    else:
        return execute_onnx(model, {iname: x}, return_full_exec_context=True), True
    contexts = [
        execute_onnx(model, {iname: x[i : i + batch]}, return_full_exec_context=True)
        for i in range(0, n, batch)
    ]
    merged: dict[str, npt.NDArray[Any]] = {}
    for key, first in contexts[0].items():
        per_image = (
            np.ndim(first) > 0
            and np.shape(first)[0] == batch
            and model.get_initializer(key) is None
        )
        merged[key] = np.concatenate([c[key] for c in contexts]) if per_image else first
    return merged, False


TIE_TOL = 1e-4
"""An activation is at a rounding tie when its value in quantization steps is within
this of a rounding boundary: torch and onnxruntime compute it to a few float32 ulps
(< 1e-4 steps for codes up to 2**16), the rounding then may go either way."""


def _images_at_rounding_ties(
    graph: ModelWrapper, ctx: dict[str, npt.NDArray[Any]], n: int
) -> npt.NDArray[np.bool_]:
    """Per image: does some activation Quant node of the graph round a value within
    :data:`TIE_TOL` quantization steps of a rounding boundary?

    >>> from onnx import helper
    >>> node = helper.make_node("Quant", ["x", "s", "z", "b"], ["y"], rounding_mode="ROUND")
    >>> g = ModelWrapper(helper.make_model(helper.make_graph([node], "g", [], [])))
    >>> for name, v in {"s": 0.5, "z": 0.0, "b": 8.0}.items():
    ...     g.set_initializer(name, np.array(v, dtype=np.float32))
    >>> x = np.array([[0.7500001, 1.0], [0.7, 1.0]], dtype=np.float32)
    >>> _images_at_rounding_ties(g, {"x": x}, 2).tolist()
    [True, False]
    """
    near = np.zeros(n, dtype=bool)
    for node in graph.get_nodes_by_op_type("Quant"):
        if graph.get_initializer(node.input[0]) is not None:
            continue  # a weight quantizer: no per-image values
        x = np.asarray(ctx[node.input[0]], dtype=np.float64)
        scale = np.asarray(graph.get_initializer(node.input[1]), dtype=np.float64)
        zero = np.asarray(graph.get_initializer(node.input[2]), dtype=np.float64)
        steps = x / scale + zero
        mode = next((a.s.decode() for a in node.attribute if a.name == "rounding_mode"), "ROUND")
        # ROUND / HALF_EVEN / HALF_UP...: boundaries at k + 0.5; FLOOR, CEIL, ...: at k
        offset = 0.5 if mode.startswith(("ROUND", "HALF")) and mode != "ROUND_TO_ZERO" else 0.0
        dist = np.abs(steps - np.floor(steps) - offset)
        if offset == 0.0:
            dist = np.minimum(dist, 1.0 - dist)
        if dist.ndim > 0 and dist.shape[0] == n:
            near |= (dist <= TIE_TOL).reshape(n, -1).any(axis=1)
    return near


def _output_tolerance(ref: npt.NDArray[np.float32]) -> npt.NDArray[np.float64]:
    """Per image (first axis of ``ref``, torch's outputs): the largest allowed |torch -
    QONNX| on its outputs, :data:`ATOL` times the largest |output| of the image, and
    :data:`ATOL` itself where that is below 1.

    torch and onnxruntime sum in different orders, so a float32 output differs by a few
    rounding errors of the largest partial sums it is made of, whose size is that of the
    outputs (or above), not a constant: a ViT's sum pooling over 256 tokens makes
    classifier inputs near 500 (float32 step 3e-5), and logits near 10 then differ by
    1.4e-5 while carrying about 2 float32 epsilons of relative error. ``ATOL`` = 1e-5 is
    about 80 float32 epsilons relative to the largest output.

    >>> _output_tolerance(np.array([[0.5, -0.2], [-16.0, 3.0]], dtype=np.float32)).tolist()
    [1e-05, 0.00016]
    """
    n = ref.shape[0]
    scale = np.abs(ref.astype(np.float64)).reshape(n, -1).max(axis=1, initial=0.0)
    return ATOL * np.maximum(1.0, scale)


def check_equivalence(
    model: nn.Module, onnx_path: Path, x: npt.ArrayLike, y: npt.ArrayLike | None,
    *, classifies: bool = True,
) -> EquivalenceReport:
    """Execute the QONNX graph on ``x`` and require torch's predictions and outputs (to
    :func:`_output_tolerance`: 1e-5 relative to the image's largest output) on every
    image, except images where an activation sits at a rounding tie (see
    :func:`_images_at_rounding_ties`). A model that does not classify (``classifies``
    False: its outputs are images) has no predictions: its outputs alone are compared,
    and ``predictions_equal`` says whether they all are.

    On a mismatch, raises :class:`ExportMismatchError` naming the first graph tensor (in
    torch's call order: weights, linear outputs, batch norms, activations) that differs.
    """
    xs = np.array(x, dtype=np.float32)
    labels = None if y is None else np.asarray(y, dtype=np.int64)
    if xs.ndim < 2 or xs.shape[0] == 0 or (labels is not None and xs.shape[0] != len(labels)):
        raise ValueError(f"need matching non-empty x (n, ...) and y, got {xs.shape}")
    graph = ModelWrapper(str(onnx_path))
    oname = graph.graph.output[0].name
    ref, order, torch_values = _torch_tensors(model, torch.from_numpy(xs))
    ctx, batched = _run_graph(graph, xs)
    n = xs.shape[0]
    got = np.asarray(ctx[oname], dtype=np.float32).reshape(ref.shape)
    diff = float(np.abs(got - ref).max())
    differing = np.abs(got - ref).reshape(n, -1).max(axis=1) > _output_tolerance(ref)
    if classifies:
        flipped = got.argmax(1) != ref.argmax(1)
        same_pred = not flipped.any()
        differing |= flipped
    else:
        same_pred = not differing.any()
    at_tie = _images_at_rounding_ties(graph, ctx, n) if differing.any() else differing
    unexplained = differing & ~at_tie
    if unexplained.any():
        culprit = f"graph output {oname!r}"
        graph_by_kind: dict[str, list[tuple[str, bool]]] = {}
        for kind, tname, transposed in _graph_tensors(graph):
            graph_by_kind.setdefault(kind, []).append((tname, transposed))
        seen: dict[str, int] = {}
        for kind, mname, call in order:
            k = seen.get(kind, 0)
            seen[kind] = k + 1
            if k >= len(graph_by_kind.get(kind, [])):
                continue
            tname, transposed = graph_by_kind[kind][k]
            want = torch_values[(kind, mname, call)]
            have = np.asarray(ctx[tname], dtype=np.float32)
            have = have.T if transposed else have
            if have.shape != want.shape:
                continue
            if kind != "weight" and have.shape[0] == n:
                have, want = have[unexplained], want[unexplained]  # not the tie images
            d = float(np.abs(have - want).max())
            if d > ATOL * max(1.0, float(np.abs(want).max())):
                culprit = (
                    f"tensor {tname!r} ({kind} of torch module {mname!r}, max abs diff {d:.3g})"
                )
                break
        raise ExportMismatchError(
            f"{onnx_path}: QONNX differs from torch; first differing {culprit}; "
            f"output max abs diff {diff:.3g}, predictions "
            f"{'identical' if same_pred else 'differ'} on {xs.shape[0]} inputs "
            f"({int(unexplained.sum())} images differ without a rounding tie)"
        )
    return EquivalenceReport(
        n=int(xs.shape[0]),
        images_at_ties=int(differing.sum()),
        max_abs_diff=diff,
        torch_accuracy=None if labels is None else float((ref.argmax(1) == labels).mean()),
        onnx_accuracy=None if labels is None else float((got.argmax(1) == labels).mean()),
        predictions_equal=same_pred,
        batched=batched,
    )
