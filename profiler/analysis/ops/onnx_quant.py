"""ONNX quantisation ops (Q/DQ, dynamic quantisation) and com.microsoft QLinear* element-wise,
pooling and concat ops.

A QLinear op is costed as its float equivalent between DequantizeLinear and QuantizeLinear:
dequantise every input element (2 ops), run the float op, quantise every output element (4).
Integer kernels use fixed-point rescaling or lookup tables instead, so this is an upper bound
on arithmetic, stated consistently. QLinearConv/QLinearMatMul live with the linear ops.
"""

from __future__ import annotations

import math

from profiler.analysis.ops.common import (
    DEQUANTIZE_OPS_PER_ELEMENT,
    DYNAMIC_QUANTIZE_OPS_PER_ELEMENT,
    LEAKY_RELU_OPS_PER_ELEMENT,
    QUANTIZE_OPS_PER_ELEMENT,
    SIGMOID_OPS_PER_ELEMENT,
    SOFTMAX_OPS_PER_ELEMENT,
    broadcast_elements,
    same_shape_elements,
)
from profiler.analysis.ops.onnx_pooling import kernel_elements
from profiler.analysis.registry import CostContext, CostFn, OpCost, ShapeUnknown, register

REQUANTIZE_OPS_PER_ELEMENT = DEQUANTIZE_OPS_PER_ELEMENT + QUANTIZE_OPS_PER_ELEMENT
QLINEAR_BINARY_OPS_PER_ELEMENT = 2 * DEQUANTIZE_OPS_PER_ELEMENT + 1 + QUANTIZE_OPS_PER_ELEMENT

QLINEAR_UNARY_OPS: dict[str, int] = {
    "com.microsoft:QLinearSigmoid": SIGMOID_OPS_PER_ELEMENT,
    "com.microsoft:QLinearLeakyRelu": LEAKY_RELU_OPS_PER_ELEMENT,
    "com.microsoft:QLinearSoftmax": SOFTMAX_OPS_PER_ELEMENT,
}
"""Float operations per element of the op inside dequantise/quantise (inputs X, scales, zps)."""


@register("onnx", "QuantizeLinear", "com.microsoft:QuantizeLinear")
def quantize_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=QUANTIZE_OPS_PER_ELEMENT * same_shape_elements(ctx))


@register("onnx", "DequantizeLinear", "com.microsoft:DequantizeLinear")
def dequantize_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=DEQUANTIZE_OPS_PER_ELEMENT * same_shape_elements(ctx))


@register("onnx", "DynamicQuantizeLinear")
def dynamic_quantize_cost(ctx: CostContext) -> OpCost:
    """Finds the input's min and max, then quantises (scale/zero-point maths is per tensor)."""
    return OpCost(other_flops=DYNAMIC_QUANTIZE_OPS_PER_ELEMENT * ctx.input_elements(0))


@register("onnx", "com.microsoft:QLinearAdd", "com.microsoft:QLinearMul")
def qlinear_binary_cost(ctx: CostContext) -> OpCost:
    """Inputs A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp; A and B broadcast."""
    return OpCost(other_flops=QLINEAR_BINARY_OPS_PER_ELEMENT * broadcast_elements(ctx, [0, 3]))


def qlinear_unary_cost(float_ops_per_element: int) -> CostFn:
    per_element = DEQUANTIZE_OPS_PER_ELEMENT + float_ops_per_element + QUANTIZE_OPS_PER_ELEMENT

    def cost(ctx: CostContext) -> OpCost:
        return OpCost(other_flops=per_element * same_shape_elements(ctx))

    return cost


def _channel_axis(ctx: CostContext, rank: int) -> int:
    return rank - 1 if ctx.attr("channels_last", 0) else 1


@register("onnx", "com.microsoft:QLinearGlobalAveragePool")
def qlinear_global_average_pool_cost(ctx: CostContext) -> OpCost:
    """Dequantise and add every input element; quantise one value per (batch, channel)."""
    shape = ctx.input_shape(0)
    outputs = shape[0] * shape[_channel_axis(ctx, len(shape))]
    per_input = DEQUANTIZE_OPS_PER_ELEMENT + 1
    return OpCost(other_flops=per_input * math.prod(shape) + QUANTIZE_OPS_PER_ELEMENT * outputs)


def _pooled_size(size: int, kernel: int, stride: int, total_pad: int, ceil_mode: bool) -> int:
    span = size + total_pad - kernel
    return (-(-span // stride) if ceil_mode else span // stride) + 1


def _pooled_spatial(ctx: CostContext, spatial: list[int], kernel: list[int]) -> list[int]:
    """Output sizes per spatial axis from kernel_shape, strides, pads, auto_pad, ceil_mode."""
    rank = len(kernel)
    strides = [int(s) for s in ctx.attr("strides", [1] * rank)]
    pads = [int(p) for p in ctx.attr("pads", [0] * 2 * rank)]
    auto_pad, ceil_mode = str(ctx.attr("auto_pad", "NOTSET")), bool(ctx.attr("ceil_mode", 0))
    if auto_pad.startswith("SAME"):
        return [-(-size // stride) for size, stride in zip(spatial, strides, strict=True)]
    totals = [0] * rank if auto_pad == "VALID" else [pads[i] + pads[i + rank] for i in range(rank)]
    return [_pooled_size(spatial[i], kernel[i], strides[i], totals[i], ceil_mode)
            for i in range(rank)]


def pooled_elements(ctx: CostContext) -> int:
    """Output elements of a pool: the inferred shape, else computed from its attributes
    (contrib pools get no shapes from ONNX shape inference)."""
    try:
        return ctx.output_elements(0)
    except ShapeUnknown:
        pass
    shape, kernel = ctx.input_shape(0), [int(k) for k in ctx.attr("kernel_shape", [])]
    spatial = list(shape[1:-1]) if ctx.attr("channels_last", 0) else list(shape[2:])
    if len(spatial) != len(kernel):
        raise ShapeUnknown("pool kernel_shape does not match the input's spatial rank")
    channels = shape[_channel_axis(ctx, len(shape))]
    return shape[0] * channels * math.prod(_pooled_spatial(ctx, spatial, kernel))


@register("onnx", "com.microsoft:QLinearAveragePool")
def qlinear_average_pool_cost(ctx: CostContext) -> OpCost:
    outputs = pooled_elements(ctx)
    dequantize = DEQUANTIZE_OPS_PER_ELEMENT * ctx.input_elements(0)
    pool = outputs * kernel_elements(ctx)
    return OpCost(other_flops=dequantize + pool + QUANTIZE_OPS_PER_ELEMENT * outputs)


@register("onnx", "com.microsoft:QLinearConcat")
def qlinear_concat_cost(ctx: CostContext) -> OpCost:
    """Inputs Y_scale, Y_zp, then (X, X_scale, X_zp) per tensor: each element is requantised."""
    try:
        elements = ctx.output_elements(0)
    except ShapeUnknown:
        indices = range(2, len(ctx.node.inputs), 3)
        elements = sum(ctx.input_elements(i) for i in indices)
    return OpCost(other_flops=REQUANTIZE_OPS_PER_ELEMENT * elements)


for _op_type, _float_ops in QLINEAR_UNARY_OPS.items():
    register("onnx", _op_type)(qlinear_unary_cost(_float_ops))
