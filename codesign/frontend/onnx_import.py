"""A user's QONNX / FINN-ONNX file as the flow's model: the checks before anything runs
on it, and its import into a build directory.

The file is untrusted. It is read as a protobuf and checked before any qonnx or FINN code
sees it (:func:`check_onnx`):

- its size and every tensor it holds (initializers, constants) are bounded, and a
  tensor's stored data must match its shape; no external data (a file path the model
  names), sparse tensors, local functions or subgraphs;
- every node's domain and op type is one the lowering takes (:func:`allowed_ops`, built
  from the kernel registry). qonnx looks a custom node up by importing its domain as a
  Python module (``qonnx.custom_op.registry``), so a domain outside the allowlist would
  import whatever module it names; HW layers (FINN's or codesign's) are refused too;
- a float ``Softmax`` feeding a ``MatMul`` of two activations (attention's) is refused,
  with what is needed;
- the onnx checker passes;
- the graph has one input, of a static shape with batch 1, and one output.

:func:`import_model` then (with FINN's old-style domains renamed to qonnx's) cleans the graph up
as the flow's own export does (qonnx's ``cleanup_model``), annotates its input with the
integer DataType, and writes it and the checked test set (see
:func:`codesign.frontend.data.load_npz`) where the flow's lowering reads them.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
from onnx import AttributeProto, ModelProto, NodeProto, TensorProto

from codesign.errors import ModelFileError
from codesign.frontend.data import check_input_values, load_npz, save_npz

MAX_FILE_BYTES = 256 << 20
"""Largest ONNX file read (a network that fits on an FPGA is far smaller)."""
MAX_TENSOR_ELEMENTS = 1 << 24
"""Largest initializer or constant (16 M values: more weights than any board holds)."""
MAX_TOTAL_ELEMENTS = 1 << 26
"""Largest number of values in all tensors of the graph together."""

QONNX_DOMAIN = "qonnx.custom_op.general"
DOMAIN_ALIASES = {"ai.onnx": "", "onnx.brevitas": QONNX_DOMAIN, "finn": QONNX_DOMAIN,
                  "finn.custom_op.general": QONNX_DOMAIN}
"""Other names of the accepted domains: ONNX's own, and the names Brevitas and older FINN
versions wrote for qonnx's."""
QUANTIZER_OPS = frozenset({"Quant", "IntQuant", "BipolarQuant", "Trunc"})
"""Ops that make a graph QONNX (FINN-ONNX graphs carry MultiThresholds and integer
weights instead, and skip FINN's QONNX-to-FINN conversion)."""


def allowed_ops() -> dict[str, frozenset[str]]:
    """The accepted op types of each accepted node domain: what the lowering takes
    (:func:`codesign.dataflow.ops.import_allowlist`, built from the kernel registry),
    under qonnx's domain names and their aliases."""
    from codesign.dataflow.ops import import_allowlist

    canonical = import_allowlist()
    return {**canonical, **{alias: canonical[d] for alias, d in DOMAIN_ALIASES.items()}}


def _accepted_text(allowed: dict[str, frozenset[str]]) -> str:
    return (
        f"accepted: ONNX standard ops {', '.join(sorted(allowed['']))}; "
        f"qonnx ops (domain {QONNX_DOMAIN}) {', '.join(sorted(allowed[QONNX_DOMAIN]))}"
    )


def _check_node(node: NodeProto, where: str, allowed: dict[str, frozenset[str]]) -> None:
    """Refuse a HW layer, a domain or op type outside ``allowed`` (:func:`allowed_ops`),
    and subgraph or sparse-tensor attributes."""
    from codesign.dataflow.kernels import is_hw_domain

    label = f"{where}: node {node.name or '(unnamed)'} (op type {node.op_type!r}, domain " \
            f"{node.domain!r})"
    if is_hw_domain(node.domain):
        raise ModelFileError(
            f"{label} is a HW layer; codesign lowers the graph itself: give the graph "
            "before FINN's HW conversion (QONNX, or FINN-ONNX after streamlining)"
        )
    ops = allowed.get(node.domain)
    if ops is None:
        raise ModelFileError(
            f"{label}: unknown domain (qonnx would import it as a Python module); accepted "
            f"domains: {', '.join(repr(d) for d in allowed)}"
        )
    if node.op_type not in ops:
        raise ModelFileError(f"{label}: op type not supported; " + _accepted_text(allowed))
    for attr in node.attribute:
        if attr.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
            raise ModelFileError(f"{label}: attribute {attr.name} holds a subgraph")
        if attr.type in (AttributeProto.SPARSE_TENSOR, AttributeProto.SPARSE_TENSORS):
            raise ModelFileError(f"{label}: attribute {attr.name} holds a sparse tensor")


