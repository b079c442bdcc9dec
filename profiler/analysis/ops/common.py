"""Per-element operation counts and shape helpers shared by the ONNX and OpenVINO cost modules.

Counting rule: an elementary function that a math library provides as one call (exp, log,
sqrt, erf, tanh, sin, a compare, a select, a round) counts 1 operation per element; an
activation built from several such steps counts each step. The constants below spell out
the steps, so a reader can check (and a reviewer can change) every figure in one place.
"""

from __future__ import annotations

import math

from profiler.analysis.registry import CostContext, ShapeUnknown

# --- activations (operations per element) ---------------------------------------------------
RELU_OPS_PER_ELEMENT = 1  # max(x, 0)
LEAKY_RELU_OPS_PER_ELEMENT = 2  # compare, multiply (the select rides on the compare)
PRELU_OPS_PER_ELEMENT = 2  # compare, multiply by the (broadcast) slope
THRESHOLDED_RELU_OPS_PER_ELEMENT = 1  # compare-select against alpha
SHRINK_OPS_PER_ELEMENT = 3  # two compares (x < -lambd, x > lambd), one bias add/sub
CLIP_OPS_PER_ELEMENT = 2  # min, max
SIGMOID_OPS_PER_ELEMENT = 4  # 1 / (1 + exp(-x)): negate, exp, add, divide
TANH_OPS_PER_ELEMENT = 1  # one elementary tanh call
HARD_SIGMOID_OPS_PER_ELEMENT = 4  # max(0, min(1, alpha*x + beta)): multiply, add, min, max
HARD_SWISH_OPS_PER_ELEMENT = 5  # x * hard_sigmoid(x): hard sigmoid (4) + multiply
ELU_OPS_PER_ELEMENT = 4  # x < 0 ? alpha * (exp(x) - 1) : x: compare, exp, subtract, multiply
SELU_OPS_PER_ELEMENT = 5  # gamma * elu(x): elu (4) + multiply
CELU_OPS_PER_ELEMENT = 7  # max(0,x) + min(0, alpha*(exp(x/alpha)-1)):
#                            divide, exp, subtract, multiply, min, max, add
GELU_ERF_OPS_PER_ELEMENT = 5  # 0.5 * x * (1 + erf(x / sqrt(2))): divide, erf, add, multiply x2
GELU_TANH_OPS_PER_ELEMENT = 9  # 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))): x^3 (2 mul), mul,
#                                add, mul, tanh, add, mul x, mul 0.5
QUICK_GELU_OPS_PER_ELEMENT = 6  # x * sigmoid(alpha * x): multiply, sigmoid (4), multiply
SWISH_OPS_PER_ELEMENT = 6  # x * sigmoid(beta * x): multiply, sigmoid (4), multiply
SOFTPLUS_OPS_PER_ELEMENT = 3  # log(exp(x) + 1): exp, add, log
SOFTSIGN_OPS_PER_ELEMENT = 3  # x / (1 + |x|): abs, add, divide
MISH_OPS_PER_ELEMENT = 5  # x * tanh(softplus(x)): softplus (3), tanh, multiply

# --- softmax family (operations per element of the input) ------------------------------------
SOFTMAX_OPS_PER_ELEMENT = 5  # running max (compare), subtract max, exp, sum (add), divide
LOG_SOFTMAX_OPS_PER_ELEMENT = 5  # running max, subtract max, exp, sum, subtract log-sum
HARDMAX_OPS_PER_ELEMENT = 1  # compare against the running max

# --- quantization (operations per element) ---------------------------------------------------
QUANTIZE_OPS_PER_ELEMENT = 4  # x / scale (as a multiply), round, + zero point, saturate
DEQUANTIZE_OPS_PER_ELEMENT = 2  # (x - zero point) * scale
DYNAMIC_QUANTIZE_OPS_PER_ELEMENT = 6  # running min and max (2 compares) + quantize (4)
FAKE_QUANTIZE_OPS_PER_ELEMENT = 7  # clamp to [in_low, in_high] (2), scale to levels (sub, mul),
#                                    round, back to the output range (mul, add)
CAST_OPS_PER_ELEMENT = 1  # one conversion instruction per element


