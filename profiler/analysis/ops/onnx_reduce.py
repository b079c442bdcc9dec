"""ONNX reductions (Reduce*, ArgMax/ArgMin), CumSum and TopK.

A reduction's cost comes from its INPUT: every input element is visited once. Ops that
finish each output with a divide, square root, log or exp add one operation per output.
"""

from __future__ import annotations

from profiler.analysis.ops.common import same_shape_elements, topk_compares
from profiler.analysis.registry import CostContext, CostFn, OpCost, register

REDUCE_OPS: dict[str, tuple[int, int]] = {
    "ReduceSum": (1, 0),  # add
    "ReduceMean": (1, 1),  # add; divide per output
    "ReduceMax": (1, 0),  # compare
    "ReduceMin": (1, 0),  # compare
    "ReduceProd": (1, 0),  # multiply
    "ReduceL1": (2, 0),  # abs, add
    "ReduceL2": (2, 1),  # square, add; sqrt per output
    "ReduceSumSquare": (2, 0),  # square, add
    "ReduceLogSum": (1, 1),  # add; log per output
    "ReduceLogSumExp": (2, 1),  # exp, add; log per output
    "ArgMax": (1, 0),  # compare
    "ArgMin": (1, 0),  # compare
}
"""(operations per input element, operations per output element)."""

CUMSUM_OPS_PER_ELEMENT = 1  # one add per element along the axis


def reduce_flops(ctx: CostContext, per_input: int, per_output: int) -> int:
    return per_input * ctx.input_elements(0) + per_output * ctx.output_elements(0)


def _is_noop(ctx: CostContext) -> bool:
    """noop_with_empty_axes=1 and no axes: the op returns its input unchanged."""
    if not ctx.attr("noop_with_empty_axes", 0) or ctx.attr("axes") is not None:
        return False
    return not ctx.has_input(1) or ctx.constant_values(1) == []


def reduce_cost_for(per_input: int, per_output: int) -> CostFn:
    def cost(ctx: CostContext) -> OpCost:
        if _is_noop(ctx):
            return OpCost(note="noop_with_empty_axes: identity")
        return OpCost(other_flops=reduce_flops(ctx, per_input, per_output))

    return cost


@register("onnx", "CumSum")
def cumsum_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=CUMSUM_OPS_PER_ELEMENT * same_shape_elements(ctx))


@register("onnx", "TopK")
def topk_cost(ctx: CostContext) -> OpCost:
    """n x ceil(log2 k) compares per slice of length n along the axis (a size-k heap)."""
    return OpCost(other_flops=topk_compares(ctx, int(ctx.attr("axis", -1))))


for _op_type, (_per_input, _per_output) in REDUCE_OPS.items():
    register("onnx", _op_type)(reduce_cost_for(_per_input, _per_output))
