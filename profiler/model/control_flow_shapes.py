"""Output types of If/Loop/Scan from their bodies, each body walked in a child scope.

If: a known condition picks the branch whose output types (and small values) the node takes;
an unknown one keeps only what both branches agree on. Loop: the body sees the carried
values' types; scan outputs gain the trip count (when constant) in front. Scan (opset 9+):
the body sees one slice per scan input; scan outputs gain the scan length at their axis.
"""

from __future__ import annotations

import onnx
from onnx import AttributeProto, TensorProto, TypeProto

from profiler.model.scoped_propagation import (
    Propagation,
    Scope,
    set_type,
    set_value,
    static_shape,
    tensor_type,
    walk_graph,
)

MIN_SCAN_OPSET = 9
"""Scan-8 carries a batch axis and sequence lengths; its bodies are walked, outputs kept."""


def walk_control(node: onnx.NodeProto, scope: Scope, result: Propagation) -> None:
    bodies: dict[str, Scope] = {}
    taken = _taken_branch(node, scope)
    for attr in node.attribute:
        if attr.type != AttributeProto.GRAPH:
            continue  # a list of bodies (SequenceMap-like): no outer-scope rule here
        child = scope.child()
        _seed_body_inputs(node, attr.g, scope, child)
        listed = len(result.unresolved_nodes)
        walk_graph(attr.g, child, result, is_body=True)
        if taken is not None and attr.name != taken:
            del result.unresolved_nodes[listed:]  # a branch that never runs: sizes moot
        bodies[attr.name] = child
    graphs_by_name = {a.name: a.g for a in node.attribute if a.type == AttributeProto.GRAPH}
    if node.op_type == "If":
        _if_outputs(node, scope, result, graphs_by_name, bodies)
    elif node.op_type == "Loop" and "body" in bodies:
        _loop_outputs(node, scope, graphs_by_name["body"], bodies["body"])
    elif node.op_type == "Scan" and "body" in bodies and _opset(scope) >= MIN_SCAN_OPSET:
        _scan_outputs(node, scope, graphs_by_name["body"], bodies["body"])


def _taken_branch(node: onnx.NodeProto, scope: Scope) -> str | None:
    """The If branch that runs, when the condition's value is known."""
    if node.op_type != "If" or not node.input:
        return None
    condition = scope.values.get(node.input[0])
    if condition is None or condition.size != 1:
        return None
    return "then_branch" if bool(condition.reshape(-1)[0]) else "else_branch"


def _opset(scope: Scope) -> int:
    return scope.opsets.get("", scope.opsets.get("ai.onnx", 1))


def _seed_body_inputs(
    node: onnx.NodeProto, body: onnx.GraphProto, outer: Scope, child: Scope
) -> None:
    """Body inputs take the types the node feeds them (declared types are often symbolic)."""
    names = [vi.name for vi in body.input]
    if node.op_type == "Loop" and len(names) >= 2:
        child.types.maps[0][names[0]] = tensor_type(TensorProto.INT64, ())
        child.types.maps[0][names[1]] = tensor_type(TensorProto.BOOL, ())
        for name, source in zip(names[2:], node.input[2:], strict=False):
            _feed(child, name, outer.types.get(source))
    elif node.op_type == "Scan" and _opset(outer) >= MIN_SCAN_OPSET:
        states = len(node.input) - _scan_input_count(node)
        for index, (name, source) in enumerate(zip(names, node.input, strict=False)):
            known = outer.types.get(source)
            if index >= states and known is not None:
                known = _without_axis(known, _scan_axis(node, "scan_input_axes", index - states))
            _feed(child, name, known)


def _feed(child: Scope, name: str, known: TypeProto | None) -> None:
    if known is not None:
        set_type(child, name, known)


def _if_outputs(
    node: onnx.NodeProto, scope: Scope, result: Propagation,
    graphs: dict[str, onnx.GraphProto], bodies: dict[str, Scope],
) -> None:
    taken = _taken_branch(node, scope)
    for index, output in enumerate(node.output):
        if not output:
            continue
        branch_outputs = [(graphs[b].output[index].name, bodies[b]) for b in bodies
                          if b in graphs and index < len(graphs[b].output)
                          and (taken is None or b == taken)]
        if not branch_outputs:
            continue
        types = [body.types.get(name) for name, body in branch_outputs]
        if taken is not None:
            name, body = branch_outputs[0]
            if name in body.values:
                set_value(scope, result, output, body.values[name])
        merged = _merge_types([t for t in types if t is not None])
        if merged is not None:
            set_type(scope, output, merged)