def broadcast_shape(shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """Numpy-style broadcast of ``shapes``; raises ShapeUnknown when they do not broadcast."""
    rank = max((len(shape) for shape in shapes), default=0)
    result: list[int] = []
    for axis in range(-rank, 0):
        sizes = {shape[axis] for shape in shapes if len(shape) >= -axis} - {1}
        if len(sizes) > 1:
            raise ShapeUnknown(f"input shapes {shapes} do not broadcast")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def broadcast_elements(ctx: CostContext, input_indices: list[int] | None = None) -> int:
    """Output elements of an element-wise op: the inferred output shape, else the broadcast of
    its inputs (contrib ops get no shapes from ONNX shape inference)."""
    try:
        return ctx.output_elements(0)
    except ShapeUnknown:
        indices = input_indices or [i for i in range(len(ctx.node.inputs)) if ctx.has_input(i)]
        return math.prod(broadcast_shape([ctx.input_shape(i) for i in indices]))


def same_shape_elements(ctx: CostContext) -> int:
    """Elements of a shape-preserving op's output: the output shape, else input 0's shape."""
    try:
        return ctx.output_elements(0)
    except ShapeUnknown:
        return ctx.input_elements(0)


def present_inputs(ctx: CostContext) -> int:
    return sum(1 for i in range(len(ctx.node.inputs)) if ctx.has_input(i))


def normalized_axis(axis: int, rank: int) -> int:
    """A possibly negative axis as an index into a shape of ``rank`` dimensions."""
    index = axis + rank if axis < 0 else axis
    if not 0 <= index < rank:
        raise ShapeUnknown(f"axis {axis} is out of range for rank {rank}")
    return index


def changed_axes(in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """How many axes an interpolating resize changes (the k of its 2^k-neighbour kernel)."""
    if len(in_shape) != len(out_shape):
        raise ShapeUnknown("resize input and output ranks differ")
    return sum(1 for a, b in zip(in_shape, out_shape, strict=True) if a != b)


def topk_compares(ctx: CostContext, axis: int) -> int:
    """n x ceil(log2 k) compares per slice (a size-k heap over n candidates), at least n."""
    in_shape, out_shape = ctx.input_shape(0), ctx.output_shape(0)
    index = normalized_axis(axis, len(in_shape))
    k = out_shape[index]
    compares_per_element = math.ceil(math.log2(k)) if k > 1 else 1
    return math.prod(in_shape) * compares_per_element


# --- resize ---------------------------------------------------------------------------------
RESIZE_OPS_PER_NEIGHBOUR = 2  # weight multiply + accumulate for each interpolation neighbour
RESIZE_NEIGHBOURS_PER_AXIS = {"nearest": 0, "linear": 2, "cubic": 4}
"""Neighbours read per interpolated axis: linear 2 (so 2^k over k axes), cubic 4 (4^k);
nearest copies one source element and does no arithmetic (index math is not counted)."""


def resize_flops(mode: str, in_shape: tuple[int, ...], out_shape: tuple[int, ...]) -> int:
    """Interpolation operations of a resize: per output element, 2 x neighbours^k."""
    per_axis = RESIZE_NEIGHBOURS_PER_AXIS[mode]
    if per_axis == 0:
        return 0
    neighbours = per_axis ** changed_axes(in_shape, out_shape)
    return math.prod(out_shape) * RESIZE_OPS_PER_NEIGHBOUR * neighbours


# --- local response normalisation -----------------------------------------------------------
LRN_OPS_PER_WINDOW_ELEMENT = 2  # square, add into the window sum
LRN_OPS_PER_ELEMENT = 4  # alpha/size scale, + bias, ^beta, divide


def lrn_flops(output_elements: int, window_elements: int) -> int:
    return output_elements * (LRN_OPS_PER_WINDOW_ELEMENT * window_elements + LRN_OPS_PER_ELEMENT)
