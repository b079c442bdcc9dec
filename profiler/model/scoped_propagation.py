"""Shapes and small values through every scope: If/Loop/Scan bodies see the outer scope.

ONNX inference infers a body with the outer tensors' types but never their values, so a
Reshape or Pad inside a branch whose target is computed outside (or from a Shape inside)
stays unknown, and with it every layer after it. This pass walks the graph and each body in
execution order with a scope chain: every node gets its small output value when it can be
computed (:mod:`constant_propagation`'s evaluators), else its output types from ONNX's
per-node inference given the input types and small values, else a :mod:`shape_rules` rule.
An ``If`` whose condition is known takes the running branch's shapes and values.

Once every input has a concrete shape, a symbolic dim left anywhere is a size nobody could
compute: it becomes unknown (and the node is listed), never a name posing as a size.
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import field
from typing import Any

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, TypeProto, helper, numpy_helper

from profiler.model.constant_propagation import (
    Shape,
    Values,
    attributes,
    evaluable,
    evaluate,
    small_inline,
)
from profiler.model.contrib_shapes import (
    CONTRIB_DOMAIN,
    FLOAT_OUTPUT_OPS,
    contrib_output_shapes,
)
from profiler.model.onnx_graph import SMALL_CONSTANT_ELEMENTS
from profiler.model.shape_rules import output_shape
from profiler.records.record import record

CONTROL_OPS = frozenset({"If", "Loop", "Scan"})


@record
class Scope:
    """Types and small values visible from one graph: its own, then its enclosing graphs'."""

    types: ChainMap[str, TypeProto]
    values: ChainMap[str, np.ndarray]
    opsets: dict[str, int]

    def child(self) -> Scope:
        return Scope(self.types.new_child(), self.values.new_child(), self.opsets)


@record
class Propagation:
    """What the walk learned across all scopes."""

    strip_symbols: bool
    values: Values = field(default_factory=dict)
    unresolved_nodes: list[str] = field(default_factory=list)
    """Nodes with a symbolic output dim that could not be computed (now unknown)."""


class _StaticShapes(Mapping[str, Shape]):
    """Read-only view: the static shape of every tensor in scope whose shape is fully known."""

    def __init__(self, types: Mapping[str, TypeProto]) -> None:
        self._types = types

    def __getitem__(self, name: str) -> Shape:
        shape = static_shape(self._types[name])
        if shape is None:
            raise KeyError(name)
        return shape

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._types if static_shape(self._types[name]) is not None)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def static_shape(type_proto: TypeProto) -> Shape | None:
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return None
    shape = []
    for dim in type_proto.tensor_type.shape.dim:  # one pass: asked for every node's outputs
        if not dim.HasField("dim_value") or dim.dim_value < 0:
            return None
        shape.append(int(dim.dim_value))
    return tuple(shape)


def _known_dims(type_proto: TypeProto) -> int:
    """How much a type says: -1 without a shape, else its count of concrete dims."""
    if not type_proto.HasField("tensor_type") or not type_proto.tensor_type.HasField("shape"):
        return -1
    return sum(1 for d in type_proto.tensor_type.shape.dim if d.HasField("dim_value"))


def tensor_type(elem_type: int, shape: Shape | list[int | None] | None) -> TypeProto:
    return helper.make_tensor_type_proto(elem_type, None if shape is None else list(shape))


def propagate_scopes(
    model: onnx.ModelProto, seed_values: Values, strip_symbols: bool
) -> Propagation:
    """Walk ``model`` (shape-inferred) and every body; write what is learned into value_info."""
    opsets = {(o.domain or ""): int(o.version) for o in model.opset_import}
    scope = Scope(ChainMap(), ChainMap(dict(seed_values)), opsets)
    result = Propagation(strip_symbols)
    result.values.update(seed_values)
    walk_graph(model.graph, scope, result, is_body=False)
    return result


def walk_graph(graph: onnx.GraphProto, scope: Scope, result: Propagation, is_body: bool) -> None:
    _seed(graph, scope)
    for node in graph.node:
        if any(a.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS) for a in node.attribute):
            from profiler.model.control_flow_shapes import walk_control

            walk_control(node, scope, result)
        else:
            _plain_node(node, scope, result)
    _write_back(graph, scope, result, is_body)


def _seed(graph: onnx.GraphProto, scope: Scope) -> None:
    local = scope.types.maps[0]
    for info in [*graph.input, *graph.value_info, *graph.output]:
        known = local.get(info.name)
        if known is None or _known_dims(info.type) > _known_dims(known):
            local[info.name] = info.type
    for tensor in graph.initializer:
        local[tensor.name] = tensor_type(tensor.data_type, tuple(int(d) for d in tensor.dims))
        if small_inline(tensor) and tensor.name not in scope.values.maps[0]:
            try:
                scope.values.maps[0][tensor.name] = numpy_helper.to_array(tensor)
            except Exception:  # malformed: the value stays unknown
                continue


def set_type(scope: Scope, name: str, type_proto: TypeProto) -> None:
    """Record ``type_proto`` for ``name`` unless what is known already says more."""
    known = scope.types.get(name)
    if known is None or _known_dims(type_proto) >= _known_dims(known):
        scope.types.maps[0][name] = type_proto


