"""The lowering steps: QONNX -> FINN-ONNX -> streamlined -> HW layers -> folded dataflow.

Each step is ``step(model, cfg) -> model`` and uses FINN's own transformations. Up to
``convert_to_hw`` the model is one graph; ``create_dataflow_partition`` returns FINN's
parent graph, and the later steps transform its dataflow child (see
:mod:`codesign.dataflow.lower._graph`) and return the parent pointing at the new child.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from onnx import NodeProto
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.fold_constants import FoldConstants
from qonnx.transformation.general import (
    GiveReadableTensorNames,
    GiveUniqueNodeNames,
    RemoveStaticGraphInputs,
    RemoveUnusedTensors,
)
from qonnx.transformation.infer_data_layouts import InferDataLayouts
from qonnx.transformation.infer_datatypes import InferDataTypes
from qonnx.transformation.infer_shapes import InferShapes
from qonnx.util.cleanup import cleanup_model

from codesign.config import FlowConfig
from codesign.dataflow.kernels import kernel_for, lowerings
from codesign.dataflow.lower import exact
from codesign.dataflow.lower._graph import (
    WORKDIR_PROP,
    dataflow_child,
    fpga_part,
    is_hw_node,
    sdp_node,
    store_child,
    workdir,
)
from codesign.dataflow.lower.estimates import annotate_estimates
from codesign.dataflow.lower.folding import fold_explicit, fold_to_target, set_mac_resources
from codesign.dataflow.lower.region import check_region, host_nodes_inside
from codesign.dataflow.ops import QUANTIZER_OPS
from codesign.errors import LoweringError
from codesign.frontend.models.registry import family

Step = Callable[[ModelWrapper, FlowConfig], ModelWrapper]

def _hw_child(model: ModelWrapper) -> ModelWrapper:
    if sdp_node(model) is None:
        raise LoweringError(
            "this step works on the dataflow partition; run create_dataflow_partition first"
        )
    return dataflow_child(model)


# --------------------------------------------------------------------------- steps


def _act_quant_bits(model: ModelWrapper) -> int:
    """The widest activation quantizer of a QONNX graph (a Quant whose input is not an
    initializer), 0 if it has none."""
    widths = [0]
    for node in model.get_nodes_by_op_type("Quant") + model.get_nodes_by_op_type("IntQuant"):
        bits = model.get_initializer(node.input[3])
        if model.get_initializer(node.input[0]) is None and bits is not None:
            widths.append(int(bits))
    return max(widths)


def step_qonnx_to_finn(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """QONNX cleanup, then FINN's ConvertQONNXtoFINN (Quant -> MultiThreshold / weights);
    a FINN-ONNX graph (no QONNX quantizers: an imported file FINN converted already) is
    only cleaned up."""
    from finn.transformation.qonnx.convert_qonnx_to_finn import ConvertQONNXtoFINN
    from finn.transformation.qonnx.quant_act_to_multithreshold import (
        default_filter_function_generator,
    )

    inp = model.graph.input[0].name
    idt = model.get_tensor_datatype(inp)
    if not idt.is_integer():
        hint = "data.input_type" if cfg.user_model else f"UINT{cfg.quant.input_bits}"
        raise LoweringError(
            f"graph input {inp} has data type {idt.name}; the flow expects integer input "
            f"codes annotated with their qonnx DataType (e.g. {hint})"
        )
    if idt.name == "BIPOLAR":
        # FINN's XNOR conversion would re-annotate it BINARY (0/1 codes), and the
        # accelerator would then read the test set's -1 as 0
        raise LoweringError(
            f"graph input {inp} is BIPOLAR (-1, +1); the flow takes integer codes: give "
            "0/1 or pixel codes (e.g. UINT8) and put the 2x - 1 pre-processing in the graph"
        )
    model = cleanup_model(model)
    if not any(model.get_nodes_by_op_type(op) for op in QUANTIZER_OPS):
        return model
    # every activation quantizer becomes a MultiThreshold (2^bits - 1 thresholds), in
    # float64 until streamlining rounds the thresholds (codesign.dataflow.lower.exact)
    max_bits = max(8, _act_quant_bits(model) if cfg.user_model else cfg.quant.act_bits)
    model = exact.to_float64(model)
    ties = exact.rounding_quantizers(model)
    with exact.finn_thresholds_in_float64():
        model = model.transform(
            ConvertQONNXtoFINN(
                filter_function=default_filter_function_generator(
                    max_multithreshold_bit_width=max_bits
                )
            )
        )
    return exact.to_float64(exact.nudge_ties(model, ties))


def step_tidy_up(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """Shapes, constant folding, unique names, data types (FINN's tidy-up)."""
    model = model.transform(InferShapes())
    model = model.transform(FoldConstants())
    model = model.transform(GiveUniqueNodeNames())
    model = model.transform(GiveReadableTensorNames())
    model = model.transform(InferDataTypes())
    model = model.transform(RemoveStaticGraphInputs())
    return model


def step_streamline(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """FINN streamlining, chosen by ``model.kind``: :func:`streamline_mlp` (FINN's
    TFC/MLP recipe) or :func:`streamline_cnn` (its CNV/ResNet recipe); an imported graph
    or a user's Brevitas module takes the CNN recipe if it has convolutions or pooling
    (:func:`streamline_imported`): the recipe follows the graph, not the model kind."""
    _check_resizes(model)
    recipe = family(cfg.model.kind).streamline
    streamline = STREAMLINERS.get(recipe)
    if streamline is None:
        raise LoweringError(
            f"model.kind {cfg.model.kind!r} names the streamlining recipe {recipe!r}; "
            f"known recipes: {', '.join(sorted(STREAMLINERS))}"
        )
    return streamline(model)


NEAREST_COORDINATES = {
    "half_pixel": ("round_prefer_floor", "round_prefer_ceil"),
    "pytorch_half_pixel": ("round_prefer_floor", "round_prefer_ceil"),
    "asymmetric": ("floor",),
}
"""Resize's coordinate_transformation_mode -> the nearest_modes with which output pixel
``o`` of an integer scale ``s`` reads input pixel ``o // s``, as FINN's
UpsampleNearestNeighbour does (half-pixel centres fall strictly inside the rounding
interval; asymmetric ones need the floor)."""


def _resize_scales(model: ModelWrapper, node: NodeProto) -> np.ndarray | None:
    """A Resize's (or Upsample's) scales: its scales initializer, or its sizes over its
    input shape; None where neither is a constant."""
    if node.op_type == "Upsample" or len(node.input) == 2:
        return model.get_initializer(node.input[1])
    scales = model.get_initializer(node.input[2]) if len(node.input) > 2 else None
    if scales is not None and scales.size:
        return np.asarray(scales, dtype=np.float64)
    sizes = model.get_initializer(node.input[3]) if len(node.input) > 3 else None
    shape = model.get_tensor_shape(node.input[0])
    if sizes is None or shape is None:
        return None
    return np.asarray(sizes, dtype=np.float64) / np.asarray(shape, dtype=np.float64)


def _string_attr(node: NodeProto, name: str, default: str) -> str:
    from qonnx.util.basic import get_by_name

    found = get_by_name(node.attribute, name)
    return default if found is None else str(found.s.decode())


def _check_resizes(model: ModelWrapper) -> None:
    """Refuse, naming the node and the attribute, a Resize/Upsample that FINN's
    UpsampleNearestNeighbour does not compute: not nearest-neighbour, coordinates other
    than :data:`NEAREST_COORDINATES`, or non-integer (or non-constant) scales."""
    for node in model.graph.node:
        if node.op_type not in ("Resize", "Upsample"):
            continue
        resize = node.op_type == "Resize"  # Upsample (opset 9) is asymmetric and floors
        mode = _string_attr(node, "mode", "nearest")
        coords = _string_attr(node, "coordinate_transformation_mode",
                              "half_pixel" if resize else "asymmetric")
        rounding = _string_attr(node, "nearest_mode", "round_prefer_floor" if resize else "floor")
        label = f"node {node.name} ({node.op_type})"
        if mode != "nearest":
            raise LoweringError(
                f"{label}: mode={mode!r}; FINN's UpsampleNearestNeighbour computes mode "
                "'nearest' only"
            )
        if rounding not in NEAREST_COORDINATES.get(coords, ()):
            accepted = "; ".join(f"{c} with {' or '.join(m)}"
                                 for c, m in NEAREST_COORDINATES.items())
            raise LoweringError(
                f"{label}: coordinate_transformation_mode={coords!r} with nearest_mode="
                f"{rounding!r} does not repeat each pixel s times; accepted: {accepted}"
            )
        scales = _resize_scales(model, node)
        if scales is None or (scales < 1).any() or (scales != np.round(scales)).any():
            shown = "not a constant" if scales is None else [float(v) for v in scales]
            raise LoweringError(
                f"{label}: scales {shown}; FINN's UpsampleNearestNeighbour repeats each "
                "pixel an integer number of times: constant integer scales >= 1 (or sizes "
                "that are integer multiples of the input's)"
            )


def _absorb_into_thresholds(model: ModelWrapper) -> ModelWrapper:
    """The end every streamliner shares: the remaining scalar/per-channel Mul and Add are
    absorbed into the MultiThresholds (and the TopK), thresholds rounded and clipped to
    integers (exactly: :mod:`codesign.dataflow.lower.exact`), the graph narrowed back to
    float32, data types and layouts inferred again.

    As FINN's builder, a MatMul of bipolar inputs and weights becomes an
    XnorPopcountMatMul (binary 0/1 operands, a popcount) followed by the ``2p - K``
    Mul/Add that Streamline then absorbs into the next thresholds (or the TopK); the
    bipolar MultiThreshold feeding it then emits binary 0/1.
    """
    import finn.transformation.streamline.absorb as absorb
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.reorder import MoveAddPastMul
    from qonnx.transformation.bipolar_to_xnor import ConvertBipolarMatMulToXnorPopcount

    model = model.transform(Streamline())
    model = model.transform(MoveAddPastMul())
    model = model.transform(absorb.AbsorbAddIntoMultiThreshold())
    model = model.transform(absorb.AbsorbMulIntoMultiThreshold())
    model = model.transform(ConvertBipolarMatMulToXnorPopcount())
    model = model.transform(Streamline())
    model = model.transform(absorb.AbsorbScalarMulAddIntoTopK())
    model = exact.to_float32(exact.round_and_clip_thresholds(model))
    model = model.transform(InferDataTypes())
    model = model.transform(InferDataLayouts())
    model = model.transform(RemoveUnusedTensors())
    return model


def streamline_mlp(model: ModelWrapper) -> ModelWrapper:
    """FINN streamlining as in its TFC/MLP examples and builder.

    Scalar and per-channel scales/biases are moved past MatMuls and absorbed into the
    MultiThresholds (BatchNorm becomes Mul/Add first); thresholds are then rounded and
    clipped to integers. What cannot move (the last layer's per-channel Mul/Add) stays.
    """
    import finn.transformation.streamline.absorb as absorb
    from finn.transformation.streamline.reorder import (
        MoveScalarLinearPastInvariants,
    )

    model = model.transform(MoveScalarLinearPastInvariants())
    model = model.transform(absorb.AbsorbScalarBiasIntoMultiThreshold())
    return _absorb_into_thresholds(model)


def _make_maxpool_nhwc(model: ModelWrapper) -> ModelWrapper:
    """FINN's MakeMaxPoolNHWC, safe on a MaxPool whose output forks (a residual input).

    Its (MaxPool -> NHWC Transpose) pattern rewires only the Transpose consumer and hands
    the other consumers the un-pooled tensor (finn-plus 1.6.1). A forked MaxPool's
    consumers are therefore moved behind an Identity for the call, so only its correct
    (NCHW Transpose -> MaxPool) pattern matches; qonnx's RemoveIdentityOps then drops it.
    """
    from finn.transformation.streamline.reorder import MakeMaxPoolNHWC
    from onnx import helper
    from qonnx.transformation.remove import RemoveIdentityOps

    for node in list(model.graph.node):
        consumers = model.find_consumers(node.output[0]) if node.op_type == "MaxPool" else []
        if len(consumers) < 2:
            continue
        fork = model.make_new_valueinfo_name()
        for consumer in consumers:
            for i, name in enumerate(consumer.input):
                if name == node.output[0]:
                    consumer.input[i] = fork
        index = list(model.graph.node).index(node)
        model.graph.node.insert(index + 1, helper.make_node("Identity", [node.output[0]], [fork]))
    model = model.transform(MakeMaxPoolNHWC())
    return model.transform(RemoveIdentityOps())


def streamline_cnn(model: ModelWrapper) -> ModelWrapper:
    """FINN streamlining as its builder does for CNV / ResNet-style networks.

    In NCHW first: scales and biases move past MatMuls/Convs into the MultiThresholds
    (as for the MLP), a residual input's scale moves past its fork (MoveLinearPastFork)
    and the two equal scales of a residual join past the Add (MoveLinearPastEltwiseAdd),
    which then adds integers. LowerConvsToMatMul makes every conv an Im2Col + MatMul in
    NHWC between Transposes; the Transposes are moved past MultiThresholds, MaxPools,
    forks and joins until they cancel, leaving one NCHW->NHWC Transpose at the input and
    the NHWC->NCHW one before the Flatten (absorbed into the first FC layer later).
    A Concat (a UNet's skip join) of equally scaled streams takes the scale past it
    (MoveMulPastJoinConcat) and joins integers; a nearest Resize/Upsample between
    Transposes becomes NHWC (MakeScaleResizeNHWC), and the Transposes of a Concat's
    inputs move past it (MoveTransposePastJoinConcat, which changes its axis). A graph
    input that a join reads beside a conv is read through the conv's NHWC Transpose and
    its inverse (:func:`_input_transposed_once`), so its Transpose moves past the join too.
    """
    import finn.transformation.streamline.absorb as absorb
    from finn.transformation.streamline import Streamline
    from finn.transformation.streamline.reorder import (
        MakeScaleResizeNHWC,
        MoveLinearPastEltwiseAdd,
        MoveLinearPastFork,
        MoveMulPastJoinConcat,
        MoveScalarLinearPastInvariants,
        MoveTransposePastFork,
        MoveTransposePastJoinAdd,
        MoveTransposePastJoinConcat,
    )
    from qonnx.transformation.lower_convs_to_matmul import LowerConvsToMatMul

    model = model.transform(MoveScalarLinearPastInvariants())
    model = model.transform(absorb.AbsorbScalarBiasIntoMultiThreshold())
    model = model.transform(Streamline())
    model = model.transform(MoveLinearPastFork())
    model = model.transform(Streamline())
    model = model.transform(MoveLinearPastEltwiseAdd())
    model = model.transform(MoveMulPastJoinConcat())
    model = model.transform(Streamline())
    model = model.transform(LowerConvsToMatMul())
    model = model.transform(absorb.AbsorbTransposeIntoMultiThreshold())
    # the inverse Transpose must pass its join before AbsorbConsecutiveTransposes, which
    # would cancel it against the input's
    model = _input_transposed_once(model).transform(MoveTransposePastJoinConcat())
    # each round moves Transposes one op further; stop when no more cancel
    transposes = len(model.get_nodes_by_op_type("Transpose")) + 1
    while len(model.get_nodes_by_op_type("Transpose")) < transposes:
        transposes = len(model.get_nodes_by_op_type("Transpose"))
        model = _make_maxpool_nhwc(model)
        model = model.transform(MakeScaleResizeNHWC())
        model = model.transform(MoveTransposePastFork())
        model = model.transform(absorb.AbsorbConsecutiveTransposes())
        model = model.transform(MoveTransposePastJoinAdd())
        model = model.transform(MoveTransposePastJoinConcat())
        model = model.transform(absorb.AbsorbTransposeIntoMultiThreshold())
        model = model.transform(absorb.AbsorbConsecutiveTransposes())
        model = _merge_twin_transposes(model)
    return _absorb_into_thresholds(model)


def _input_transposed_once(model: ModelWrapper) -> ModelWrapper:
    """Where a graph input feeds one Transpose and other nodes too (a super-resolution
    skip: the input joins the features in NCHW, the first conv reads it in NHWC), the
    other nodes read the Transpose's output transposed back, so that every branch of the
    input starts with one layout change: the inverse moves past the join like the
    features' own Transpose, and both cancel in the NHWC region."""
    from onnx import helper
    from qonnx.transformation.general import SortGraph
    from qonnx.util.basic import get_by_name

    for inp in model.graph.input:
        readers = model.find_consumers(inp.name) or []
        transposes = [n for n in readers if n.op_type == "Transpose"]
        others = [n for n in readers if n.op_type != "Transpose"]
        if len(transposes) != 1 or not others:
            continue
        perm = list(helper.get_attribute_value(get_by_name(transposes[0].attribute, "perm")))
        back = model.make_new_valueinfo_name()
        model.set_tensor_shape(back, model.get_tensor_shape(inp.name))
        model.set_tensor_datatype(back, model.get_tensor_datatype(inp.name))
        model.graph.node.append(helper.make_node(
            "Transpose", [transposes[0].output[0]], [back],
            perm=[perm.index(axis) for axis in range(len(perm))]))
        for node in others:
            node.input[:] = [back if name == inp.name else name for name in node.input]
    return model.transform(SortGraph())


def _merge_twin_transposes(model: ModelWrapper) -> ModelWrapper:
    """Transposes of one tensor with the same perm merged into the first: the input of
    a net whose join reads it (see :func:`_input_transposed_once`) ends up with two."""
    from onnx import helper
    from qonnx.util.basic import get_by_name

    seen: dict[tuple[str, tuple[int, ...]], str] = {}
    for node in list(model.graph.node):
        if node.op_type != "Transpose":
            continue
        perm = tuple(helper.get_attribute_value(get_by_name(node.attribute, "perm")))
        first = seen.setdefault((node.input[0], perm), node.output[0])
        if first == node.output[0] or node.output[0] in [o.name for o in model.graph.output]:
            continue
        for reader in model.find_consumers(node.output[0]) or []:
            reader.input[:] = [first if name == node.output[0] else name
                               for name in reader.input]
        model.graph.node.remove(node)
    return model


def untie_initializers(model: ModelWrapper) -> ModelWrapper:
    """Every initializer read by several nodes copied, one per reader.

    A module called several times (an ODE's shared block, traced once per step) exports
    nodes that share weight, scale and threshold initializers; FINN's transformations
    rewrite an initializer in place for the node they act on, which would apply to all
    of its readers. With one copy per node each copy is transformed once; the lowering
    rolls the identical copies back into one loop body at the end.
    """
    from onnx import numpy_helper

    readers: dict[str, int] = {}
    for node in model.graph.node:
        for name in node.input:
            readers[name] = readers.get(name, 0) + 1
    inits = {t.name for t in model.graph.initializer}
    for node in model.graph.node:
        for i, name in enumerate(node.input):
            if name in inits and readers[name] > 1:
                copy = model.make_new_valueinfo_name()
                value = model.get_initializer(name)
                model.set_initializer(copy, numpy_helper.to_array(numpy_helper.from_array(value)))
                dtype = model.get_tensor_datatype(name)
                model.set_tensor_datatype(copy, dtype)
                node.input[i] = copy
                readers[name] -= 1
    return model


def streamline_ode(model: ModelWrapper) -> ModelWrapper:
    """An ODE's graph: its shared initializers untied (:func:`untie_initializers`), each
    signed quantizer's offset absorbed into its MultiThreshold, then the CNN recipe.

    The offset goes first because the CNN recipe moves scalar Adds past invariants
    (Flatten) before absorbing them: the state quantizer that ends the last Euler step
    would otherwise lose its offset to the classifier's bias and stay a signed
    MultiThreshold without one (which FINN cannot make a Thresholding layer).
    """
    from finn.transformation.streamline.absorb import AbsorbScalarBiasIntoMultiThreshold

    model = untie_initializers(model).transform(AbsorbScalarBiasIntoMultiThreshold())
    return streamline_cnn(model)


SPATIAL_OPS = ("Conv", "MaxPool", "AveragePool", "GlobalAveragePool", "Im2Col", "MaxPoolNHWC")


def streamline_imported(model: ModelWrapper) -> ModelWrapper:
    """A user's graph (an ONNX file or a Brevitas factory's export): FINN's CNV recipe if it
    has spatial ops, else its TFC recipe."""
    if any(model.get_nodes_by_op_type(op) for op in SPATIAL_OPS):
        return streamline_cnn(model)
    return streamline_mlp(model)


def streamline_vit(model: ModelWrapper) -> ModelWrapper:
    """The ViT family: the attention graph's own moves (:mod:`codesign.dataflow.lower.
    attention`), then the absorption every recipe ends with."""
    from codesign.dataflow.lower.attention import streamline_vit as streamline_attention

    return _absorb_into_thresholds(streamline_attention(model))


STREAMLINERS: dict[str, Callable[[ModelWrapper], ModelWrapper]] = {
    "mlp": streamline_mlp,
    "vit": streamline_vit,
    "cnn": streamline_cnn,
    "ode": streamline_ode,
    "imported": streamline_imported,
}
"""Streamlining recipes by name; each model family names its own
(:class:`codesign.frontend.models.registry.Family`)."""


def _lower(model: ModelWrapper) -> ModelWrapper:
    """Every kernel's lowering in order (each ``transform`` returns a new graph)."""
    for lowering in lowerings():
        model = lowering.apply(model)
    return model


def _stranding_lowerings(lowered: ModelWrapper) -> set[str]:
    """The lowerings whose HW layers feed host nodes left between HW layers (e.g. the
    GlobalAccPool's Mul by 1/(H*W)), by name."""
    names: set[str] = set()
    for node in host_nodes_inside(lowered):
        for producer in lowered.find_direct_predecessors(node) or []:
            if is_hw_node(producer):
                names |= {lw.name for lw in kernel_for(producer).lowerings}
    return names


def _restreamline(model: ModelWrapper) -> ModelWrapper:
    """The second streamlining pass, for a lowering that leaves float ops between HW
    layers: FINN's GlobalAveragePool lowering puts a GlobalAccPool (integer sums) between
    NCHW/NHWC Transposes, with a float Mul by 1/(H*W) after it. The Transpose of its 1x1
    output folds into the Flatten (FINN's AbsorbTransposeIntoFlatten, as in FINN's
    MobileNet recipe), and the end every recipe shares (:func:`_absorb_into_thresholds`)
    moves the Mul past the Flatten (and a MatMul) into the next thresholds or the final
    host Mul."""
    from finn.transformation.streamline.absorb import AbsorbTransposeIntoFlatten

    model = model.transform(InferDataLayouts())  # AbsorbTransposeIntoFlatten reads them
    model = model.transform(AbsorbTransposeIntoFlatten())
    return _absorb_into_thresholds(model)


def step_convert_to_hw(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """Generic HW layers: every kernel's lowering (FINN's ``Infer*`` transformations, or
    ours) in the order the kernels declare (FINN's builder order), each only if the op
    types that trigger it are in the graph.

    Where that leaves host ops between HW layers fed by a HW layer, the lowerings that
    made those HW layers run first on the streamlined graph, then a second streamlining
    pass (:func:`_restreamline`), then every lowering. The others must wait: finn-plus
    1.6.1's thresholding lowering would make the MultiThreshold after the float Mul a
    float Thresholding that absorbs nothing. FINN's builder has no such pass (its
    MobileNet recipe pools with QuantAvgPool2d). Then Transpose pairs left between HW
    layers cancel and the CNV-to-FC flatten is absorbed into the first FC layer."""
    from finn.transformation.move_reshape import RemoveCNVtoFCFlatten
    from finn.transformation.streamline.absorb import AbsorbConsecutiveTransposes

    lowered = _lower(model)
    stranding = _stranding_lowerings(lowered)
    if stranding:
        for lowering in lowerings():
            if lowering.name in stranding:
                model = lowering.apply(model)
        lowered = _lower(_restreamline(model))
    model = lowered
    if model.get_nodes_by_op_type("Transpose"):
        model = model.transform(AbsorbConsecutiveTransposes())
        model = model.transform(RemoveCNVtoFCFlatten())
    model = model.transform(GiveUniqueNodeNames())
    model = model.transform(InferShapes())
    model = model.transform(InferDataTypes())
    check_region(model)
    return model


def step_create_dataflow_partition(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """FINN's CreateDataflowPartition: returns the parent graph; the HW nodes move into
    the dataflow child that the parent's StreamingDataflowPartition node refers to."""
    from finn.transformation.fpgadataflow.create_dataflow_partition import (
        CreateDataflowPartition,
    )

    check_region(model)
    part_dir = workdir(model) / "dataflow_partition"
    part_dir.mkdir(parents=True, exist_ok=True)
    parent = model.transform(CreateDataflowPartition(partition_model_dir=str(part_dir)))
    if sdp_node(parent) is None:
        raise LoweringError("CreateDataflowPartition found no HW nodes to partition")
    parent.set_metadata_prop(WORKDIR_PROP, str(workdir(model)))
    child = dataflow_child(parent)
    return store_child(parent, child, "partition")


def _refuse_all_zero_weights(child: ModelWrapper, cfg: FlowConfig) -> None:
    """A layer whose weights all quantized to zero computes a constant; FINN cannot size
    its (zero-bit) accumulator. Say so, naming the layer, instead of FINN's assertion."""
    weighted = [n for n in child.graph.node if is_hw_node(n) and kernel_for(n).has_accumulator]
    for i, node in enumerate(weighted):
        w = child.get_initializer(node.input[1])
        if w is not None and not w.any():
            raise LoweringError(
                f"{node.name}: every weight quantized to zero, so the layer outputs a "
                f"constant and has no accumulator to size{_a2q_hint(cfg, i, len(weighted))}"
            )


def _a2q_hint(cfg: FlowConfig, index: int, layers: int) -> str:
    """Why an A2Q layer may have lost every weight: its P (that of the ``index``-th of
    the ``layers`` weighted layers)."""
    plan = cfg.layer_plan()
    if plan is None or cfg.quant.method not in ("a2q", "a2q_plus"):
        return ""
    acc = cfg.quant.acc_bits
    per_layer = isinstance(acc, list)
    if len(plan) == layers:
        p = plan[index].acc_bits
    else:  # the graph's layers are not the model's: only a uniform P is every layer's
        p = acc if isinstance(acc, int) and cfg.quant.layer_policy == "uniform" else None
    if p is None:
        return ""
    key = f"quant.acc_bits[{index}]" if per_layer else "quant.acc_bits"
    return f"; the A2Q bound at its P, {key}={p}, leaves no room for any weight: raise it"


def step_minimize_accumulator_width(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """FINN's MinimizeWeightBitWidth + MinimizeAccumulatorWidth, then thresholds are
    rounded and clipped to the new accumulator range (as FINN's minimize_bit_width step,
    keeping integers beyond float32's range exact).

    For an MVAU that ends the graph without activation FINN rounds the accumulator (and
    output) width up to a multiple of 8. Each kernel then corrects the types where its
    accumulator differs from FINN's sizing (:meth:`Kernel.correct_datatypes`: an
    XNOR-popcount MVAU counts 0..MW, unsigned).
    """
    from finn.transformation.fpgadataflow.minimize_accumulator_width import (
        MinimizeAccumulatorWidth,
    )
    from finn.transformation.fpgadataflow.minimize_weight_bit_width import (
        MinimizeWeightBitWidth,
    )
    child = _hw_child(model)
    _refuse_all_zero_weights(child, cfg)
    child = child.transform(MinimizeWeightBitWidth())
    child = child.transform(MinimizeAccumulatorWidth())
    for node in child.graph.node:
        if is_hw_node(node):
            kernel_for(node).correct_datatypes(child, node)
    child = child.transform(InferDataTypes())
    child = exact.round_and_clip_thresholds(child)
    child = child.transform(MinimizeWeightBitWidth())
    child = child.transform(InferDataTypes())
    return store_child(model, child, "minimized")


def step_fold(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """PE/SIMD from ``fold.layers`` (per MVAU, in order) or solved for ``fold.target_cycles``;
    illegal values raise LoweringError naming the node and the allowed values. Then each
    weighted layer's MAC resource (``resType``: :func:`set_mac_resources`)."""
    if cfg.fold.fit is not None:
        raise LoweringError(
            f"fold.fit: {cfg.fold.fit} is resolved into fold.target_cycles before the flow "
            "runs (codesign flow / bitstream do it: codesign.dse.fold_fit.resolve_fit)"
        )
    from codesign.board.registry import get_board

    child = _hw_child(model)
    part = fpga_part(cfg.board)
    if cfg.fold.layers is not None:
        child = fold_explicit(child, cfg.fold.layers, part)
    else:
        assert cfg.fold.target_cycles is not None
        child = fold_to_target(child, cfg.fold.target_cycles, part)
    child = set_mac_resources(child, cfg.fold, get_board(cfg.board))
    return store_child(model, child, "folded")


def _set_fifo_depths(child: ModelWrapper) -> None:
    """One frame of stream words on every HW node's input and output FIFO, times the
    frames that may be in flight beside the kernels that hold a whole frame first.

    FINN sizes FIFOs by RTL simulation (InsertAndSetFIFODepths), which needs its
    Vivado-based simulator; here each FIFO holds one frame of the stream it carries,
    which decouples consecutive layers completely for a feed-forward chain. Where a
    kernel holds a whole frame before it answers (:attr:`Kernel.frames_held`, e.g. the
    keys of an attention), a branch beside it (a residual) must hold one frame more per
    such kernel; these are the deep FIFOs the ``fifos`` step sizes down.
    """
    hw = [node for node in child.graph.node if is_hw_node(node)]
    frames = 1 + sum(kernel_for(node).frames_held for node in hw)
    for node in hw:
        inst = getCustomOp(node)
        in_words = [frames * int(np.prod(inst.get_folded_input_shape(0)[:-1]))]
        out_words = [frames * int(np.prod(inst.get_folded_output_shape(0)[:-1]))]
        inst.set_nodeattr("inFIFODepths", [max(2, w) for w in in_words])
        inst.set_nodeattr("outFIFODepths", [max(2, w) for w in out_words])


def step_insert_dwc_and_fifos(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """FINN's InsertDWC (where producer/consumer stream widths differ) and InsertFIFO
    (one StreamingFIFO on every stream, depth from the nodes' in/outFIFODepths)."""
    from finn.transformation.fpgadataflow.insert_dwc import InsertDWC
    from finn.transformation.fpgadataflow.insert_fifo import InsertFIFO

    child = _hw_child(model)
    _set_fifo_depths(child)
    child = child.transform(InsertDWC())
    child = child.transform(InsertFIFO(create_shallow_fifos=True))
    child = child.transform(GiveUniqueNodeNames())
    child = child.transform(InferShapes())
    child = child.transform(InferDataTypes())
    return store_child(model, child, "fifos")


def step_estimates(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """FINN's exp_cycles_per_layer and res_estimation for the board's part, annotated on
    the generic nodes (cycles_estimate, res_estimate)."""
    child = _hw_child(model)
    child = annotate_estimates(child, fpga_part(cfg.board))
    return store_child(model, child, "estimates")


def step_roll_loops(model: ModelWrapper, cfg: FlowConfig) -> ModelWrapper:
    """A model family with a weight-shared block (``Family.loop_iterations``, T >= 2): its
    T identical copies in the dataflow graph rolled into one loop node of codesign's
    domain, which is then estimated from its body's estimates; other graphs pass
    unchanged."""
    from codesign.dataflow.kernels.ode_loop import roll

    hook = family(cfg.model.kind).loop_iterations
    iterations = hook(cfg.model) if hook is not None else 1
    if iterations < 2:
        return model
    child = roll(_hw_child(model), iterations)
    child = annotate_estimates(child, fpga_part(cfg.board))
    return store_child(model, child, "rolled")


LOWER_STEPS: list[tuple[str, Step]] = [
    ("qonnx_to_finn", step_qonnx_to_finn),
    ("tidy_up", step_tidy_up),
    ("streamline", step_streamline),
    ("convert_to_hw", step_convert_to_hw),
    ("create_dataflow_partition", step_create_dataflow_partition),
    ("minimize_accumulator_width", step_minimize_accumulator_width),
    ("fold", step_fold),
    ("insert_dwc_and_fifos", step_insert_dwc_and_fifos),
    ("estimates", step_estimates),
    ("roll_loops", step_roll_loops),
]
