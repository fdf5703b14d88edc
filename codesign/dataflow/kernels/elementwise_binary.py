"""ElementwiseAdd, ElementwiseSub, ElementwiseMul, ElementwiseMax and ElementwiseAbsDiff:
FINN's elementwise binary ops (finn.custom_op.fpgadataflow.elementwise_binary), what
finn-plus 1.6.1's InferElementwiseBinaryOperation makes of an integer ``Add``, ``Sub``,
``Mul`` or ``Max`` (a ``Sub`` followed by an ``Abs``: AbsDiff). It has no AddStreams op
any more, and no ElementwiseMin: a ``Min`` is not lowered. RTL: ``cs_elementwise_binary``.

Two modes, from the node's ``lhs_style`` / ``rhs_style``:

* two streams (both ``input``) of one shape, lhs on ``s0_axis`` and rhs on ``s1_axis``:
  the join of a residual block;
* one stream and one constant operand (``const``: an integer initializer, e.g. a
  per-channel or scalar offset or scale). The constant, broadcast to ``out_shape`` by
  numpy's rules, repeats in stream order with a period of ``CONST_WORDS`` words (one
  for a scalar, C/PE for a per-channel constant), which a ROM holds; the streamed operand
  keeps its port (``s0_axis`` for lhs, ``s1_axis`` for rhs).

The result is computed exactly and wraps to out_dtype (FINN derives one that holds every
result, so with it nothing wraps). Broadcasting a streamed operand is refused, naming the
node.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from qonnx.core.datatype import DataType
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.custom_op.registry import getCustomOp
from qonnx.transformation.base import Transformation

from codesign.backends.words import value_range, wrap
from codesign.bounds import bits_for_range
from codesign.dataflow.kernels import register
from codesign.dataflow.kernels._base import (
    HlsArray,
    HlsCall,
    IntArray,
    Kernel,
    KernelInstance,
    Memory,
    Param,
    StreamFormat,
    divisors,
    int_dtype,
    int_initializer,
    refuse_unknown_params,
    stream_words,
)
from codesign.dataflow.kernels._folding import check_divides
from codesign.dataflow.kernels._lowering import LoweredOp, Lowering
from codesign.errors import LoweringError

_Op = Callable[[np.ndarray, np.ndarray], np.ndarray]

#: op type -> (OP code of cs_elementwise_binary and cs::elementwise_*, exact integer op)
OPS: dict[str, tuple[int, _Op]] = {
    "ElementwiseAdd": (0, np.add),
    "ElementwiseSub": (1, np.subtract),
    "ElementwiseMul": (2, np.multiply),
    "ElementwiseMax": (3, np.maximum),
    "ElementwiseAbsDiff": (4, lambda a, b: np.abs(a - b)),
}
_BY_CODE = {code: fn for code, fn in OPS.values()}

#: the ONNX ops InferElementwiseBinaryOperation may turn into OPS (Abs: fused into AbsDiff)
_LOWERED = ("Add", "Sub", "Mul", "Max")


def elementwise(op: int, a: np.ndarray, b: np.ndarray, out_bits: int,
                out_signed: bool) -> IntArray:
    """Operation ``op`` (an :data:`OPS` code) of ``a`` and ``b`` (broadcast), exact, then
    wrapped to an ``out_bits`` result.

    >>> elementwise(0, np.array([[7, -8]]), np.array([[15, 0]]), 6, True).tolist()
    [[22, -8]]
    >>> elementwise(0, np.array([[7, -8]]), np.array([[15, 0]]), 5, True).tolist()
    [[-10, -8]]
    >>> elementwise(2, np.array([[3, -2]]), np.array([5]), 8, True).tolist()
    [[15, -10]]
    >>> elementwise(4, np.array([[3, -2]]), np.array([[-1, 6]]), 4, False).tolist()
    [[4, 8]]
    """
    exact = _BY_CODE[op](np.asarray(a, dtype=object), np.asarray(b, dtype=object))
    return wrap(exact, out_bits, out_signed)


def result_range(op: int, a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """Smallest and largest result of operation ``op`` over lhs values in ``a`` and rhs
    values in ``b`` (inclusive ranges): each op but AbsDiff takes its extremes at corners
    (monotone in each operand, or bilinear); AbsDiff is 0 where the ranges overlap.

    >>> result_range(1, (-4, 3), (0, 7))
    (-11, 3)
    >>> result_range(2, (-4, 3), (-2, 5))
    (-20, 15)
    >>> result_range(4, (-4, 3), (0, 7))
    (0, 11)
    """
    fn = _BY_CODE[op]
    corners = [int(fn(np.array(x), np.array(y))) for x in a for y in b]
    lo, hi = min(corners), max(corners)
    if op == OPS["ElementwiseAbsDiff"][0] and a[0] <= b[1] and b[0] <= a[1]:
        lo = 0
    return lo, hi


def constant_period(const: np.ndarray, out_shape: Sequence[int], pe: int) -> IntArray:
    """The stream words of a constant operand broadcast to ``out_shape``, as (words, pe):
    from its first axis of size > 1 on (the leading axes it repeats along are dropped),
    one word of ``pe`` copies for a constant of one value per frame.

    >>> constant_period(np.array([1, 2, 3, 4]), [1, 2, 2, 4], 2).tolist()
    [[1, 2], [3, 4]]
    >>> constant_period(np.array([5]), [1, 3, 4], 4).tolist()
    [[5, 5, 5, 5]]
    >>> constant_period(np.array([[1], [2]]), [1, 2, 2], 1).tolist()
    [[1], [1], [2], [2]]
    """
    shape = (1,) * (len(out_shape) - const.ndim) + const.shape
    first = next((i for i, n in enumerate(shape) if n != 1), len(shape))
    if first == len(shape):
        return np.full((1, pe), const.reshape(-1)[0], dtype=np.int64)
    full = np.broadcast_to(const.reshape(shape), tuple(out_shape))
    return np.asarray(full[(0,) * first], dtype=np.int64).reshape(-1, pe)


#: cs::elementwise_binary's / cs::elementwise_const's operand template parameters, in
#: declaration order after OP (then the words).
_HLS_PARAMS = ("PE", "LHS_BITS", "LHS_SIGNED", "RHS_BITS", "RHS_SIGNED", "OUT_BITS",
               "OUT_SIGNED")


def _lowerable(model: ModelWrapper, node: Any) -> bool:
    """Filter of InferElementwiseBinaryOperation: the ops this kernel implements, not the
    graph's final de-quantizing Mul (FINN's own filter), with integer streamed operands
    and integer-valued constants, so a float bias Add or scale Mul stays on the host."""
    from finn.transformation.fpgadataflow.convert_to_hw.elementwise_binary_operation import (
        InferElementwiseBinaryOperation,
    )

    if node.op_type not in _LOWERED or len(node.input) != 2:
        return False
    if not InferElementwiseBinaryOperation.reject_output_dequant(model, node):
        return False
    consts = [model.get_initializer(name) for name in node.input]
    if all(c is not None for c in consts):
        return False  # constant folding's business, not a HW layer
    return all(
        model.get_tensor_datatype(name).is_integer() if c is None
        else bool(np.array_equal(c, np.rint(c)))
        for name, c in zip(node.input, consts, strict=True)
    )


def _infer_elementwise_binary() -> list[Transformation]:
    from finn.transformation.fpgadataflow.convert_to_hw.elementwise_binary_operation import (
        InferElementwiseBinaryOperation,
    )

    return [InferElementwiseBinaryOperation(_lowerable)]


def _const_memory(model: ModelWrapper, node: Any, index: int, out_shape: list[int], pe: int,
                  bits: int, signed: bool) -> Memory:
    """The ROM of constant operand ``index``: its integer initializer, which must fit the
    node's data type for it, one period of its broadcast per line."""
    name = node.input[index]
    const = int_initializer(model, name, node.name)
    lo, hi = value_range(bits, signed)
    if const.size and (int(const.min()) < lo or int(const.max()) > hi):
        side = ("lhs", "rhs")[index]
        raise LoweringError(
            f"node {node.name} ({node.op_type}): constant {name} holds values in "
            f"[{int(const.min())}, {int(const.max())}], outside {side}_dtype's [{lo}, {hi}]"
        )
    words = constant_period(const, out_shape, pe)
    return Memory("weights", words.reshape(1, -1), pe, 1, bits, signed)


