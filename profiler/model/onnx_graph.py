"""Turn an ONNX GraphProto (shape-inferred) into the format-neutral Graph."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, numpy_helper

from profiler.errors import ProfilerError
from profiler.model.graph import Dim, Graph, Node, TensorInfo, check_tensor_size, unique_name

SMALL_CONSTANT_ELEMENTS = 64
"""Constants up to this many elements keep their values (shape vectors, axes, trip counts)."""

_DTYPE_NAMES: dict[int, str] = {
    TensorProto.FLOAT: "float32", TensorProto.DOUBLE: "float64", TensorProto.FLOAT16: "float16",
    TensorProto.BFLOAT16: "bfloat16", TensorProto.INT8: "int8", TensorProto.UINT8: "uint8",
    TensorProto.INT16: "int16", TensorProto.UINT16: "uint16", TensorProto.INT32: "int32",
    TensorProto.UINT32: "uint32", TensorProto.INT64: "int64", TensorProto.UINT64: "uint64",
    TensorProto.BOOL: "bool", TensorProto.STRING: "string", TensorProto.COMPLEX64: "complex64",
    TensorProto.COMPLEX128: "complex128",
}
for _name in ("FLOAT8E4M3FN", "FLOAT8E4M3FNUZ", "FLOAT8E5M2", "FLOAT8E5M2FNUZ", "INT4", "UINT4",
              "FLOAT4E2M1", "INT2", "UINT2"):
    if hasattr(TensorProto, _name):
        _DTYPE_NAMES[getattr(TensorProto, _name)] = _name.lower()

# Ops whose outputs are not a function of their inputs alone: never constant-folded.
_NONDETERMINISTIC_OPS = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
     "Bernoulli", "Dropout"}
)


def onnx_dtype_name(data_type: int) -> str:
    return _DTYPE_NAMES.get(data_type, "unknown")


def tensor_shape(value_info: onnx.ValueInfoProto) -> tuple[Dim, ...] | None:
    tensor_type = value_info.type.tensor_type
    if not tensor_type.HasField("shape"):
        return None
    dims: list[Dim] = []
    for dim in tensor_type.shape.dim:
        if dim.HasField("dim_value"):
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or None)
    return tuple(dims)


def _value_info(value_info: onnx.ValueInfoProto) -> TensorInfo:
    return check_tensor_size(TensorInfo(
        value_info.name,
        onnx_dtype_name(value_info.type.tensor_type.elem_type),
        tensor_shape(value_info),
    ))


def element_count(tensor: TensorProto) -> int:
    return math.prod(tensor.dims)


def small_constant_values(tensor: TensorProto) -> list[Any] | None:
    """Values of a small inline tensor (None for weights or external data)."""
    if tensor.data_location == TensorProto.EXTERNAL:
        return None
    if element_count(tensor) > SMALL_CONSTANT_ELEMENTS:
        return None
    try:
        values = numpy_helper.to_array(tensor)
    except Exception:  # malformed or exotic dtype: the values are simply unavailable
        return None
    return list(np.asarray(values).reshape(-1).tolist())


def _tensor_info(name: str, tensor: TensorProto) -> TensorInfo:
    dims = tuple(int(d) for d in tensor.dims)
    if any(d < 0 for d in dims):
        raise ProfilerError(
            f"tensor {name!r} has a negative dimension ({'x'.join(map(str, dims))}); refused"
        )
    return check_tensor_size(TensorInfo(name, onnx_dtype_name(tensor.data_type), dims))


def _attribute_value(attr: AttributeProto) -> Any:
    if attr.type == AttributeProto.TENSOR:
        return _tensor_info(attr.name, attr.t)
    if attr.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
        return None
    value = onnx.helper.get_attribute_value(attr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, list):
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in value]
    return value


def _unique_name(proto: onnx.NodeProto, index: int, used: set[str]) -> str:
    return unique_name(proto.name or f"{proto.op_type}_{index}", used)


def _convert_node(
    proto: onnx.NodeProto, index: int, used: set[str], scope: set[str]
) -> Node:
    node = Node(
        name=_unique_name(proto, index, used),
        op_type=proto.op_type,
        domain=proto.domain if proto.domain not in ("", "ai.onnx") else "",
        inputs=list(proto.input),
        outputs=list(proto.output),
    )
    for attr in proto.attribute:
        if attr.type == AttributeProto.GRAPH:
            node.subgraphs[attr.name] = build_graph(attr.g, scope)
        elif attr.type == AttributeProto.GRAPHS:
            for position, sub in enumerate(attr.graphs):
                node.subgraphs[f"{attr.name}[{position}]"] = build_graph(sub, scope)
        else:
            node.attributes[attr.name] = _attribute_value(attr)
    return node


def _topological_order(protos: list[onnx.NodeProto], available: set[str]) -> list[int]:
    """Indices of ``protos`` in an order where every input exists before it is used."""
    producer: dict[str, int] = {}
    for index, proto in enumerate(protos):
        for output in proto.output:
            if not output:
                continue
            if output in producer or output in available:
                raise ProfilerError(f"tensor {output!r} is produced twice (duplicate tensor name)")
            producer[output] = index
    waiting = [0] * len(protos)
    consumers: dict[int, list[int]] = {}
    for index, proto in enumerate(protos):
        for name in set(_needed_inputs(proto)):
            if name in producer:
                waiting[index] += 1
                consumers.setdefault(producer[name], []).append(index)
            elif name not in available:
                raise ProfilerError(
                    f"node {proto.name or proto.op_type!r} reads tensor {name!r}, which nothing "
                    "produces (dangling input)"
                )
    ready = deque(i for i, count in enumerate(waiting) if count == 0)
    order: list[int] = []
    while ready:
        index = ready.popleft()
        order.append(index)
        for consumer in consumers.get(index, []):
            waiting[consumer] -= 1
            if waiting[consumer] == 0:
                ready.append(consumer)
    if len(order) != len(protos):
        stuck = next(protos[i] for i, count in enumerate(waiting) if count > 0)
        raise ProfilerError(f"the graph has a cycle through node {stuck.name or stuck.op_type!r}")
    return order


def _needed_inputs(proto: onnx.NodeProto) -> list[str]:
    """Inputs plus outer-scope names a subgraph reads (they must exist before the node runs)."""
    names = [name for name in proto.input if name]
    for attr in proto.attribute:
        if attr.type == AttributeProto.GRAPH:
            names.extend(_outer_references(attr.g))
        elif attr.type == AttributeProto.GRAPHS:
            for sub in attr.graphs:
                names.extend(_outer_references(sub))
    return names


def _outer_references(graph: onnx.GraphProto) -> set[str]:
    local = {t.name for t in graph.initializer} | {i.name for i in graph.input}
    local |= {o for n in graph.node for o in n.output}
    needed = {i for n in graph.node for i in _needed_inputs(n) if i}
    return needed - local


def build_graph(
    proto: onnx.GraphProto,
    outer_scope: set[str],
    computed_values: Mapping[str, list[Any]] | None = None,
) -> Graph:
    """Convert ``proto``; ``outer_scope`` holds names visible from enclosing graphs.

    ``computed_values`` are small values (shape vectors) evaluated from the fixed input shapes.
    """
    _check_unique("graph input", [vi.name for vi in proto.input])
    _check_unique("initializer", [t.name for t in proto.initializer])
    graph = Graph()
    graph.constant_values.update(computed_values or {})
    for initializer in proto.initializer:
        graph.constants[initializer.name] = _tensor_info(initializer.name, initializer)
        values = small_constant_values(initializer)
        if values is not None:
            graph.constant_values[initializer.name] = values
    for value_info in [*proto.input, *proto.value_info, *proto.output]:
        graph.tensors[value_info.name] = _value_info(value_info)
    graph.inputs = [_value_info(vi) for vi in proto.input if vi.name not in graph.constants]
    graph.outputs = [_value_info(vi) for vi in proto.output]
    available = set(outer_scope) | set(graph.constants) | {vi.name for vi in proto.input}
    protos = list(proto.node)
    scope = available | {o for p in protos for o in p.output if o}
    used: set[str] = set()
    for index in _topological_order(protos, available):
        node = _convert_node(protos[index], index, used, scope)
        _record_constant_outputs(graph, node, protos[index])
        graph.nodes.append(node)
    _check_outputs(proto, scope)
    return graph


def _check_unique(kind: str, names: list[str]) -> None:
    """Two inputs (or initializers) of one name: which one a node reads is undefined."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ProfilerError(f"{kind} {name!r} is listed twice (duplicate tensor name)")
        seen.add(name)


