"""ONNX linear-algebra ops: the multiply-accumulate family (convolutions and matrix products)."""

from __future__ import annotations

import math

from profiler.analysis.registry import CostContext, OpCost, ShapeUnknown, register


def conv_macs(ctx: CostContext, weight_index: int) -> int:
    """Output elements x (input channels per group x kernel elements) = out x prod(W[1:])."""
    weight = ctx.input_shape(weight_index)
    return ctx.output_elements(0) * math.prod(weight[1:])


def conv_transpose_macs(ctx: CostContext, data_index: int, weight_index: int) -> int:
    """Each input element is scattered through a (C_out/group x kernel) filter: in x prod(W[1:])."""
    weight = ctx.input_shape(weight_index)
    return ctx.input_elements(data_index) * math.prod(weight[1:])


def _bias_flops(ctx: CostContext, bias_index: int) -> int:
    return ctx.output_elements(0) if ctx.has_input(bias_index) else 0


@register("onnx", "Conv", "com.microsoft:FusedConv", "com.microsoft:NhwcConv")
def conv_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=conv_macs(ctx, 1), other_flops=_bias_flops(ctx, 2))


@register("onnx", "ConvInteger")
def conv_integer_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=conv_macs(ctx, 1))


@register("onnx", "QLinearConv", "com.microsoft:QLinearConv")
def qlinear_conv_cost(ctx: CostContext) -> OpCost:
    # Requantisation: one scale multiply (and zero-point add) per output element.
    requant = 2 * ctx.output_elements(0)
    return OpCost(macs=conv_macs(ctx, 3), other_flops=requant + _bias_flops(ctx, 8))


@register("onnx", "ConvTranspose")
def conv_transpose_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=conv_transpose_macs(ctx, 0, 1), other_flops=_bias_flops(ctx, 2))


def matmul_inner_dim(a_shape: tuple[int, ...]) -> int:
    """K of A(..., M, K) @ B(..., K, N); a rank-1 A is (K,)."""
    if not a_shape:
        raise ShapeUnknown("MatMul input A is a scalar")
    return a_shape[-1]


def matmul_macs(ctx: CostContext, a_index: int) -> int:
    return ctx.output_elements(0) * matmul_inner_dim(ctx.input_shape(a_index))


@register("onnx", "MatMul", "MatMulInteger", "com.microsoft:FusedMatMul",
          "com.microsoft:MatMulIntegerToFloat", "com.microsoft:MatMulNBits",
          "com.microsoft:MatMulBnb4", "com.microsoft:DynamicQuantizeMatMul")
def matmul_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=matmul_macs(ctx, 0))


@register("onnx", "QLinearMatMul", "com.microsoft:QLinearMatMul")
def qlinear_matmul_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=matmul_macs(ctx, 0), other_flops=2 * ctx.output_elements(0))


@register("onnx", "Gemm", "com.microsoft:QGemm")
def gemm_cost(ctx: CostContext) -> OpCost:
    a_shape = ctx.input_shape(0)
    k = a_shape[0] if ctx.attr("transA", 0) else a_shape[-1]
    out = ctx.output_elements(0)
    # alpha scaling and the beta*C add, each once per output element when present.
    extra = (out if ctx.attr("alpha", 1.0) != 1.0 else 0) + _bias_flops(ctx, 2)
    return OpCost(macs=out * k, other_flops=extra)