def set_value(scope: Scope, result: Propagation, name: str, value: np.ndarray) -> None:
    scope.values.maps[0][name] = value
    result.values[name] = value
    try:
        elem_type = helper.np_dtype_to_tensor_dtype(value.dtype)
    except (KeyError, ValueError, TypeError):
        return
    scope.types.maps[0][name] = tensor_type(elem_type, tuple(value.shape))


def _plain_node(node: onnx.NodeProto, scope: Scope, result: Propagation) -> None:
    outputs = [o for o in node.output if o]
    if not outputs:
        return
    if node.domain in ("", "ai.onnx") and evaluable(node, scope.values):
        value = evaluate(node, attributes(node), scope.values, _StaticShapes(scope.types))
        if value is not None and value.size <= SMALL_CONSTANT_ELEMENTS:
            set_value(scope, result, node.output[0], value)
            return
    if all(o in scope.types and static_shape(scope.types[o]) is not None for o in outputs):
        return
    for name, type_proto in _onnx_node_types(node, scope).items():
        set_type(scope, name, type_proto)
    if static_shape(scope.types.get(outputs[0], TypeProto())) is None:
        _rule_shape(node, attributes(node), scope)


def _onnx_node_types(node: onnx.NodeProto, scope: Scope) -> dict[str, TypeProto]:
    """ONNX's own inference for one node, given its input types and small input values."""
    domain = "" if node.domain == "ai.onnx" else node.domain
    try:
        schema = onnx.defs.get_schema(node.op_type, scope.opsets.get(domain, 1), domain)
        if any(name and name not in scope.types for name in node.input):
            return {}
        types = {name: scope.types[name] for name in node.input if name}
        data = {
            name: numpy_helper.from_array(scope.values[name], name)
            for name in node.input if name and name in scope.values
        }
        opsets = [helper.make_opsetid(d, v) for d, v in scope.opsets.items()]
        return dict(onnx.shape_inference.infer_node_outputs(schema, node, types, data, None,
                                                             opsets))
    except Exception:  # unknown op, malformed node, or inference refuses: left to rules
        return {}


def _rule_shape(node: onnx.NodeProto, attrs: dict[str, Any], scope: Scope) -> None:
    static = _StaticShapes(scope.types)
    input_shapes: list[Shape | None] = [static.get(n) if n else () for n in node.input]
    if node.domain == CONTRIB_DOMAIN:
        shapes = contrib_output_shapes(node.op_type, attrs, input_shapes)
    else:
        shapes = [output_shape(node.op_type, attrs, input_shapes,
                               [scope.values.get(n) for n in node.input])]
    if not node.input or node.input[0] not in scope.types:
        return
    for output, shape in zip(node.output, shapes, strict=False):
        if output and shape is not None:
            _set_rule_type(node, output, shape, scope)


def _set_rule_type(node: onnx.NodeProto, output: str, shape: Shape, scope: Scope) -> None:
    elem_type = _elem_type(scope.types[node.input[0]])
    if node.op_type in FLOAT_OUTPUT_OPS:
        elem_type = TensorProto.FLOAT
    known = scope.types.get(output)
    if known is not None and _elem_type(known):
        elem_type = _elem_type(known)
    set_type(scope, output, tensor_type(elem_type or TensorProto.FLOAT, shape))


def _elem_type(type_proto: TypeProto) -> int:
    return int(type_proto.tensor_type.elem_type) if type_proto.HasField("tensor_type") else 0


def _write_back(graph: onnx.GraphProto, scope: Scope, result: Propagation, is_body: bool) -> None:
    """Every name this graph produces (and a body's inputs) gets its type in value_info."""
    local = scope.types.maps[0]
    produced = [o for node in graph.node for o in node.output if o]
    infos = {vi.name: vi for vi in graph.value_info}
    for name in produced:
        known = local.get(name)
        if known is not None and known.HasField("tensor_type"):
            info = infos.get(name)
            if info is None:
                info = infos[name] = graph.value_info.add()
                info.name = name
            if info.type is not known:  # most are the value_info's own type (seeded from it)
                info.type.CopyFrom(known)
    ports = [*graph.output, *(graph.input if is_body else [])]
    for info in ports:
        known = local.get(info.name)
        if known is not None and known.HasField("tensor_type") and info.type is not known:
            info.type.CopyFrom(known)
    if result.strip_symbols:
        _strip_symbols(graph, result, is_body)


def _strip_symbols(graph: onnx.GraphProto, result: Propagation, is_body: bool) -> None:
    """Symbolic dims no computation resolved become unknown; their producers are listed."""
    producers = {o: node.name or node.op_type for node in graph.node for o in node.output if o}
    infos = [*graph.value_info, *graph.output, *(graph.input if is_body else [])]
    for info in infos:
        if not info.type.HasField("tensor_type"):
            continue
        stripped = False
        for dim in info.type.tensor_type.shape.dim:
            if dim.HasField("dim_param"):
                dim.ClearField("dim_param")
                stripped = True
        producer = producers.get(info.name)
        if stripped and producer and producer not in result.unresolved_nodes:
            result.unresolved_nodes.append(producer)