def _check_outputs(proto: onnx.GraphProto, defined: set[str]) -> None:
    """Every graph output exists and is listed once (a cut file can lose the nodes behind it)."""
    seen: set[str] = set()
    for output in proto.output:
        if output.name in seen:
            raise ProfilerError(f"graph output {output.name!r} is listed twice")
        seen.add(output.name)
        if output.name not in defined:
            raise ProfilerError(
                f"graph output {output.name!r} is not produced by any node, input or initializer"
            )


def _record_constant_outputs(graph: Graph, node: Node, proto: onnx.NodeProto) -> None:
    """Constant and ConstantOfShape (of a fixed shape) produce weights; other nodes whose
    inputs are all fixed are folded by runtimes and marked as such."""
    if node.op_type == "Constant" and node.outputs:
        _record_constant_node(graph, node.outputs[0], proto)
    elif node.op_type == "ConstantOfShape" and _constant_of_shape(graph, node) is not None:
        graph.constants[node.outputs[0]] = _constant_of_shape(graph, node)  # type: ignore[assignment]
    elif _is_foldable(graph, node):
        graph.folded.update(o for o in node.outputs if o)


def _constant_of_shape(graph: Graph, node: Node) -> TensorInfo | None:
    """The weight a ConstantOfShape makes, when its shape input is fixed."""
    if not node.inputs or not node.outputs:
        return None
    value = node.attributes.get("value")
    dtype = value.dtype if isinstance(value, TensorInfo) else "float32"
    shape_input = node.inputs[0]
    if shape_input not in graph.constants and shape_input not in graph.folded:
        return None  # a shape computed from the inputs at run time: an activation, not a weight
    if shape_input in graph.constant_values:
        try:
            dims = tuple(int(v) for v in graph.constant_values[shape_input])
        except (TypeError, ValueError, OverflowError):  # a non-integer shape: not a weight
            return None
        if any(d < 0 for d in dims):
            return None
        return check_tensor_size(TensorInfo(node.outputs[0], dtype, dims))
    inferred = graph.tensors.get(node.outputs[0])
    if inferred is not None and inferred.is_static:
        return TensorInfo(node.outputs[0], dtype, inferred.shape)
    return None


