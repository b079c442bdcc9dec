"""Small values computed with numpy: shape vectors built at run time, and ONNX's inference.

Exported transformers compute reshape targets from the input's shape (Shape -> Gather -> Div
-> Unsqueeze -> Concat -> Reshape, Range for position ids, Where/Equal for ``view(-1)``...).
Once the inputs have concrete shapes, ``evaluate`` computes such a node's value from its
inputs' values and shapes; profiler.model.scoped_propagation walks the graph (and every
If/Loop/Scan body) in order with it, so a chain resolves in one walk. Only tensors of at
most ``SMALL_CONSTANT_ELEMENTS`` elements are ever computed; weights are never read.

ONNX's own data propagation (``data_prop=True``) is not used: it holds every element of a
1-D integer tensor whose length it knows, about 140 bytes each, so a Range or ConstantOfShape
of a declared length of 10^8 feeding an Unsqueeze takes gigabytes before anything can refuse
it. The evaluation here covers the same chains, bounded.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper

from profiler.model.contrib_shapes import infer_with_contrib_ops
from profiler.model.onnx_graph import SMALL_CONSTANT_ELEMENTS, element_count
from profiler.model.shape_rules import Shape

Values = dict[str, np.ndarray]
_SHAPE_OPS = ("Shape", "Size")
Evaluator = Callable[[dict[str, Any], list[np.ndarray]], np.ndarray]


def infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """ONNX shape inference (bounded: see above), then ONNX Runtime's contrib ops, which ONNX
    does not know, and ONNX again. Raises what ONNX raises. What it leaves unknown (shapes
    that depend on computed values) the scoped walk resolves node by node: whole-model
    inference again with the computed values injected learns nothing more on the real-model
    corpus, and took a third of the analysis."""
    inferred = _onnx_infer(model)
    try:
        return infer_with_contrib_ops(inferred, _onnx_infer)
    except Exception:  # a contrib rule broke on a malformed node: ONNX's shapes alone
        return _onnx_infer(model)


def _onnx_infer(model: onnx.ModelProto) -> onnx.ModelProto:
    return onnx.shape_inference.infer_shapes(model, data_prop=False)  # bounded: see above


def small_inline(tensor: TensorProto) -> bool:
    return (
        tensor.data_location != TensorProto.EXTERNAL
        and element_count(tensor) <= SMALL_CONSTANT_ELEMENTS
        and tensor.data_type != TensorProto.STRING
    )


def evaluable(node: onnx.NodeProto, values: Mapping[str, np.ndarray]) -> bool:
    """Whether ``evaluate`` may know ``node``'s value (its op is one evaluated here and its
    inputs' values are known): decided without reading its attributes."""
    if node.op_type in _SHAPE_OPS or node.op_type == "Constant":
        return True
    return node.op_type in _EVALUATORS and all(not name or name in values for name in node.input)


def evaluate(
    node: onnx.NodeProto, attrs: dict[str, Any], values: Mapping[str, np.ndarray],
    shapes: Mapping[str, Shape],
) -> np.ndarray | None:
    """The value of ``node``'s single output, or None when it cannot (or should not) be known."""
    if len([o for o in node.output if o]) != 1:
        return None
    try:
        if node.op_type in _SHAPE_OPS:
            shape = shapes.get(node.input[0])
            return None if shape is None else _shape_value(node.op_type, attrs, shape)
        if node.op_type == "Constant":
            return _constant_value(attrs)
        evaluator = _EVALUATORS.get(node.op_type)
        if evaluator is None or not evaluable(node, values):
            return None
        inputs = [values[name] if name else np.array([]) for name in node.input]
        return np.asarray(evaluator(attrs, inputs))
    except Exception:  # malformed node or an op variant not handled: the value stays unknown
        return None


