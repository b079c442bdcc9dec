"""Static analysis: walk the graph in execution order and cost every node with the registry."""

from __future__ import annotations

from collections import Counter
from dataclasses import field
from typing import Any

from profiler.analysis import ops  # noqa: F401  (registers every cost function)
from profiler.analysis.memory import peak_activation_bytes
from profiler.analysis.registry import CostContext, OpCost, ShapeUnknown, lookup
from profiler.model.graph import (
    FLOAT_DTYPES,
    QUANTIZED_WEIGHT_DTYPES,
    Graph,
    ModelGraph,
    Node,
    TensorInfo,
)
from profiler.records.analysis import AnalysisTotals, LayerCost, OpTypeCost, StaticAnalysis
from profiler.records.record import record

CONTROL_OPS = frozenset({"If", "Loop", "Scan"})
WeightKey = tuple[int, str]


@record
class _Walk:
    """State shared while walking a graph and its subgraphs."""

    domain: str
    unsupported: Counter[str] = field(default_factory=Counter)
    unknown_shape_nodes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    weights: dict[WeightKey, TensorInfo] = field(default_factory=dict)
    """Every constant some node reads, keyed by (id of the graph that owns it, name)."""
    sources: dict[str, frozenset[WeightKey]] = field(default_factory=dict)
    """Outputs of constant-making nodes -> the weights they come from (names are unique
    across scopes in ONNX, so one map serves a graph and its subgraphs)."""
    constant_nodes: int = 0
    node_count: int = 0


def analyze(model: ModelGraph) -> StaticAnalysis:
    """Cost every node of ``model``; totals count shared weights once."""
    walk = _Walk(model.cost_domain)
    layers = _graph_layers(model.graph, [], "", 1.0, walk)
    analysis = StaticAnalysis(
        layers=layers,
        unsupported_ops=dict(sorted(walk.unsupported.items())),
        unknown_shape_nodes=walk.unknown_shape_nodes,
        notes=walk.notes,
    )
    analysis.totals = _totals(layers, walk, peak_activation_bytes(model.graph))
    counted_unknown = [la for la in layers if la.status == "shape_unknown" and la.multiplier]
    if counted_unknown:
        analysis.notes.insert(0, f"{len(counted_unknown)} nodes have unknown shapes; totals are "
                                 f"a lower bound (e.g. {counted_unknown[0].name})")
    analysis.by_op_type = by_op_type(layers)
    return analysis


def _weight_sources(scopes: list[Graph], name: str, walk: _Walk) -> frozenset[WeightKey]:
    """The weights behind ``name``: itself when a constant of this or an enclosing graph
    (subgraph bodies read outer weights), else what the constant chain producing it read."""
    for scope in scopes:
        if name in scope.constants:
            key = (id(scope), name)
            walk.weights[key] = scope.constants[name]
            return frozenset((key,))
    return walk.sources.get(name, frozenset())


def _graph_layers(
    graph: Graph, outers: list[Graph], path: str, multiplier: float, walk: _Walk
) -> list[LayerCost]:
    layers: list[LayerCost] = []
    scopes = [graph, *outers]
    for node in graph.nodes:
        walk.node_count += 1
        weight_keys = frozenset().union(
            *(_weight_sources(scopes, name, walk) for name in node.inputs if name)
        )
        if _makes_constants(graph, node):
            walk.constant_nodes += 1
            for output in node.outputs:
                walk.sources[output] = weight_keys
            continue
        if node.op_type in CONTROL_OPS and node.subgraphs:
            layers.extend(_control_layers(node, graph, outers, path, multiplier, walk))
            continue
        layer = _layer(node, graph, outers, walk)
        _add_weights(layer, [walk.weights[key] for key in sorted(weight_keys)])
        layer.subgraph, layer.multiplier = path, multiplier
        layers.append(layer)
    return layers


def _makes_constants(graph: Graph, node: Node) -> bool:
    outputs = [o for o in node.outputs if o]
    return bool(outputs) and all(o in graph.constants or o in graph.folded for o in outputs)


def _layer(node: Node, graph: Graph, outers: list[Graph], walk: _Walk) -> LayerCost:
    context = CostContext(node, graph, outers)
    layer = _describe(node, context)
    entry = lookup(walk.domain, node)
    if entry is None:
        walk.unsupported[_display_type(node)] += 1
        layer.status = "unsupported"
        layer.note = "no cost function for this op type: its cost is not counted"
        return layer
    try:
        cost = entry.function(context)
    except ShapeUnknown as error:
        return _shape_unknown(layer, walk, str(error))
    except (ArithmeticError, IndexError, KeyError, TypeError, ValueError) as error:
        return _shape_unknown(layer, walk, f"malformed node ({error})")
    _apply_cost(layer, cost, entry.computes)
    return layer


def _shape_unknown(layer: LayerCost, walk: _Walk, reason: str) -> LayerCost:
    walk.unknown_shape_nodes.append(layer.name)
    layer.status = "shape_unknown"
    layer.note = f"cost not counted: {reason}"
    return layer


def _display_type(node: Node) -> str:
    """Op type as users know it: plain for ONNX's default domain and OpenVINO opsets."""
    if node.domain in ("", "ai.onnx", "openvino"):
        return node.op_type
    return f"{node.domain}:{node.op_type}"


def _describe(node: Node, context: CostContext) -> LayerCost:
    outputs = [context.tensor(name) for name in node.outputs if name]
    inputs = [context.tensor(name) for name in node.inputs if name]
    activation = sum(info.nbytes or 0 for info in outputs)
    return LayerCost(
        name=node.name,
        op_type=node.op_type,
        domain=node.domain,
        inputs=list(node.inputs),
        outputs=list(node.outputs),
        output_shapes=[list(info.shape) if info.shape is not None else None for info in outputs],
        output_dtypes=[info.dtype for info in outputs],
        activation_bytes=activation,
        attributes=report_attributes(node.attributes),
        memory_access_bytes=activation + sum(info.nbytes or 0 for info in inputs),
    )