def _is_foldable(graph: Graph, node: Node) -> bool:
    inputs = [name for name in node.inputs if name]
    return (
        bool(inputs)
        and not node.subgraphs
        and node.op_type not in _NONDETERMINISTIC_OPS
        and all(name in graph.constants or name in graph.folded for name in inputs)
    )


def _record_constant_node(graph: Graph, output: str, proto: onnx.NodeProto) -> None:
    for attr in proto.attribute:
        if attr.type == AttributeProto.TENSOR:
            graph.constants[output] = _tensor_info(output, attr.t)
            values = small_constant_values(attr.t)
            if values is not None:
                graph.constant_values[output] = values
            return
        if attr.type in (AttributeProto.FLOAT, AttributeProto.INT):
            dtype = "float32" if attr.type == AttributeProto.FLOAT else "int64"
            graph.constants[output] = TensorInfo(output, dtype, ())
            value = attr.f if attr.type == AttributeProto.FLOAT else attr.i
            graph.constant_values[output] = [value]
            return
        if attr.type in (AttributeProto.FLOATS, AttributeProto.INTS):
            values = list(attr.floats) if attr.type == AttributeProto.FLOATS else list(attr.ints)
            dtype = "float32" if attr.type == AttributeProto.FLOATS else "int64"
            graph.constants[output] = TensorInfo(output, dtype, (len(values),))
            graph.constant_values[output] = values
            return
    graph.constants[output] = TensorInfo(output)
