"""OpenVINO opset multiply-accumulate ops (IR and TFLite models): convolutions, MatMul, Einsum,
ScaledDotProductAttention and the recurrent sequences and cells.

Node types are ``get_type_name()`` and attributes ``get_attributes()`` as the loader copies
them. Weight layouts (OpenVINO opset specification):
- Convolution W [C_out, C_in, k...]            MACs = output elements x C_in x k
- GroupConvolution W [G, C_out/G, C_in/G, k...] MACs = output elements x C_in/G x k
- ConvolutionBackpropData W [C_in, C_out, k...] MACs = input elements x C_out x k
- GroupConvolutionBackpropData W [G, C_in/G, C_out/G, k...]  MACs = input x C_out/G x k
A bias is a separate Add node in OpenVINO graphs, costed there.
"""

from __future__ import annotations

import math

from profiler.analysis.ops.onnx_attention import attention_cost
from profiler.analysis.ops.onnx_linear import einsum_cost
from profiler.analysis.ops.onnx_recurrent import GATE_COUNT, cell_ops_per_unit, recurrent_cost
from profiler.analysis.registry import CostContext, OpCost, ShapeUnknown, register

DOMAIN = "openvino"


@register(DOMAIN, "Convolution")
def ov_convolution_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=ctx.output_elements(0) * math.prod(ctx.input_shape(1)[1:]))


@register(DOMAIN, "GroupConvolution")
def ov_group_convolution_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=ctx.output_elements(0) * math.prod(ctx.input_shape(1)[2:]))


@register(DOMAIN, "ConvolutionBackpropData")
def ov_convolution_backprop_cost(ctx: CostContext) -> OpCost:
    """Each input element scatters through a C_out x kernel filter."""
    return OpCost(macs=ctx.input_elements(0) * math.prod(ctx.input_shape(1)[1:]))


@register(DOMAIN, "GroupConvolutionBackpropData")
def ov_group_convolution_backprop_cost(ctx: CostContext) -> OpCost:
    return OpCost(macs=ctx.input_elements(0) * math.prod(ctx.input_shape(1)[2:]))


@register(DOMAIN, "MatMul")
def ov_matmul_cost(ctx: CostContext) -> OpCost:
    """Output elements x K; K is A's last dimension, or its second-to-last when transpose_a."""
    a_shape = ctx.input_shape(0)
    if not a_shape:
        raise ShapeUnknown("MatMul input A is a scalar")
    transposed = bool(ctx.attr("transpose_a", False)) and len(a_shape) >= 2
    k = a_shape[-2] if transposed else a_shape[-1]
    return OpCost(macs=ctx.output_elements(0) * k)


register(DOMAIN, "Einsum")(einsum_cost)


@register(DOMAIN, "ScaledDotProductAttention")
def ov_sdpa_cost(ctx: CostContext) -> OpCost:
    """Q [..., S, E], K [..., L, E], V [..., L, Ev]; output [..., S, Ev]."""
    query, key, value = ctx.input_shape(0), ctx.input_shape(1), ctx.input_shape(2)
    batch = math.prod(ctx.output_shape(0)[:-2])
    scores = batch * query[-2] * key[-2]
    return attention_cost(scores, query[-1], value[-1])


RECURRENT_INPUTS = {
    # type name: (kind, W input index, B input index, is a sequence)
    "LSTMSequence": ("LSTM", 4, 6, True),
    "GRUSequence": ("GRU", 3, 5, True),
    "RNNSequence": ("RNN", 3, 5, True),
    "LSTMCell": ("LSTM", 3, 5, False),
    "GRUCell": ("GRU", 2, 4, False),
    "RNNCell": ("RNN", 2, 4, False),
}
"""Sequences: X [batch, seq, input], W [dirs, gates*hidden, input]; cells: X [batch, input],
W [gates*hidden, input]."""


def ov_recurrent_cost(ctx: CostContext) -> OpCost:
    kind, weight_index, bias_index, sequence = RECURRENT_INPUTS[ctx.node.op_type]
    x_shape, weight_shape = ctx.input_shape(0), ctx.input_shape(weight_index)
    steps = x_shape[0] * (x_shape[1] * weight_shape[0] if sequence else 1)
    hidden = int(ctx.attr("hidden_size", 0)) or weight_shape[-2] // GATE_COUNT[kind]
    # opset1 LSTMCell takes peephole weights P as input 6
    peephole = kind == "LSTM" and not sequence and ctx.has_input(6)
    cell_ops = cell_ops_per_unit(kind, ctx.has_input(bias_index), peephole)
    return recurrent_cost(steps, weight_shape, hidden, cell_ops)


register(DOMAIN, *RECURRENT_INPUTS)(ov_recurrent_cost)