def attributes(node: onnx.NodeProto) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for attr in node.attribute:
        if attr.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
            return {"__subgraph__": True}
        if attr.type == AttributeProto.TENSOR:
            attrs[attr.name] = attr.t if small_inline(attr.t) else None
        else:
            attrs[attr.name] = helper.get_attribute_value(attr)
    return attrs


def _shape_value(op_type: str, attrs: dict[str, Any], shape: Shape) -> np.ndarray:
    if op_type == "Size":
        return np.array(math.prod(shape), dtype=np.int64)
    start, end = attrs.get("start", 0), attrs.get("end", len(shape))
    return np.array(shape[start:end], dtype=np.int64)


def _constant_value(attrs: dict[str, Any]) -> np.ndarray | None:
    if "value" in attrs:
        tensor = attrs["value"]
        return None if tensor is None else numpy_helper.to_array(tensor)
    for key, dtype in (("value_int", np.int64), ("value_ints", np.int64),
                       ("value_float", np.float32), ("value_floats", np.float32)):
        if key in attrs:
            return np.array(attrs[key], dtype=dtype)
    return None


def _axes(attrs: dict[str, Any], inputs: list[np.ndarray], index: int) -> list[int] | None:
    """Axes from input ``index`` (newer opsets) or the ``axes`` attribute (older ones)."""
    if len(inputs) > index and inputs[index].size:
        return [int(a) for a in inputs[index].reshape(-1)]
    axes = attrs.get("axes")
    return None if axes is None else [int(a) for a in axes]