@register
class ElementwiseBinary(Kernel):
    name = "elementwise_binary"
    op_types = tuple(OPS)
    lowerings = (
        Lowering(
            "InferElementwiseBinaryOperation", _infer_elementwise_binary, guard=_LOWERED,
            after=("InferConvInpGen",),  # FINN's builder order
            lowers=(
                LoweredOp("Add", "ElementwiseAdd (integer streams, e.g. a residual join, or "
                          "an integer constant)", on_host=True),
                LoweredOp("Sub", "ElementwiseSub (integer operands), or ElementwiseAbsDiff "
                          "with the Abs after it", on_host=True),
                LoweredOp("Mul", "ElementwiseMul (integer operands)", on_host=True),
                LoweredOp("Max", "ElementwiseMax (integer operands)"),
                LoweredOp("Abs", "ElementwiseAbsDiff (with the Sub before it)"),
            ),
        ),
    )
    rtl_module = "cs_elementwise_binary"

    def read(self, model: ModelWrapper, node: Any) -> KernelInstance:
        inst = getCustomOp(node)
        self.check_folding(node)
        pe = int(inst.get_nodeattr("PE"))
        streamed = self._streamed_operands(model, node)
        types = [int_dtype(inst, a) for a in ("lhs_dtype", "rhs_dtype", "out_dtype")]
        (lhs_bits, lhs_signed), (rhs_bits, rhs_signed), (out_bits, out_signed) = types
        params: dict[str, Param] = {
            "OP": OPS[node.op_type][0], "PE": pe,
            "LHS_BITS": lhs_bits, "LHS_SIGNED": int(lhs_signed),
            "RHS_BITS": rhs_bits, "RHS_SIGNED": int(rhs_signed),
            "OUT_BITS": out_bits, "OUT_SIGNED": int(out_signed),
        }
        memories = {}
        if len(streamed) == 1:
            const = 1 - streamed[0]
            out_shape = list(inst.get_nodeattr("out_shape"))
            mem = _const_memory(model, node, const, out_shape, pe, *types[const])
            memories["CONST_FILE"] = mem
            params |= {("LHS_CONST", "RHS_CONST")[const]: 1,
                       "CONST_WORDS": mem.values.size // pe}
        words = stream_words(inst.get_folded_output_shape(0))
        return self.instance(
            node, params=params,
            inputs=tuple(StreamFormat(types[i][0], pe, types[i][1]) for i in streamed),
            outputs=(StreamFormat(out_bits, pe, out_signed),),
            words_in=(words,) * len(streamed), words_out=(words,),
            est_cycles=self.cycles(node), memories=memories,
        )

    def _streamed_operands(self, model: ModelWrapper, node: Any) -> list[int]:
        """Indices of the streamed operands (0: lhs, 1: rhs), each of the output's shape;
        a constant operand must hold integers (refused naming its initializer before its
        data type, which FINN leaves FLOAT32 for it)."""
        inst = getCustomOp(node)
        styles = [inst.get_nodeattr("lhs_style"), inst.get_nodeattr("rhs_style")]
        shapes = [list(inst.get_nodeattr(a)) for a in ("lhs_shape", "rhs_shape", "out_shape")]
        streamed = [i for i, style in enumerate(styles) if style == "input"]
        if not streamed:
            raise LoweringError(
                f"node {node.name} ({node.op_type}): lhs_style and rhs_style are const; "
                f"{self.rtl_module} takes at least one stream (fold constants first)"
            )
        for i in range(2):
            if i not in streamed:
                int_initializer(model, node.input[i], node.name)
            elif shapes[i] != shapes[2]:
                raise LoweringError(
                    f"node {node.name} ({node.op_type}): {('lhs', 'rhs')[i]}_shape "
                    f"{shapes[i]} is broadcast to out_shape {shapes[2]}; {self.rtl_module} "
                    "streams operands of the output's shape (only a constant broadcasts)"
                )
        return streamed

    def correct_datatypes(self, model: ModelWrapper, node: Any) -> None:
        """Widen out_dtype to the smallest type holding every result where FINN's is too
        narrow: finn-plus 1.6.1 sizes an Add or Sub of a signed and an unsigned operand of
        one width by operand order (INT3 + UINT3 gets INT4, which cannot hold 10; UINT3 +
        INT3 gets INT5), and its Python execution of the node does not wrap."""
        inst = getCustomOp(node)
        lhs, rhs, out = (DataType[inst.get_nodeattr(a)]
                         for a in ("lhs_dtype", "rhs_dtype", "out_dtype"))
        if not all(t.is_integer() for t in (lhs, rhs, out)):
            return
        lo, hi = result_range(OPS[node.op_type][0], (int(lhs.min()), int(lhs.max())),
                              (int(rhs.min()), int(rhs.max())))
        if out.min() <= lo and hi <= out.max():
            return
        bits, signed = bits_for_range(lo, hi)
        odt = DataType[f"{'INT' if signed else 'UINT'}{bits}"]
        inst.set_nodeattr("out_dtype", odt.name)
        model.set_tensor_datatype(node.output[0], odt)

    def golden(self, k: KernelInstance, inputs: Sequence[IntArray]) -> tuple[IntArray, ...]:
        p = k.params
        operands = list(inputs)
        if "CONST_FILE" in k.memories:
            period = k.memories["CONST_FILE"].values.reshape(-1)
            const = np.tile(period, operands[0].shape[1] // period.size)
            operands.insert(0 if p.get("LHS_CONST") else 1, const[None, :])
        a, b = operands
        return (elementwise(int(p["OP"]), a, b, int(p["OUT_BITS"]), bool(p["OUT_SIGNED"])),)

    def hls_call(self, k: KernelInstance) -> HlsCall:
        """``cs::elementwise_binary`` (two streams) or ``cs::elementwise_const`` (one
        stream and the constant's period as a [CONST_WORDS][PE] array) of
        hls/cs_elementwise_binary.hpp; one frame per call."""
        known = ("OP", *_HLS_PARAMS, "LHS_CONST", "RHS_CONST", "CONST_WORDS")
        refuse_unknown_params(k, known, "hls/cs_elementwise_binary.hpp")
        p = k.params
        args = (int(p["OP"]), *(int(p[n]) for n in _HLS_PARAMS))
        header = "cs_elementwise_binary.hpp"
        if "CONST_FILE" not in k.memories:
            return HlsCall(header, "cs::elementwise_binary", (*args, k.words_out[0]))
        mem = k.memories["CONST_FILE"]
        consts = HlsArray("consts", mem.bits, mem.signed,
                          mem.values.reshape(-1, mem.pe), partition=((2, "complete"),))
        return HlsCall(header, "cs::elementwise_const",
                       (*args, int(p.get("LHS_CONST", 0)), k.words_out[0],
                        int(p["CONST_WORDS"])), (consts,))

    def legal_folding(self, inst: Any) -> dict[str, list[int]]:
        return {"PE": divisors(int(inst.get_nodeattr("out_shape")[-1]))}

    def check_folding(self, node: Any) -> None:
        inst = getCustomOp(node)
        check_divides(node, "PE", inst.get_nodeattr("PE"), "the last axis of out_shape",
                      int(inst.get_nodeattr("out_shape")[-1]))

    def rtl_ports(self, k: KernelInstance) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``s0_axis`` carries lhs, ``s1_axis`` rhs; a constant operand has no port."""
        ports = [port for port, const in (("s0_axis", "LHS_CONST"), ("s1_axis", "RHS_CONST"))
                 if not k.params.get(const)]
        return tuple(ports), ("m_axis",)

    def layer_facts(self, model: ModelWrapper, node: Any) -> dict[str, Any]:
        inst = getCustomOp(node)
        return {"channels": int(inst.get_nodeattr("out_shape")[-1]),
                **{a: inst.get_nodeattr(a) for a in ("lhs_dtype", "rhs_dtype", "out_dtype",
                                                     "lhs_style", "rhs_style")}}
