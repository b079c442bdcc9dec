"""How control-flow bodies count: If takes the branch its condition selects (the costlier one
when the condition is unknown), Loop/Scan multiply by trips."""

from __future__ import annotations

from profiler.analysis.registry import CostContext, ShapeUnknown
from profiler.model.graph import Node
from profiler.records.analysis import LayerCost


def _body_macs_flops(layers: list[LayerCost]) -> tuple[float, float]:
    return (
        sum(layer.macs * layer.multiplier for layer in layers),
        sum(layer.flops * layer.multiplier for layer in layers),
    )


def body_multipliers(
    context: CostContext, bodies: dict[str, list[LayerCost]]
) -> tuple[dict[str, float], str, str | None]:
    """Multiplier per body attribute, a note saying how the bodies were counted, and a
    warning when the count is a bound rather than what runs."""
    op_type = context.node.op_type
    if op_type == "If":
        return _if_multipliers(context, bodies)
    if op_type == "Loop":
        factors, note = _loop_multipliers(context, bodies)
    else:
        factors, note = _scan_multipliers(context, bodies)
    return factors, note, note if "trip count unknown" in note else None


def _if_multipliers(
    context: CostContext, bodies: dict[str, list[LayerCost]]
) -> tuple[dict[str, float], str, str | None]:
    """The branch the condition selects when it is known, else the costlier one."""
    condition = context.constant_values(0)
    if condition is not None and len(condition) == 1 and set(BRANCHES) <= set(bodies):
        taken = BRANCHES[0] if condition[0] else BRANCHES[1]
        truth = "true" if condition[0] else "false"
        factors = {name: (1.0 if name == taken else 0.0) for name in bodies}
        return factors, f"branch {taken} counted: condition {describe_condition(context)} " \
                        f"is {truth}{_given_values(context)}", None
    costs = {name: _body_macs_flops(layers) for name, layers in bodies.items()}
    costliest = max(bodies, key=lambda name: costs[name])
    factors = {name: (1.0 if name == costliest else 0.0) for name in bodies}
    note = f"condition unknown: the costlier branch ({costliest}) counts (upper bound)"
    if len(set(costs.values())) <= 1:
        return factors, note, None
    spread = ", ".join(f"{name} {round(macs)} MACs" for name, (macs, _) in costs.items())
    return factors, note, f"{note}; branches differ ({spread}): give the inputs that decide " \
                          "it a value to count the branch that runs"


BRANCHES = ("then_branch", "else_branch")


def _producer(context: CostContext, name: str) -> Node | None:
    for scope in (context.graph, *context.outers):
        for node in scope.nodes:
            if name in node.outputs:
                return node
    return None


def _is_constant(context: CostContext, name: str) -> bool:
    return any(name in scope.constants for scope in (context.graph, *context.outers))


def _values_text(values: list[float | int]) -> str:
    texts = [f"{v:g}" if isinstance(v, float) else str(v) for v in values[:MAX_SHOWN_VALUES]]
    more = ", ..." if len(values) > MAX_SHOWN_VALUES else ""
    return texts[0] if len(values) == 1 else f"[{', '.join(texts)}{more}]"


MAX_SHOWN_VALUES = 4


def describe_condition(context: CostContext) -> str:
    """``Equal(sr, 16000)``: the op computing the condition, constants shown by value."""
    name = context.node.inputs[0]
    producer = _producer(context, name)
    if producer is None:
        return name
    args = []
    for arg in (a for a in producer.inputs if a):
        values = _lookup_values(context, arg)
        args.append(_values_text(values) if values and _is_constant(context, arg) else arg)
    return f"{producer.op_type}({', '.join(args)})"


def _given_values(context: CostContext) -> str:
    """`` for sr=16000``: the non-constant operands of the condition, with their values."""
    producer = _producer(context, context.node.inputs[0])
    names = [a for a in producer.inputs if a] if producer else [context.node.inputs[0]]
    given = [f"{a}={_values_text(v)}" for a in names
             if not _is_constant(context, a) and (v := _lookup_values(context, a))]
    return f" for {', '.join(given)}" if given else ""


def _lookup_values(context: CostContext, name: str) -> list[float | int] | None:
    for scope in (context.graph, *context.outers):
        if name in scope.constant_values:
            return scope.constant_values[name]
    return None


def _loop_multipliers(
    context: CostContext, bodies: dict[str, list[LayerCost]]
) -> tuple[dict[str, float], str]:
    values = context.constant_values(0)
    if values and len(values) == 1 and float(values[0]) >= 0:
        trips = float(values[0])
        return {name: trips for name in bodies}, (
            f"Loop: body counted x{trips:g} (constant trip count; an early exit would lower it)"
        )
    return {name: 1.0 for name in bodies}, "Loop: trip count unknown, body counted once"


def _scan_multipliers(
    context: CostContext, bodies: dict[str, list[LayerCost]]
) -> tuple[dict[str, float], str]:
    scan_inputs = int(context.attr("num_scan_inputs", 1))
    first_scan = len(context.node.inputs) - scan_inputs
    axes = context.attr("scan_input_axes") or [0] * scan_inputs
    try:
        shape = context.input_shape(first_scan)
        length = float(shape[int(axes[0]) % len(shape)])
    except (ShapeUnknown, IndexError, ZeroDivisionError):
        return {name: 1.0 for name in bodies}, "Scan: trip count unknown, body counted once"
    return {name: length for name in bodies}, f"Scan: body counted x{length:g} (scan length)"
