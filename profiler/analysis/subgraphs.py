"""How control-flow bodies count: If takes its costlier branch, Loop/Scan multiply by trips."""

from __future__ import annotations

from profiler.analysis.registry import CostContext, ShapeUnknown
from profiler.analysis.types import LayerCost


def _body_macs_flops(layers: list[LayerCost]) -> tuple[float, float]:
    return (
        sum(layer.macs * layer.multiplier for layer in layers),
        sum(layer.flops * layer.multiplier for layer in layers),
    )


def body_multipliers(
    context: CostContext, bodies: dict[str, list[LayerCost]]
) -> tuple[dict[str, float], str]:
    """Multiplier per body attribute and a note saying how the bodies were counted."""
    op_type = context.node.op_type
    if op_type == "If":
        return _if_multipliers(bodies)
    if op_type == "Loop":
        return _loop_multipliers(context, bodies)
    return _scan_multipliers(context, bodies)


def _if_multipliers(bodies: dict[str, list[LayerCost]]) -> tuple[dict[str, float], str]:
    costliest = max(bodies, key=lambda name: _body_macs_flops(bodies[name]))
    factors = {name: (1.0 if name == costliest else 0.0) for name in bodies}
    return factors, f"If: the costlier branch ({costliest}) counts in totals (upper bound)"


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
