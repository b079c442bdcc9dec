"""OpenVINO opset element-wise, activation, softmax, normalisation, pooling, reduction,
resampling and quantisation ops, and the data-movement ops (IR and TFLite models).

The same counting rules and per-element constants as the ONNX modules apply (see ``common``),
so a model costs the same whichever format it arrives in. Attribute names are those of
``ov.Node.get_attributes()`` ("kernel", "approximation_mode", "normalize_variance", "axis").
"""

from __future__ import annotations

import math

from profiler.analysis.ops import common as c
from profiler.analysis.ops.onnx_elementwise import broadcast_cost, per_element_cost
from profiler.analysis.ops.onnx_normalization import BATCH_NORM_OPS_PER_ELEMENT
from profiler.analysis.ops.onnx_pooling import roi_align_cost
from profiler.analysis.ops.onnx_reduce import CUMSUM_OPS_PER_ELEMENT, REDUCE_OPS, reduce_cost_for
from profiler.analysis.registry import (
    CostContext,
    OpCost,
    ShapeUnknown,
    register,
    register_data_movement,
)

DOMAIN = "openvino"

BINARY_OPS = (
    "Add", "Subtract", "Multiply", "Divide", "Power", "Maximum", "Minimum", "FloorMod", "Mod",
    "Equal", "NotEqual", "Greater", "GreaterEqual", "Less", "LessEqual",
    "LogicalAnd", "LogicalOr", "LogicalXor", "BitwiseAnd", "BitwiseOr", "BitwiseXor",
    "BitwiseLeftShift", "BitwiseRightShift",
    "Select",  # one select per (broadcast) output element
)

UNARY_OPS = (
    "Abs", "Negative", "Sqrt", "Exp", "Log", "Floor", "Ceiling", "Round", "Sign", "Erf",
    "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
    "IsNaN", "IsInf", "IsFinite", "LogicalNot", "BitwiseNot",
)

SQUARED_DIFFERENCE_OPS_PER_ELEMENT = 2  # subtract, square
MVN_CENTER_OPS_PER_ELEMENT = 2  # sum for the mean, subtract it
MVN_VARIANCE_OPS_PER_ELEMENT = 3  # square, sum, multiply by 1 / sqrt(variance + eps)
GROUP_NORM_OPS_PER_ELEMENT = 7  # mean/variance (4), normalise (1), scale, bias
NORMALIZE_L2_OPS_PER_ELEMENT = 3  # square, sum, divide by the norm

SHAPE_PRESERVING_OPS: dict[str, int] = {
    "Relu": c.RELU_OPS_PER_ELEMENT,
    "PRelu": c.PRELU_OPS_PER_ELEMENT,
    "Clamp": c.CLIP_OPS_PER_ELEMENT,
    "Sigmoid": c.SIGMOID_OPS_PER_ELEMENT,
    "Tanh": c.TANH_OPS_PER_ELEMENT,
    "HSigmoid": c.HARD_SIGMOID_OPS_PER_ELEMENT,
    "HardSigmoid": c.HARD_SIGMOID_OPS_PER_ELEMENT,
    "HSwish": c.HARD_SWISH_OPS_PER_ELEMENT,
    "Elu": c.ELU_OPS_PER_ELEMENT,
    "Selu": c.SELU_OPS_PER_ELEMENT,
    "Swish": c.SWISH_OPS_PER_ELEMENT,
    "Mish": c.MISH_OPS_PER_ELEMENT,
    "SoftPlus": c.SOFTPLUS_OPS_PER_ELEMENT,
    "SoftSign": c.SOFTSIGN_OPS_PER_ELEMENT,
    "Softmax": c.SOFTMAX_OPS_PER_ELEMENT,
    "SoftMax": c.SOFTMAX_OPS_PER_ELEMENT,  # spelling used by some IR producers
    "LogSoftmax": c.LOG_SOFTMAX_OPS_PER_ELEMENT,
    "Convert": c.CAST_OPS_PER_ELEMENT,
    "ConvertLike": c.CAST_OPS_PER_ELEMENT,
    "FakeQuantize": c.FAKE_QUANTIZE_OPS_PER_ELEMENT,
    "BatchNormInference": BATCH_NORM_OPS_PER_ELEMENT,
    "NormalizeL2": NORMALIZE_L2_OPS_PER_ELEMENT,
    "GroupNormalization": GROUP_NORM_OPS_PER_ELEMENT,
    "CumSum": CUMSUM_OPS_PER_ELEMENT,
}
"""Operations per element of ops whose output has input 0's shape."""

OV_REDUCE_OPS = ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                 "ReduceL1", "ReduceL2")
OV_LOGICAL_REDUCE_OPS = ("ReduceLogicalAnd", "ReduceLogicalOr")  # one and/or per input element