def _unsqueeze(attrs: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    axes = _axes(attrs, inputs, 1) or []
    rank = inputs[0].ndim + len(axes)
    return np.expand_dims(inputs[0], tuple(sorted(a % rank for a in axes)))


def _squeeze(attrs: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    axes = _axes(attrs, inputs, 1)
    data = inputs[0]
    if axes is None:
        return np.squeeze(data)
    return np.squeeze(data, tuple(a % data.ndim for a in axes))


def _slice(attrs: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    data = inputs[0]
    if len(inputs) > 1:
        starts, ends = inputs[1].tolist(), inputs[2].tolist()
        axes = inputs[3].tolist() if len(inputs) > 3 and inputs[3].size else range(len(starts))
        steps = inputs[4].tolist() if len(inputs) > 4 and inputs[4].size else [1] * len(starts)
    else:  # opset < 10: attributes
        starts, ends = attrs["starts"], attrs["ends"]
        axes, steps = attrs.get("axes", range(len(starts))), [1] * len(starts)
    index = [slice(None)] * data.ndim
    for start, end, axis, step in zip(starts, ends, axes, steps, strict=False):
        index[int(axis) % data.ndim] = slice(int(start), int(end), int(step))
    return data[tuple(index)]


def _divide(_: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    a, b = inputs
    if np.issubdtype(a.dtype, np.integer):
        # ONNX integer division truncates toward zero.
        return (np.sign(a) * np.sign(b) * (np.abs(a) // np.abs(b))).astype(a.dtype)
    return np.asarray(a / b).astype(a.dtype)


def _reshape(attrs: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    data, target = inputs[0], [int(d) for d in inputs[1].reshape(-1)]
    if not attrs.get("allowzero", 0):
        target = [data.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return data.reshape(target)


def _reduce(function: Callable[..., np.ndarray]) -> Evaluator:
    def evaluate(attrs: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
        axes = _axes(attrs, inputs, 1)
        if axes is None and attrs.get("noop_with_empty_axes", 0):
            return inputs[0]
        axis = None if axes is None else tuple(axes)
        return np.asarray(function(inputs[0], axis=axis, keepdims=bool(attrs.get("keepdims", 1))))

    return evaluate


def _elementwise(function: Callable[..., Any]) -> Evaluator:
    def evaluate(_: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
        return np.asarray(function(*inputs)).astype(inputs[0].dtype)

    return evaluate


def _predicate(function: Callable[..., Any]) -> Evaluator:
    return lambda _, inputs: np.asarray(function(*inputs))


def _variadic(function: Callable[..., Any]) -> Evaluator:
    def evaluate(_: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
        result = inputs[0]
        for other in inputs[1:]:
            result = function(result, other)
        return np.asarray(result)

    return evaluate


def _constant_of_shape(attrs: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    shape = tuple(int(d) for d in inputs[0].reshape(-1))
    if math.prod(shape) > SMALL_CONSTANT_ELEMENTS:
        raise ValueError("too large to compute")
    tensor = attrs.get("value")
    fill = np.zeros(1, np.float32) if tensor is None else numpy_helper.to_array(tensor).reshape(-1)
    return np.full(shape, fill[0], dtype=fill.dtype)


def _expand(_: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    shape = np.broadcast_shapes(inputs[0].shape, tuple(int(d) for d in inputs[1].reshape(-1)))
    if math.prod(shape) > SMALL_CONSTANT_ELEMENTS:
        raise ValueError("too large to compute")
    return np.array(np.broadcast_to(inputs[0], shape))


def _range(_: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    start, limit, delta = (inputs[i].item() for i in range(3))
    if delta == 0 or math.ceil((limit - start) / delta) > SMALL_CONSTANT_ELEMENTS:
        raise ValueError("too large to compute")  # sized before numpy allocates anything
    return np.arange(start, limit, delta).astype(inputs[0].dtype)


def _tile(_: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    repeats = [int(r) for r in inputs[1].reshape(-1)]
    if inputs[0].size * math.prod(max(r, 0) for r in repeats) > SMALL_CONSTANT_ELEMENTS:
        raise ValueError("too large to compute")
    return np.tile(inputs[0], repeats)


def _cast(attrs: dict[str, Any], inputs: list[np.ndarray]) -> np.ndarray:
    return inputs[0].astype(helper.tensor_dtype_to_np_dtype(int(attrs["to"])))


_EVALUATORS: dict[str, Evaluator] = {
    "Identity": lambda _, inputs: inputs[0],
    "Cast": _cast,
    "Gather": lambda attrs, inputs: np.take(inputs[0], inputs[1], axis=attrs.get("axis", 0)),
    "Unsqueeze": _unsqueeze,
    "Squeeze": _squeeze,
    "Concat": lambda attrs, inputs: np.concatenate(inputs, axis=attrs["axis"]),
    "Slice": _slice,
    "Reshape": _reshape,
    "Flatten": lambda attrs, inputs: inputs[0].reshape(
        math.prod(inputs[0].shape[: attrs.get("axis", 1)]), -1),
    "Transpose": lambda attrs, inputs: np.transpose(inputs[0], attrs.get("perm")),
    "Expand": _expand,
    "Tile": _tile,
    "ConstantOfShape": _constant_of_shape,
    "Range": _range,
    "Add": _elementwise(np.add),
    "Sub": _elementwise(np.subtract),
    "Mul": _elementwise(np.multiply),
    "Div": _divide,
    "Mod": _elementwise(np.fmod),
    "Neg": _elementwise(np.negative),
    "Abs": _elementwise(np.abs),
    "Floor": _elementwise(np.floor),
    "Ceil": _elementwise(np.ceil),
    "Sqrt": _elementwise(np.sqrt),
    "Min": _variadic(np.minimum),
    "Max": _variadic(np.maximum),
    "Equal": _predicate(np.equal),
    "Less": _predicate(np.less),
    "Greater": _predicate(np.greater),
    "LessOrEqual": _predicate(np.less_equal),
    "GreaterOrEqual": _predicate(np.greater_equal),
    "Not": _predicate(np.logical_not),
    "And": _predicate(np.logical_and),
    "Or": _predicate(np.logical_or),
    "Where": lambda _, inputs: np.where(inputs[0], inputs[1], inputs[2]),
    "ReduceProd": _reduce(np.prod),
    "ReduceSum": _reduce(np.sum),
    "ReduceMax": _reduce(np.max),
    "ReduceMin": _reduce(np.min),
}
