"""ONNX linear-algebra ops: the multiply-accumulate family (convolutions and matrix products)."""

from __future__ import annotations

import math

from profiler.analysis.ops.common import GELU_TANH_OPS_PER_ELEMENT, broadcast_shape
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


@register("onnx", "MatMul", "MatMulInteger")
def matmul_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=matmul_macs(ctx, 0))


def _contrib_matmul_dims(ctx: CostContext) -> tuple[int, int, int]:
    """(rows, K, N) of a contrib MatMul: packed-weight ops carry K and N as attributes,
    FusedMatMul may transpose A and B; rows = every output element over N."""
    a_shape = ctx.input_shape(0)
    if len(a_shape) < 2:
        raise ShapeUnknown("contrib MatMul input A has rank < 2")
    if ctx.attr("K") and ctx.attr("N"):  # MatMulNBits, MatMulBnb4: B is packed
        return math.prod(a_shape[:-1]), int(ctx.attr("K")), int(ctx.attr("N"))
    b_shape = ctx.input_shape(1)
    trans_a, trans_b = bool(ctx.attr("transA", 0)), bool(ctx.attr("transB", 0))
    k = a_shape[-2] if trans_a else a_shape[-1]
    n = b_shape[-2] if trans_b else b_shape[-1]
    batch = broadcast_shape([a_shape[:-2], b_shape[:-2]])
    return math.prod(batch) * (a_shape[-1] if trans_a else a_shape[-2]), k, n


@register("onnx", "com.microsoft:FusedMatMul", "com.microsoft:MatMulIntegerToFloat",
          "com.microsoft:MatMulNBits", "com.microsoft:MatMulBnb4",
          "com.microsoft:DynamicQuantizeMatMul")
def contrib_matmul_cost(ctx: CostContext) -> OpCost:
    """Contrib ops get no inferred output shape, so the product's dims come from the inputs."""
    rows, k, n = _contrib_matmul_dims(ctx)
    alpha = ctx.attr("alpha", 1.0)
    return OpCost(macs=rows * n * k, other_flops=rows * n if alpha != 1.0 else 0)


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


ELLIPSIS_LABELS = "0123456789"
"""Stand-in index labels for the dimensions an einsum ``...`` covers (never letters)."""


def _expand_ellipsis(term: str, labels: str) -> str:
    return term.replace("...", labels) if "..." in term else term


def _einsum_terms(equation: str, ranks: list[int]) -> tuple[list[str], str]:
    """Operand and output subscripts with every ``...`` spelled out as digit labels."""
    text = equation.replace(" ", "")
    lhs, arrow, rhs = text.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ranks):
        raise ShapeUnknown(f"einsum {equation!r} names {len(terms)} operands, got {len(ranks)}")
    counts = [rank - (len(term) - 3) if "..." in term else 0
              for term, rank in zip(terms, ranks, strict=True)]
    widest = max(counts, default=0)
    expanded = [_expand_ellipsis(t, ELLIPSIS_LABELS[widest - n:widest])
                for t, n in zip(terms, counts, strict=True)]
    if arrow:
        return expanded, _expand_ellipsis(rhs, ELLIPSIS_LABELS[:widest])
    letters = "".join(expanded)
    once = sorted(c for c in set(letters) if c.isalpha() and letters.count(c) == 1)
    return expanded, ELLIPSIS_LABELS[:widest] + "".join(once)


def _label_sizes(terms: list[str], shapes: list[tuple[int, ...]]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for term, shape in zip(terms, shapes, strict=True):
        if len(term) != len(shape):
            raise ShapeUnknown(f"einsum term {term!r} does not fit an operand of rank {len(shape)}")
        for label, size in zip(term, shape, strict=True):
            sizes[label] = max(sizes.get(label, 1), size)
    return sizes


def einsum_cost_of(equation: str, shapes: list[tuple[int, ...]]) -> OpCost:
    """Operands contract left to right; each contraction costs the product of the sizes of
    every distinct index of the pair (MACs); a pair with no summed index only multiplies
    (other_flops); a final sum over indices the output drops adds once per element."""
    terms, output = _einsum_terms(equation, [len(s) for s in shapes])
    sizes = _label_sizes(terms, shapes)
    macs = other = 0
    current = set(terms[0])
    for position, term in enumerate(terms[1:], start=2):
        needed = set(output).union(*terms[position:])
        pair = current | set(term)
        work = math.prod(sizes[label] for label in pair)
        if pair - needed:
            macs += work
        else:
            other += work
        current = pair & needed
    if current - set(output):
        other += math.prod(sizes[label] for label in current)
    return OpCost(macs=macs, other_flops=other)


@register("onnx", "Einsum")
def einsum_cost(ctx: CostContext) -> OpCost:
    shapes = [ctx.input_shape(i) for i in range(len(ctx.node.inputs))]
    return einsum_cost_of(str(ctx.attr("equation", "")), shapes)


@register("onnx", "com.microsoft:GemmFastGelu")
def gemm_fast_gelu_cost(ctx: CostContext) -> OpCost:
    """X [..., K] @ W [K, N] (+ bias), then the tanh-form Gelu on every output element."""
    x_shape, w_shape = ctx.input_shape(0), ctx.input_shape(1)
    outputs = math.prod(x_shape[:-1]) * w_shape[-1]
    per_output = GELU_TANH_OPS_PER_ELEMENT + (1 if ctx.has_input(2) else 0)
    return OpCost(macs=outputs * matmul_inner_dim(x_shape), other_flops=outputs * per_output)
