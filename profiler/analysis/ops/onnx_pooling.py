"""ONNX pooling and spatial resampling: pools, global pools, Resize/Upsample, RoiAlign.

Pooling cost = output elements x kernel elements (a compare for max, an add for average), all
``other_flops``: pooling has no multiply-accumulates. MaxRoiPool is left unregistered: each
bin's size depends on the ROI coordinates (data), so no static figure would be honest; the
analyzer reports it as unsupported.
"""

from __future__ import annotations

import math

from profiler.analysis.ops.common import resize_flops
from profiler.analysis.registry import CostContext, OpCost, ShapeUnknown, register

LP_POOL_OPS_PER_KERNEL_ELEMENT = 2  # |x|^p, add (the p-th root per output is not counted)
GLOBAL_LP_POOL_OPS_PER_ELEMENT = 2
ROI_ALIGN_OPS_PER_SAMPLE = 9  # bilinear sample: 4 neighbours x (weight multiply + add), + 1 pool
ROI_ALIGN_ADAPTIVE_SAMPLES_PER_AXIS = 2
"""sampling_ratio=0 means ceil(roi_size / output_size) samples per bin axis, which depends on
the ROI values; we assume 2 (the usual detector setting)."""

RESIZE_MODES = {"nearest": "nearest", "linear": "linear", "bilinear": "linear",
                "trilinear": "linear", "cubic": "cubic", "bicubic": "cubic"}
"""ONNX Resize/Upsample mode names mapped onto the interpolation kernels of ``resize_flops``."""


def kernel_elements(ctx: CostContext) -> int:
    kernel = ctx.attr("kernel_shape")
    if not kernel:
        raise ShapeUnknown("the pool has no kernel_shape attribute")
    return math.prod(int(k) for k in kernel)


@register("onnx", "MaxPool", "AveragePool")
def pool_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=ctx.output_elements(0) * kernel_elements(ctx))


@register("onnx", "LpPool")
def lp_pool_cost(ctx: CostContext) -> OpCost:
    per_window = LP_POOL_OPS_PER_KERNEL_ELEMENT * kernel_elements(ctx)
    return OpCost(other_flops=ctx.output_elements(0) * per_window)


@register("onnx", "GlobalAveragePool", "GlobalMaxPool")
def global_pool_cost(ctx: CostContext) -> OpCost:
    """The kernel is the whole spatial extent: one operation per input element."""
    return OpCost(other_flops=ctx.input_elements(0))


@register("onnx", "GlobalLpPool")
def global_lp_pool_cost(ctx: CostContext) -> OpCost:
    return OpCost(other_flops=GLOBAL_LP_POOL_OPS_PER_ELEMENT * ctx.input_elements(0))


@register("onnx", "Resize", "Upsample")
def resize_cost(ctx: CostContext) -> OpCost:
    """Per output element: nearest 0, linear 2 x 2^k, cubic 2 x 4^k (k = axes resized)."""
    mode = str(ctx.attr("mode", "nearest"))
    kernel = RESIZE_MODES.get(mode)
    if kernel is None:
        raise ShapeUnknown(f"unknown resize mode {mode!r}")
    flops = resize_flops(kernel, ctx.input_shape(0), ctx.output_shape(0))
    note = "nearest-neighbour resize copies elements: no arithmetic" if kernel == "nearest" else ""
    return OpCost(other_flops=flops, note=note)


@register("onnx", "RoiAlign")
def roi_align_cost(ctx: CostContext) -> OpCost:
    ratio = int(ctx.attr("sampling_ratio", 0))
    per_axis = ratio if ratio > 0 else ROI_ALIGN_ADAPTIVE_SAMPLES_PER_AXIS
    per_output = ROI_ALIGN_OPS_PER_SAMPLE * per_axis * per_axis
    note = "" if ratio > 0 else "sampling_ratio=0: assumed 2x2 samples per bin"
    return OpCost(other_flops=ctx.output_elements(0) * per_output, note=note)
