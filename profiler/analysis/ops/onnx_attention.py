"""Fused attention: com.microsoft Attention / MultiHeadAttention / GroupQueryAttention and ONNX
Attention (opset 23).

For ``scores`` = batch x query heads x query length S x key length L:
QK^T is scores x head_size MACs, softmax(.)V is scores x value head_size MACs, and each score
costs ``SCORE_OPS_PER_ELEMENT`` other operations. Only com.microsoft Attention carries its
input projection weights, so only it adds projection MACs (and their bias adds). Contrib ops
get no shapes from ONNX shape inference, so everything is derived from the input shapes.
"""

from __future__ import annotations

from profiler.analysis.ops.common import SOFTMAX_OPS_PER_ELEMENT
from profiler.analysis.registry import CostContext, OpCost, ShapeUnknown, register

SCORE_OPS_PER_ELEMENT = SOFTMAX_OPS_PER_ELEMENT + 1  # the 1/sqrt(head_size) scale, then softmax


def attention_cost(scores: int, qk_depth: int, v_depth: int, macs: int = 0,
                   other_flops: int = 0) -> OpCost:
    """``scores`` x (qk_depth + v_depth) MACs plus the scaled softmax over every score."""
    return OpCost(macs=macs + scores * (qk_depth + v_depth),
                  other_flops=other_flops + scores * SCORE_OPS_PER_ELEMENT)


def _heads(ctx: CostContext, name: str) -> int:
    heads = int(ctx.attr(name, 0))
    if heads <= 0:
        raise ShapeUnknown(f"attribute {name} is missing")
    return heads


def _past_length(ctx: CostContext, index: int) -> int:
    """Sequence length already cached in a [B, N, P, H] past tensor (0 when absent)."""
    return ctx.input_shape(index)[2] if ctx.has_input(index) else 0


@register("onnx", "com.microsoft:Attention")
def contrib_attention_cost(ctx: CostContext) -> OpCost:
    """input [B, S, D_in] x weights [D_in, D_q + D_k + D_v] (+ bias), past [2, B, N, P, H]."""
    batch, seq, d_in = ctx.input_shape(0)
    d_qkv = ctx.input_shape(1)[-1]
    sizes = ctx.attr("qkv_hidden_sizes") or [d_qkv // 3] * 3
    past = ctx.input_shape(4)[3] if ctx.has_input(4) else 0
    tokens = batch * seq
    projection = tokens * d_in * d_qkv
    bias_adds = tokens * d_qkv if ctx.has_input(2) else 0
    heads = _heads(ctx, "num_heads")
    scores = batch * heads * seq * (seq + past)
    q_hidden, v_hidden = int(sizes[0]), int(sizes[2])
    return attention_cost(scores, q_hidden // heads, v_hidden // heads, projection, bias_adds)


def _mha_key_length_and_value_depth(ctx: CostContext, hidden: int) -> tuple[int, int]:
    """(key length, value hidden size) from MultiHeadAttention's key/value layouts."""
    if not ctx.has_input(1):  # packed QKV in query
        return ctx.input_shape(0)[1], hidden
    key = ctx.input_shape(1)
    if len(key) == 4:  # [B, N, L, H]: already-projected cross-attention keys
        key_length = key[2]
    else:  # [B, L, D] or packed KV [B, L, N, 2, H]
        key_length = key[1] + (_past_length(ctx, 6) if len(key) == 3 else 0)
    if not ctx.has_input(2):
        return key_length, hidden
    value = ctx.input_shape(2)
    value_hidden = value[1] * value[3] if len(value) == 4 else value[-1]
    return key_length, value_hidden


@register("onnx", "com.microsoft:MultiHeadAttention")
def multi_head_attention_cost(ctx: CostContext) -> OpCost:
    """query [B, S, D] (or packed [B, S, N, 3, H]), key, value, bias?, masks, past_key?..."""
    query = ctx.input_shape(0)
    batch, seq = query[0], query[1]
    hidden = query[2] * query[4] if len(query) == 5 else query[2]
    key_length, value_hidden = _mha_key_length_and_value_depth(ctx, hidden)
    heads = _heads(ctx, "num_heads")
    scores = batch * heads * seq * key_length
    return attention_cost(scores, hidden // heads, value_hidden // heads)


@register("onnx", "com.microsoft:GroupQueryAttention")
def group_query_attention_cost(ctx: CostContext) -> OpCost:
    """query [B, S, D] (or packed QKV), past_key [B, kv_N, P, H], total_sequence_length."""
    batch, seq, width = ctx.input_shape(0)
    heads, kv_heads = _heads(ctx, "num_heads"), _heads(ctx, "kv_num_heads")
    head_size = width // heads if ctx.has_input(1) else width // (heads + 2 * kv_heads)
    total = ctx.constant_values(6)
    key_length = int(total[0]) if total else _past_length(ctx, 3) + seq
    scores = batch * heads * seq * key_length
    return attention_cost(scores, head_size, head_size)


def _onnx_attention_heads(ctx: CostContext, shape: tuple[int, ...], name: str) -> tuple[int, int]:
    """(heads, head size) of an ONNX Attention input: [B, N, L, H] or [B, L, N*H]."""
    if len(shape) == 4:
        return shape[1], shape[3]
    heads = _heads(ctx, name)
    return heads, shape[2] // heads


@register("onnx", "Attention")
def onnx_attention_cost(ctx: CostContext) -> OpCost:
    """Q, K, V (4-D [B, N, S, H] or 3-D [B, S, N*H]), attn_mask?, past_key?, past_value?."""
    query, key = ctx.input_shape(0), ctx.input_shape(1)
    q_heads, head_size = _onnx_attention_heads(ctx, query, "q_num_heads")
    _, value_head_size = _onnx_attention_heads(ctx, ctx.input_shape(2), "kv_num_heads")
    seq = query[2] if len(query) == 4 else query[1]
    key_length = (key[2] if len(key) == 4 else key[1]) + _past_length(ctx, 4)
    scores = query[0] * q_heads * seq * key_length
    return attention_cost(scores, head_size, value_head_size)
