"""Output shapes of common ops from static input shapes (and small known values).

Used by the scoped walk (profiler.model.scoped_propagation) to follow a shape chain through
a whole network in one pass: a layer's ``Shape(x)`` can be evaluated only once ``x``'s shape
is known, and ONNX inference stops at the first op its data propagation cannot evaluate
(Div, Range, Where...). These rules cover the ops that sit between such chains in exported
models; anything else returns None and is left to ONNX's inference of that one node.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Shape = tuple[int, ...]
Rule = Callable[[dict[str, Any], list[Shape], list[np.ndarray | None]], Shape | None]

SAME_AS_FIRST_INPUT = frozenset({
    "Abs", "Acos", "Asin", "Atan", "BatchNormalization", "Cast", "CastLike", "Ceil", "Celu",
    "Clip", "Cos", "DequantizeLinear", "Dropout", "Elu", "Erf", "Exp", "Floor", "Gelu",
    "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "IsInf", "IsNaN",
    "LayerNormalization", "LeakyRelu", "Log", "LogSoftmax", "LpNormalization", "Mish", "Neg",
    "Not", "PRelu", "QuantizeLinear", "Reciprocal", "Relu", "Round", "Selu", "Shrink", "Sigmoid",
    "Sign", "Sin", "Softmax", "Softplus", "Softsign", "Sqrt", "Tan", "Tanh", "ThresholdedRelu",
    "Trilu",
})
BROADCAST = frozenset({
    "Add", "And", "BitShift", "Div", "Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual",
    "Max", "Mean", "Min", "Mod", "Mul", "Or", "Pow", "Sub", "Sum", "Where", "Xor",
})
REDUCE = frozenset({
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean",
    "ReduceMin", "ReduceProd", "ReduceSum", "ReduceSumSquare",
})


def output_shape(
    op_type: str, attrs: dict[str, Any], shapes: Sequence[Shape | None],
    values: Sequence[np.ndarray | None],
) -> Shape | None:
    """Shape of output 0, or None when there is no rule or an input's shape is unknown.

    ``shapes`` and ``values`` follow the node's inputs; an omitted optional input has shape
    () and value None.
    """
    if not shapes or any(s is None for s in shapes):
        return None
    known = [s for s in shapes if s is not None]
    if op_type in SAME_AS_FIRST_INPUT:
        return known[0]
    if op_type in BROADCAST:
        return _broadcast(known)
    rule = _RULES.get("Reduce" if op_type in REDUCE else op_type)
    if rule is None:
        return None
    try:
        return rule(attrs, known, list(values))
    except (ValueError, IndexError, TypeError, ZeroDivisionError, KeyError):
        return None


def _broadcast(shapes: Sequence[Shape]) -> Shape | None:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*shapes))
    except ValueError:
        return None


def _ints(value: np.ndarray | None) -> list[int] | None:
    return None if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def _value(values: list[np.ndarray | None], index: int) -> list[int] | None:
    return _ints(values[index]) if index < len(values) else None


def _axes(attrs: dict[str, Any], values: list[np.ndarray | None]) -> list[int] | None:
    """Axes from input 1 (newer opsets) or the ``axes`` attribute."""
    axes = _value(values, 1)
    return axes if axes is not None else attrs.get("axes")


def _matmul(_: dict[str, Any], shapes: list[Shape], __: list[np.ndarray | None]) -> Shape | None:
    a, b = shapes[0], shapes[1]
    if not a or not b:
        return None
    a2, b2 = (1, *a) if len(a) == 1 else a, (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        return None
    batch = np.broadcast_shapes(a2[:-2], b2[:-2])
    out = (*batch, a2[-2], b2[-1])
    out = out[:-2] + out[-1:] if len(a) == 1 else out
    return tuple(int(d) for d in (out[:-1] if len(b) == 1 else out))


def _gemm(attrs: dict[str, Any], shapes: list[Shape], _: list[np.ndarray | None]) -> Shape:
    a, b = shapes[0], shapes[1]
    m = a[1] if attrs.get("transA", 0) else a[0]
    n = b[0] if attrs.get("transB", 0) else b[1]
    return (m, n)


def _transpose(attrs: dict[str, Any], shapes: list[Shape], _: list[np.ndarray | None]) -> Shape:
    perm = attrs.get("perm") or list(reversed(range(len(shapes[0]))))
    return tuple(shapes[0][p] for p in perm)


def _reshape(attrs: dict[str, Any], shapes: list[Shape], values: list[np.ndarray | None]
             ) -> Shape | None:
    target = _value(values, 1)
    if target is None:
        return None
    data = shapes[0]
    if not attrs.get("allowzero", 0):
        target = [data[i] if d == 0 else d for i, d in enumerate(target)]
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target[target.index(-1)] = math.prod(data) // known
    return tuple(target)


def _expand(_: dict[str, Any], shapes: list[Shape], values: list[np.ndarray | None]
            ) -> Shape | None:
    target = _value(values, 1)
    return None if target is None else _broadcast([shapes[0], tuple(target)])


def _unsqueeze(attrs: dict[str, Any], shapes: list[Shape], values: list[np.ndarray | None]
               ) -> Shape | None:
    axes = _axes(attrs, values)
    if axes is None:
        return None
    rank = len(shapes[0]) + len(axes)
    inserted = {a % rank for a in axes}
    rest = iter(shapes[0])
    return tuple(1 if i in inserted else next(rest) for i in range(rank))


def _squeeze(attrs: dict[str, Any], shapes: list[Shape], values: list[np.ndarray | None]
             ) -> Shape:
    data = shapes[0]
    axes = _axes(attrs, values)
    removed = {i for i, d in enumerate(data) if d == 1} if axes is None else {
        a % len(data) for a in axes}
    return tuple(d for i, d in enumerate(data) if i not in removed)


def _concat(attrs: dict[str, Any], shapes: list[Shape], _: list[np.ndarray | None]
            ) -> Shape | None:
    if any(not s for s in shapes):
        return None
    axis = attrs["axis"] % len(shapes[0])
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return tuple(out)


def _gather(attrs: dict[str, Any], shapes: list[Shape], values: list[np.ndarray | None]
            ) -> Shape:
    data, indices = shapes[0], shapes[1]
    axis = attrs.get("axis", 0) % len(data)
    return (*data[:axis], *indices, *data[axis + 1:])


def _slice(attrs: dict[str, Any], shapes: list[Shape], values: list[np.ndarray | None]
           ) -> Shape | None:
    starts, ends = _value(values, 1), _value(values, 2)
    if starts is None or ends is None:
        return None
    data = list(shapes[0])
    axes = _value(values, 3) or list(range(len(starts)))
    steps = _value(values, 4) or [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=False):
        axis %= len(data)
        data[axis] = len(range(*slice(start, end, step).indices(data[axis])))
    return tuple(data)


def _flatten(attrs: dict[str, Any], shapes: list[Shape], _: list[np.ndarray | None]) -> Shape:
    data = shapes[0]
    axis = attrs.get("axis", 1) % (len(data) + 1)
    return (math.prod(data[:axis]), math.prod(data[axis:]))


def _reduce(attrs: dict[str, Any], shapes: list[Shape], values: list[np.ndarray | None]
            ) -> Shape | None:
    data = shapes[0]
    axes = _axes(attrs, values)
    if axes is None:
        if attrs.get("noop_with_empty_axes", 0):
            return data
        axes = list(range(len(data)))
    reduced = {a % len(data) for a in axes}
    keep = attrs.get("keepdims", 1)
    return tuple(1 if i in reduced else d for i, d in enumerate(data)
                 if keep or i not in reduced)


_RULES: dict[str, Rule] = {
    "MatMul": _matmul, "Gemm": _gemm, "Transpose": _transpose, "Reshape": _reshape,
    "Expand": _expand, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Concat": _concat,
    "Gather": _gather, "Slice": _slice, "Flatten": _flatten, "Reduce": _reduce,
}