MAX_ATTRIBUTE_ITEMS = 16
MAX_ATTRIBUTE_CHARS = 200


_NUMBERS = (bool, int, float)
_SCALARS = (bool, int, float, str)


def _report_value(value: Any) -> Any:
    """A JSON-safe, bounded copy of one attribute value, or None to leave it out."""
    if isinstance(value, _NUMBERS):
        return value
    if isinstance(value, str):
        return value[:MAX_ATTRIBUTE_CHARS]
    if isinstance(value, (list, tuple)):
        for item in value:  # a loop, not all(): asked for every attribute of every layer
            if not isinstance(item, _SCALARS):
                return None
        return [item[:MAX_ATTRIBUTE_CHARS] if isinstance(item, str) else item
                for item in value[:MAX_ATTRIBUTE_ITEMS]]
    return None


def report_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    """The attributes a report keeps: scalars, strings and short lists (no tensors/graphs)."""
    kept = {name: _report_value(value) for name, value in attributes.items()}
    return {name: value for name, value in sorted(kept.items()) if value is not None}


def _apply_cost(layer: LayerCost, cost: OpCost, computes: bool) -> None:
    layer.macs, layer.flops = cost.macs, cost.flops
    if not computes:
        layer.status = "no_compute"
    if cost.note:
        layer.note = cost.note


def is_weight(info: TensorInfo) -> bool:
    """Learned weights: floating or low-bit integer constants with more than one element.

    Shape vectors and indices (int64/int32) are not weights; scalars (Clip bounds, one
    quantisation scale) are settings, not parameters. All of them still count in weight_bytes.
    """
    is_weight_dtype = info.dtype in FLOAT_DTYPES or info.dtype in QUANTIZED_WEIGHT_DTYPES
    return is_weight_dtype and (info.element_count or 0) > 1


def _add_weights(layer: LayerCost, weights: list[TensorInfo]) -> None:
    for info in weights:
        layer.weight_bytes += info.nbytes or 0
        if is_weight(info):
            layer.params += info.element_count or 0


def _control_layers(
    node: Node, graph: Graph, outers: list[Graph], path: str, multiplier: float, walk: _Walk
) -> list[LayerCost]:
    """The control node itself (zero cost) followed by its bodies' layers, multiplied."""
    from profiler.analysis.subgraphs import body_multipliers

    context = CostContext(node, graph, outers)
    control = _describe(node, context)
    control.status, control.subgraph, control.multiplier = "control", path, multiplier
    bodies: dict[str, list[LayerCost]] = {}
    for attr_name, body in node.subgraphs.items():
        body_path = f"{path}/{node.name}/{attr_name}".lstrip("/")
        bodies[attr_name] = _graph_layers(body, [graph, *outers], body_path, 1.0, walk)
    factors, note, warning = body_multipliers(context, bodies)
    control.note = note
    if warning:
        walk.notes.append(f"{node.name}: {warning}")
    elif node.op_type == "If":
        _drop_dead_unknowns(bodies, factors, walk)
    result = [control]
    for attr_name, body_layers in bodies.items():
        for layer in body_layers:
            layer.multiplier *= factors.get(attr_name, 1.0) * multiplier
        result.extend(body_layers)
    return result


def _drop_dead_unknowns(
    bodies: dict[str, list[LayerCost]], factors: dict[str, float], walk: _Walk
) -> None:
    """A branch the condition rules out never runs: its unknown shapes (often sizes that
    branch cannot take) lower no total, so they are not listed as such."""
    for attr_name, body_layers in bodies.items():
        if factors.get(attr_name, 1.0):
            continue
        for layer in body_layers:
            if layer.status == "shape_unknown" and layer.name in walk.unknown_shape_nodes:
                walk.unknown_shape_nodes.remove(layer.name)
                layer.note += " (in a branch that does not run)"


def by_op_type(layers: list[LayerCost]) -> list[OpTypeCost]:
    """Cost grouped by op type, most MACs (then FLOPs) first."""
    groups: dict[str, OpTypeCost] = {}
    for layer in layers:
        group = groups.setdefault(layer.op_type, OpTypeCost(layer.op_type))
        group.count += 1
        group.macs += round(layer.macs * layer.multiplier)
        group.flops += round(layer.flops * layer.multiplier)
        group.params += layer.params
        group.activation_bytes += layer.activation_bytes
    return sorted(groups.values(), key=lambda g: (-g.macs, -g.flops, g.op_type))


def _totals(layers: list[LayerCost], walk: _Walk, peak_bytes: int) -> AnalysisTotals:
    totals = AnalysisTotals(
        macs=round(sum(layer.macs * layer.multiplier for layer in layers)),
        flops=round(sum(layer.flops * layer.multiplier for layer in layers)),
        activation_bytes=sum(layer.activation_bytes for layer in layers),
        peak_activation_bytes=peak_bytes,
        node_count=walk.node_count,
        layer_count=len(layers),
        constant_node_count=walk.constant_nodes,
    )
    by_dtype: Counter[str] = Counter()
    for info in walk.weights.values():
        by_dtype[info.dtype] += info.nbytes or 0
        if is_weight(info):
            totals.params += info.element_count or 0
    totals.weight_bytes = sum(by_dtype.values())
    totals.weight_bytes_by_dtype = dict(sorted(by_dtype.items()))
    return totals
