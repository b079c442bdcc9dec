"""ONNX normalisations: batch/layer/instance/group/RMS norms (and their fused contrib forms),
Lp and mean-variance normalisation, local response normalisation.

All are ``other_flops`` per element of the (shape-preserving) output. Work done once per
normalised group (a divide by the count, + epsilon, a square root, a reciprocal) is a few
operations per row or channel and is not counted.
"""

from __future__ import annotations

from profiler.analysis.ops.common import lrn_flops, same_shape_elements
from profiler.analysis.registry import CostContext, OpCost, register

BATCH_NORM_OPS_PER_ELEMENT = 2
"""Inference batch norm: mean, variance, scale and bias fold into one per-channel multiplier
and one offset, so each element costs a multiply and an add."""

MEAN_VARIANCE_OPS_PER_ELEMENT = 4  # sum for the mean, subtract the mean, square, sum for variance
RMS_STATS_OPS_PER_ELEMENT = 2  # square, sum (root mean square needs no mean)
NORMALIZE_OPS_PER_ELEMENT = 1  # multiply by the group's 1 / sqrt(variance + epsilon)
AFFINE_OPS_PER_TERM = 1  # the scale multiply, or the bias add, each when present
LP_NORM_OPS_PER_ELEMENT = 3  # |x| or x^2, sum, divide by the norm


def _affine(ctx: CostContext, *indices: int) -> int:
    return AFFINE_OPS_PER_TERM * sum(1 for i in indices if ctx.has_input(i))


def _layer_norm_ops(ctx: CostContext, scale_index: int, bias_index: int) -> int:
    return (MEAN_VARIANCE_OPS_PER_ELEMENT + NORMALIZE_OPS_PER_ELEMENT
            + _affine(ctx, scale_index, bias_index))


def _rms_norm_ops(ctx: CostContext, scale_index: int) -> int:
    return RMS_STATS_OPS_PER_ELEMENT + NORMALIZE_OPS_PER_ELEMENT + _affine(ctx, scale_index)


@register("onnx", "BatchNormalization")
def batch_norm_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=BATCH_NORM_OPS_PER_ELEMENT * same_shape_elements(ctx))


@register("onnx", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
          "com.microsoft:LayerNormalization")
def layer_norm_cost(ctx: CostContext) -> OpCost:
    """Inputs X, scale, bias (bias optional for LayerNormalization)."""
    return OpCost(other_flops=_layer_norm_ops(ctx, 1, 2) * same_shape_elements(ctx))


@register("onnx", "MeanVarianceNormalization")
def mean_variance_norm_cost(ctx: CostContext) -> OpCost:
    per_element = MEAN_VARIANCE_OPS_PER_ELEMENT + NORMALIZE_OPS_PER_ELEMENT
    return OpCost(other_flops=per_element * same_shape_elements(ctx))


@register("onnx", "RMSNormalization", "com.microsoft:SimplifiedLayerNormalization")
def rms_norm_cost(ctx: CostContext) -> OpCost:
    """Inputs X, scale."""
    return OpCost(other_flops=_rms_norm_ops(ctx, 1) * same_shape_elements(ctx))


@register("onnx", "com.microsoft:SkipLayerNormalization")
def skip_layer_norm_cost(ctx: CostContext) -> OpCost:
    """Inputs input, skip, gamma, beta?, bias?: (input + skip + bias) then a layer norm."""
    residual_adds = 1 + _affine(ctx, 4)
    per_element = residual_adds + _layer_norm_ops(ctx, 2, 3)
    return OpCost(other_flops=per_element * same_shape_elements(ctx))


@register("onnx", "com.microsoft:SkipSimplifiedLayerNormalization")
def skip_rms_norm_cost(ctx: CostContext) -> OpCost:
    """Inputs input, skip, gamma, bias?: (input + skip + bias) then an RMS norm."""
    residual_adds = 1 + _affine(ctx, 3)
    per_element = residual_adds + _rms_norm_ops(ctx, 2)
    return OpCost(other_flops=per_element * same_shape_elements(ctx))


@register("onnx", "LpNormalization")
def lp_norm_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=LP_NORM_OPS_PER_ELEMENT * same_shape_elements(ctx))


@register("onnx", "LRN")
def lrn_cost(ctx: CostContext) -> OpCost:
    """Each output sums squares over ``size`` neighbouring channels, then scales and divides."""
    return OpCost(other_flops=lrn_flops(same_shape_elements(ctx), int(ctx.attr("size", 1))))