INTERPOLATE_MODES = {"nearest": "nearest", "linear": "linear", "linear_onnx": "linear",
                     "bilinear_pillow": "linear", "cubic": "cubic", "bicubic_pillow": "cubic"}

DATA_MOVEMENT_OPS = (
    "Reshape", "Transpose", "Concat", "Split", "VariadicSplit", "StridedSlice", "Slice",
    "Gather", "GatherND", "GatherElements", "Squeeze", "Unsqueeze", "Broadcast", "Tile", "Pad",
    "ShapeOf", "Constant", "Parameter", "Result", "DepthToSpace", "SpaceToDepth",
    "ScatterUpdate", "ScatterNDUpdate", "ScatterElementsUpdate", "Range", "ShuffleChannels",
    "BatchToSpace", "SpaceToBatch", "Reverse", "ReverseSequence", "Roll", "NonZero", "OneHot",
    "Identity", "ReadValue", "Assign",
)


@register(DOMAIN, "SquaredDifference")
def ov_squared_difference_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=SQUARED_DIFFERENCE_OPS_PER_ELEMENT * c.broadcast_elements(ctx))


@register(DOMAIN, "Gelu")
def ov_gelu_cost(ctx: CostContext) -> OpCost:
    """approximation_mode "ERF" (and opset2 Gelu, which has none) or "TANH"."""
    tanh_form = str(ctx.attr("approximation_mode", "ERF")).upper() == "TANH"
    per_element = c.GELU_TANH_OPS_PER_ELEMENT if tanh_form else c.GELU_ERF_OPS_PER_ELEMENT
    return OpCost(other_flops=per_element * c.same_shape_elements(ctx))


@register(DOMAIN, "MVN")
def ov_mvn_cost(ctx: CostContext) -> OpCost:
    per_element = MVN_CENTER_OPS_PER_ELEMENT
    if ctx.attr("normalize_variance", True):
        per_element += MVN_VARIANCE_OPS_PER_ELEMENT
    return OpCost(other_flops=per_element * c.same_shape_elements(ctx))


@register(DOMAIN, "LRN")
def ov_lrn_cost(ctx: CostContext) -> OpCost:
    """The window spans ``size`` along each axis of the axes input (channels: [1])."""
    axes = ctx.constant_values(1)
    window = int(ctx.attr("size", 1)) ** (len(axes) if axes else 1)
    return OpCost(other_flops=c.lrn_flops(c.same_shape_elements(ctx), window))


@register(DOMAIN, "MaxPool", "AvgPool")
def ov_pool_cost(ctx: CostContext) -> OpCost:
    kernel = ctx.attr("kernel")
    if not kernel:
        raise ShapeUnknown("the pool has no kernel attribute")
    return OpCost(other_flops=ctx.output_elements(0) * math.prod(int(k) for k in kernel))


@register(DOMAIN, "AdaptiveAvgPool", "AdaptiveMaxPool")
def ov_adaptive_pool_cost(ctx: CostContext) -> OpCost:
    """Each output bin covers about ceil(input / output) elements per spatial axis."""
    in_shape, out_shape = ctx.input_shape(0), ctx.output_shape(0)
    window = math.prod(-(-i // o) for i, o in zip(in_shape[2:], out_shape[2:], strict=True))
    return OpCost(other_flops=math.prod(out_shape) * window)


@register(DOMAIN, "Interpolate")
def ov_interpolate_cost(ctx: CostContext) -> OpCost:
    mode = str(ctx.attr("mode", "nearest"))
    kernel = INTERPOLATE_MODES.get(mode)
    if kernel is None:
        raise ShapeUnknown(f"unknown Interpolate mode {mode!r}")
    flops = c.resize_flops(kernel, ctx.input_shape(0), ctx.output_shape(0))
    return OpCost(other_flops=flops)


@register(DOMAIN, "TopK")
def ov_topk_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=c.topk_compares(ctx, int(ctx.attr("axis", -1))))


def _register_all() -> None:
    register(DOMAIN, *BINARY_OPS)(broadcast_cost)
    register(DOMAIN, *UNARY_OPS)(per_element_cost(1))
    for op_type, per_element in SHAPE_PRESERVING_OPS.items():
        register(DOMAIN, op_type)(per_element_cost(per_element))
    for op_type in OV_REDUCE_OPS:
        register(DOMAIN, op_type)(reduce_cost_for(*REDUCE_OPS[op_type]))
    register(DOMAIN, *OV_LOGICAL_REDUCE_OPS)(reduce_cost_for(1, 0))
    register(DOMAIN, "ROIAlign")(roi_align_cost)
    register_data_movement(DOMAIN, *DATA_MOVEMENT_OPS)


_register_all()
