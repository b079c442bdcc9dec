"""ONNX element-wise ops: arithmetic, comparisons, math functions, activations, softmax, casts.

Cost is ``other_flops`` = operations per element x output elements (broadcasting included:
the output shape is what gets computed). Per-element counts of composite activations are the
named constants in ``common``; an elementary function or operator counts 1.
"""

from __future__ import annotations

from profiler.analysis.ops.common import (
    CAST_OPS_PER_ELEMENT,
    CELU_OPS_PER_ELEMENT,
    CLIP_OPS_PER_ELEMENT,
    ELU_OPS_PER_ELEMENT,
    GELU_ERF_OPS_PER_ELEMENT,
    GELU_TANH_OPS_PER_ELEMENT,
    HARD_SIGMOID_OPS_PER_ELEMENT,
    HARD_SWISH_OPS_PER_ELEMENT,
    HARDMAX_OPS_PER_ELEMENT,
    LEAKY_RELU_OPS_PER_ELEMENT,
    LOG_SOFTMAX_OPS_PER_ELEMENT,
    MISH_OPS_PER_ELEMENT,
    PRELU_OPS_PER_ELEMENT,
    QUICK_GELU_OPS_PER_ELEMENT,
    RELU_OPS_PER_ELEMENT,
    SELU_OPS_PER_ELEMENT,
    SHRINK_OPS_PER_ELEMENT,
    SIGMOID_OPS_PER_ELEMENT,
    SOFTMAX_OPS_PER_ELEMENT,
    SOFTPLUS_OPS_PER_ELEMENT,
    SOFTSIGN_OPS_PER_ELEMENT,
    SWISH_OPS_PER_ELEMENT,
    TANH_OPS_PER_ELEMENT,
    THRESHOLDED_RELU_OPS_PER_ELEMENT,
    broadcast_elements,
    present_inputs,
    same_shape_elements,
)
from profiler.analysis.registry import CostContext, CostFn, OpCost, register

BINARY_OPS = (
    "Add", "Sub", "Mul", "Div", "Pow", "Mod", "BitShift",
    "And", "Or", "Xor", "BitwiseAnd", "BitwiseOr", "BitwiseXor",
    "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual",
    "Where",  # one select per output element
)
"""One operation per (broadcast) output element."""

UNARY_OPS = (
    "Abs", "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Erf",
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
    "IsNaN", "IsInf", "Not", "BitwiseNot",
)
"""One elementary operation per element."""

VARIADIC_OPS = ("Sum", "Max", "Min", "Mean")
"""n inputs fold into the output with n - 1 operations per output element (Mean: + 1 divide)."""

ACTIVATION_OPS_PER_ELEMENT: dict[str, int] = {
    "Relu": RELU_OPS_PER_ELEMENT,
    "LeakyRelu": LEAKY_RELU_OPS_PER_ELEMENT,
    "PRelu": PRELU_OPS_PER_ELEMENT,
    "ThresholdedRelu": THRESHOLDED_RELU_OPS_PER_ELEMENT,
    "Shrink": SHRINK_OPS_PER_ELEMENT,
    "Clip": CLIP_OPS_PER_ELEMENT,
    "Sigmoid": SIGMOID_OPS_PER_ELEMENT,
    "Tanh": TANH_OPS_PER_ELEMENT,
    "HardSigmoid": HARD_SIGMOID_OPS_PER_ELEMENT,
    "HardSwish": HARD_SWISH_OPS_PER_ELEMENT,
    "Elu": ELU_OPS_PER_ELEMENT,
    "Selu": SELU_OPS_PER_ELEMENT,
    "Celu": CELU_OPS_PER_ELEMENT,
    "Softplus": SOFTPLUS_OPS_PER_ELEMENT,
    "Softsign": SOFTSIGN_OPS_PER_ELEMENT,
    "Mish": MISH_OPS_PER_ELEMENT,
    "Swish": SWISH_OPS_PER_ELEMENT,
    "com.microsoft:Gelu": GELU_ERF_OPS_PER_ELEMENT,
    "com.microsoft:QuickGelu": QUICK_GELU_OPS_PER_ELEMENT,
    "com.microsoft:BiasGelu": GELU_ERF_OPS_PER_ELEMENT + 1,  # + the bias add
    "Softmax": SOFTMAX_OPS_PER_ELEMENT,
    "LogSoftmax": LOG_SOFTMAX_OPS_PER_ELEMENT,
    "Hardmax": HARDMAX_OPS_PER_ELEMENT,
    "Cast": CAST_OPS_PER_ELEMENT,
    "CastLike": CAST_OPS_PER_ELEMENT,
}
"""Shape-preserving ops (output shape = input 0's shape): operations per element."""

ROTARY_OPS_PER_ELEMENT = 3  # x * cos + rotate_half(x) * sin: two multiplies, one add


def per_element_cost(ops_per_element: int) -> CostFn:
    """A cost function charging ``ops_per_element`` per output element."""

    def cost(ctx: CostContext) -> OpCost:
        return OpCost(other_flops=ops_per_element * same_shape_elements(ctx))

    return cost


def broadcast_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=broadcast_elements(ctx))


def variadic_cost(ctx: CostContext) -> OpCost:
    folds = max(present_inputs(ctx) - 1, 0)
    divides = 1 if ctx.node.op_type == "Mean" and folds else 0
    return OpCost(other_flops=(folds + divides) * broadcast_elements(ctx))


def gelu_cost(ctx: CostContext) -> OpCost:
    """ONNX Gelu (opset 20): erf form, or the tanh form when approximate="tanh"."""
    tanh_form = ctx.attr("approximate", "none") == "tanh"
    per_element = GELU_TANH_OPS_PER_ELEMENT if tanh_form else GELU_ERF_OPS_PER_ELEMENT
    return OpCost(other_flops=per_element * same_shape_elements(ctx))


def fast_gelu_cost(ctx: CostContext) -> OpCost:
    """com.microsoft FastGelu: the tanh form, plus a bias add when input 1 is given."""
    per_element = GELU_TANH_OPS_PER_ELEMENT + (1 if ctx.has_input(1) else 0)
    return OpCost(other_flops=per_element * same_shape_elements(ctx))


def rotary_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=ROTARY_OPS_PER_ELEMENT * same_shape_elements(ctx))


def _register_all() -> None:
    register("onnx", *BINARY_OPS)(broadcast_cost)
    register("onnx", *UNARY_OPS)(per_element_cost(1))
    register("onnx", *VARIADIC_OPS)(variadic_cost)
    for op_type, ops_per_element in ACTIVATION_OPS_PER_ELEMENT.items():
        register("onnx", op_type)(per_element_cost(ops_per_element))
    register("onnx", "Gelu")(gelu_cost)
    register("onnx", "com.microsoft:FastGelu")(fast_gelu_cost)
    register("onnx", "RotaryEmbedding", "com.microsoft:RotaryEmbedding")(rotary_cost)


_register_all()