def _merge_types(types: list[TypeProto]) -> TypeProto | None:
    """The type every branch agrees on: dims that differ become unknown."""
    if not types or not all(t.HasField("tensor_type") for t in types):
        return None
    shapes = [t.tensor_type.shape.dim if t.tensor_type.HasField("shape") else None for t in types]
    elem_type = types[0].tensor_type.elem_type
    if any(s is None for s in shapes) or len({len(s) for s in shapes if s is not None}) != 1:
        return tensor_type(elem_type, None) if len(types) > 1 else types[0]
    dims: list[int | None] = []
    for position in range(len(shapes[0])):  # type: ignore[arg-type]
        sizes = {d[position].dim_value if d[position].HasField("dim_value") else None
                 for d in shapes if d is not None}
        dims.append(sizes.pop() if len(sizes) == 1 else None)
    return tensor_type(elem_type, dims)


def _loop_outputs(node: onnx.NodeProto, scope: Scope, body: onnx.GraphProto,
                  body_scope: Scope) -> None:
    carried = max(len(node.input) - 2, 0)
    trips = scope.values.get(node.input[0]) if node.input and node.input[0] else None
    trip_count = int(trips.reshape(-1)[0]) if trips is not None and trips.size == 1 else None
    for index, output in enumerate(node.output):
        body_index = index + 1  # body outputs: condition, carried..., scan outputs...
        if not output or body_index >= len(body.output):
            continue
        inner = body_scope.types.get(body.output[body_index].name)
        if index < carried:
            fed = scope.types.get(node.input[2 + index])
            _feed(scope, output, inner if inner is not None and static_shape(inner) else fed)
        elif inner is not None:
            _feed(scope, output, _with_axis(inner, 0, trip_count))


def _scan_input_count(node: onnx.NodeProto) -> int:
    for attr in node.attribute:
        if attr.name == "num_scan_inputs":
            return int(attr.i)
    return 1


def _scan_axis(node: onnx.NodeProto, attribute: str, index: int) -> int:
    for attr in node.attribute:
        if attr.name == attribute and index < len(attr.ints):
            return int(attr.ints[index])
    return 0


def _scan_outputs(node: onnx.NodeProto, scope: Scope, body: onnx.GraphProto,
                  body_scope: Scope) -> None:
    scan_inputs = _scan_input_count(node)
    states = len(node.input) - scan_inputs
    first = scope.types.get(node.input[states]) if states < len(node.input) else None
    shape = static_shape(first) if first is not None else None
    length = None
    if shape:
        length = shape[_scan_axis(node, "scan_input_axes", 0) % len(shape)]
    for index, output in enumerate(node.output):
        if not output or index >= len(body.output):
            continue
        inner = body_scope.types.get(body.output[index].name)
        if inner is None:
            continue
        if index < states:
            _feed(scope, output, inner)
        else:
            axis = _scan_axis(node, "scan_output_axes", index - states)
            _feed(scope, output, _with_axis(inner, axis, length))


def _dims(type_proto: TypeProto) -> list[int | None] | None:
    tensor = type_proto.tensor_type
    if not type_proto.HasField("tensor_type") or not tensor.HasField("shape"):
        return None
    return [int(d.dim_value) if d.HasField("dim_value") else None for d in tensor.shape.dim]


def _with_axis(type_proto: TypeProto, axis: int, size: int | None) -> TypeProto:
    dims = _dims(type_proto)
    if dims is None:
        return type_proto
    axis = axis % (len(dims) + 1)
    return tensor_type(type_proto.tensor_type.elem_type, [*dims[:axis], size, *dims[axis:]])


def _without_axis(type_proto: TypeProto, axis: int) -> TypeProto:
    dims = _dims(type_proto)
    if not dims:
        return type_proto
    axis = axis % len(dims)
    return tensor_type(type_proto.tensor_type.elem_type, [*dims[:axis], *dims[axis + 1:]])