ATTENTION_REACH = 4
"""How many nodes after a Softmax attention's second MatMul may sit (Softmax -> Quant ->
Reshape -> Transpose -> MatMul)."""


def _check_float_attention(graph: onnx.GraphProto, where: str) -> None:
    """Refuse a float ``Softmax`` whose output reaches, within :data:`ATTENTION_REACH`
    nodes, a ``MatMul`` of two activations (attention's A·V): that softmax must be integer
    to run in the accelerator. A Softmax before a weighted layer or ending the graph is
    left to the lowering (which keeps it on the host or names it)."""
    constants = {t.name for t in graph.initializer}
    constants |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}
    consumers: dict[str, list[NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    def mixes(node: NodeProto) -> bool:
        return node.op_type == "MatMul" and not constants & set(node.input)

    for soft in (n for n in graph.node if n.op_type == "Softmax"):
        frontier = [soft]
        for _ in range(ATTENTION_REACH):
            frontier = [c for n in frontier for o in n.output for c in consumers.get(o, [])]
            matmul = next((c for c in frontier if mixes(c)), None)
            if matmul is not None:
                raise ModelFileError(
                    f"{where}: node {soft.name or '(unnamed)'} is a float Softmax inside "
                    f"attention (its output reaches MatMul {matmul.name} of two "
                    "activations); the accelerator computes attention in integers: an "
                    "integer softmax (codesign.attention.int_softmax, which a model.kind: "
                    "vit build exports), or linear attention (model.attention: linear). "
                    "FINN's Softmax and HWSoftmax compute in float32, which no integer "
                    "accelerator reproduces"
                )


def _tensor_elements(t: TensorProto, what: str) -> int:
    """Number of values of ``t``, checked against its stored data (never decoded here)."""
    if t.data_location == TensorProto.EXTERNAL or t.external_data:
        raise ModelFileError(
            f"{what} stores its data in an external file; codesign reads self-contained "
            "ONNX files only (save the model with all tensors inside it)"
        )
    if t.data_type in (TensorProto.UNDEFINED, TensorProto.STRING):
        raise ModelFileError(f"{what} has data type {TensorProto.DataType.Name(t.data_type)}")
    if any(d < 0 for d in t.dims):
        raise ModelFileError(f"{what} has a negative dimension: {list(t.dims)}")
    n = math.prod(t.dims)
    if n > MAX_TENSOR_ELEMENTS:
        raise ModelFileError(
            f"{what} has {n} values (shape {list(t.dims)}); at most {MAX_TENSOR_ELEMENTS} "
            "values per tensor are accepted"
        )
    if t.raw_data:
        itemsize = onnx.helper.tensor_dtype_to_np_dtype(t.data_type).itemsize
        stored = len(t.raw_data) // itemsize
    else:
        fields = ("float_data", "int32_data", "int64_data", "double_data", "uint64_data")
        stored = sum(len(getattr(t, f)) for f in fields)
        if t.data_type in (TensorProto.COMPLEX64, TensorProto.COMPLEX128):
            stored //= 2
    if stored != n:
        raise ModelFileError(f"{what} has shape {list(t.dims)} ({n} values) but stores {stored}")
    return n


def _static_shape(vi: onnx.ValueInfoProto, what: str) -> tuple[int, ...]:
    if not vi.type.HasField("tensor_type"):
        raise ModelFileError(f"{what} {vi.name!r} is not a tensor")
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        raise ModelFileError(f"{what} {vi.name!r} has no shape; a static shape is required")
    dims = []
    for i, d in enumerate(tt.shape.dim):
        if not d.HasField("dim_value") or d.dim_value < 1:
            name = d.dim_param or "unknown"
            raise ModelFileError(
                f"{what} {vi.name!r} has a dynamic dimension {i} ({name}); export with a "
                "static shape (batch 1, no dynamic axes)"
            )
        dims.append(int(d.dim_value))
    return tuple(dims)


def _canonical_domains(model: ModelProto) -> None:
    """Rename the aliases of accepted domains (Brevitas's and old FINN's) to qonnx's, with
    its opset import (which old FINN-ONNX files lack)."""
    for node in model.graph.node:
        node.domain = DOMAIN_ALIASES.get(node.domain, node.domain)
    if any(n.domain == QONNX_DOMAIN for n in model.graph.node) and not any(
        o.domain == QONNX_DOMAIN for o in model.opset_import
    ):
        model.opset_import.append(onnx.helper.make_opsetid(QONNX_DOMAIN, 1))


def _graph_elements(g: onnx.GraphProto, path: Path) -> int:
    """Values in all tensors of the graph (initializers, tensor attributes), each checked
    by :func:`_tensor_elements`."""
    total = sum(_tensor_elements(t, f"{path}: initializer {t.name!r}") for t in g.initializer)
    for node in g.node:
        for attr in node.attribute:
            tensors = [attr.t] if attr.type == AttributeProto.TENSOR else list(attr.tensors)
            for t in tensors:
                total += _tensor_elements(t, f"{path}: node {node.name} attribute {attr.name}")
    return total


def check_onnx(path: Path) -> ModelProto:
    """Read the ONNX file at ``path`` and run every check of the module doc; the first
    failing one raises :class:`ModelFileError` naming the file and the node, tensor or
    value at fault, and what is accepted. The model returned has qonnx's domain names
    (:func:`_canonical_domains`)."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise ModelFileError(f"cannot read model file {path}: {err.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ModelFileError(f"{path}: {size} bytes; at most {MAX_FILE_BYTES} are accepted")
    try:
        model = onnx.load_model_from_string(path.read_bytes())
    except Exception as err:  # protobuf's DecodeError and friends
        raise ModelFileError(f"{path} is not an ONNX model: {err}") from None
    g = model.graph
    if model.functions:
        raise ModelFileError(f"{path}: holds local functions ({model.functions[0].name})")
    if g.sparse_initializer:
        raise ModelFileError(f"{path}: holds sparse initializers")
    allowed = allowed_ops()
    for node in g.node:
        _check_node(node, str(path), allowed)
    _check_float_attention(g, str(path))
    total = _graph_elements(g, path)
    if total > MAX_TOTAL_ELEMENTS:
        raise ModelFileError(
            f"{path}: its tensors hold {total} values; at most {MAX_TOTAL_ELEMENTS} accepted"
        )
    _canonical_domains(model)
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as err:
        first = str(err).strip().splitlines()[0]
        raise ModelFileError(f"{path} fails the onnx checker: {first}") from None
    initializers = {t.name for t in g.initializer}
    inputs = [vi for vi in g.input if vi.name not in initializers]
    if len(inputs) != 1 or len(g.output) != 1:
        raise ModelFileError(
            f"{path}: the graph has {len(inputs)} inputs and {len(g.output)} outputs; "
            "codesign builds single-input, single-output accelerators"
        )
    shape = _static_shape(inputs[0], "graph input")
    _static_shape(g.output[0], "graph output")
    if len(shape) < 2 or shape[0] != 1:
        raise ModelFileError(
            f"{path}: graph input {inputs[0].name!r} has shape {list(shape)}; the first "
            "dimension must be the batch, of size 1"
        )
    if inputs[0].type.tensor_type.elem_type != TensorProto.FLOAT:
        elem = TensorProto.DataType.Name(inputs[0].type.tensor_type.elem_type)
        raise ModelFileError(
            f"{path}: graph input {inputs[0].name!r} is {elem}; QONNX graphs take FLOAT "
            "tensors holding the integer codes (with a qonnx DataType annotation)"
        )
    return model


def _annotation(model: ModelProto, tensor: str) -> str | None:
    for ann in model.graph.quantization_annotation:
        if ann.tensor_name == tensor:
            for kv in ann.quant_parameter_tensor_names:
                if kv.key == "finn_datatype":
                    return str(kv.value)
    return None


def input_datatype(model: ModelProto, input_type: str | None, source: Path) -> tuple[Any, str]:
    """The integer qonnx DataType of the graph input and where it came from ("graph" or
    "data.input_type"): the graph's annotation unless it is absent or FLOAT32."""
    from qonnx.core.datatype import DataType

    name = model.graph.input[0].name
    annotated = _annotation(model, name)
    if annotated is not None:
        try:
            dtype = DataType[annotated]
        except KeyError:
            raise ModelFileError(
                f"{source}: input {name!r} is annotated {annotated!r}, not a qonnx DataType"
            ) from None
        if dtype.is_integer():
            if input_type is not None and DataType[input_type] != dtype:
                raise ModelFileError(
                    f"{source}: data.input_type {input_type} contradicts the graph's "
                    f"annotation {dtype.get_canonical_name()} of input {name!r}; drop "
                    "data.input_type or make them agree"
                )
            return dtype, "graph"
    if input_type is None:
        raise ModelFileError(
            f"{source}: the graph does not annotate input {name!r} with an integer qonnx "
            "DataType; set data.input_type (e.g. UINT8) to the type of the codes in x"
        )
    return DataType[input_type], "data.input_type"


@dataclass(frozen=True)
class ImportReport:
    """What :func:`import_model` checked and wrote (paths relative to the build dir)."""

    onnx: str
    test_set: str
    source: str
    sha256: str
    format: str
    """``qonnx`` (Quant nodes) or ``finn-onnx`` (MultiThresholds, integer weights)."""
    input: dict[str, Any]
    output: dict[str, Any]
    op_types: dict[str, int]
    tensor_values: int
    images: int
    labels: bool

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "artefacts": [self.onnx, self.test_set]}


def import_model(
    model_path: Path, data_path: Path, input_type: str | None, build_root: Path, subdir: str
) -> ImportReport:
    """Check the user's model and test set and write them as ``<subdir>/model.onnx``
    (qonnx domains, integer input annotation) and ``<subdir>/test.npz`` under
    ``build_root``. Raises :class:`ModelFileError` or :class:`DataFileError`."""
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.transformation.infer_datatypes import InferDataTypes
    from qonnx.util.cleanup import cleanup_model

    model = check_onnx(model_path)
    dtype, dtype_from = input_datatype(model, input_type, Path(model_path))
    inp, out = model.graph.input[0], model.graph.output[0]
    shape = _static_shape(inp, "graph input")
    test = load_npz(Path(data_path), sample_shape=shape[1:], input_name=inp.name)
    check_input_values(test, dtype, Path(data_path))

    # the checks passed: qonnx may now run on it (shapes, constant folding, names), as
    # on the flow's own exports
    wrapper = cleanup_model(ModelWrapper(model))
    wrapper.set_tensor_datatype(wrapper.graph.input[0].name, dtype)
    wrapper = wrapper.transform(InferDataTypes())
    dest = Path(build_root) / subdir
    dest.mkdir(parents=True, exist_ok=True)
    wrapper.save(str(dest / "model.onnx"))
    save_npz(dest / "test.npz", test)
    ops = Counter(n.op_type for n in model.graph.node)
    return ImportReport(
        onnx=f"{subdir}/model.onnx",
        test_set=f"{subdir}/test.npz",
        source=str(model_path),
        sha256=hashlib.sha256(Path(model_path).read_bytes()).hexdigest(),
        format="qonnx" if QUANTIZER_OPS & set(ops) else "finn-onnx",
        input={"name": inp.name, "shape": list(shape), "datatype": dtype.get_canonical_name(),
               "datatype_from": dtype_from},
        output={"name": out.name, "shape": list(_static_shape(out, "graph output"))},
        op_types=dict(sorted(ops.items())),
        tensor_values=sum(math.prod(t.dims) for t in model.graph.initializer),
        images=len(test.x),
        labels=test.y is not None,
    )
