"""ONNX recurrent layers: LSTM, GRU, RNN.

Per time step, per direction, per batch row the gates multiply [x_t, h_{t-1}] by W and R:
(input_size + hidden_size) x gate_count x hidden_size MACs (gate_count = 4 / 3 / 1, which is
W's second dimension over hidden_size). Totals are that x seq_len x num_directions x batch.
The cell's element-wise work per hidden unit is ``cell_ops_per_unit`` (default activations;
a custom ``activations`` attribute is not re-costed).
"""

from __future__ import annotations

from profiler.analysis.ops.common import SIGMOID_OPS_PER_ELEMENT, TANH_OPS_PER_ELEMENT
from profiler.analysis.registry import CostContext, OpCost, ShapeUnknown, register

GATE_SUM_OPS = 1  # W x_t + R h_{t-1}, per gate element
GATE_BIAS_OPS = 1  # + bias per gate element (runtimes pre-add ONNX's Wb and Rb into one)
LSTM_STATE_OPS = 4  # c = f*c + i*g (2 multiplies, 1 add); h = o * tanh(c) (1 multiply)
LSTM_PEEPHOLE_OPS = 6  # P_i*c, P_f*c, P_o*c multiplies and their 3 adds into the gates
GRU_STATE_OPS = 5  # r (.) h, then h = (1 - z) * h~ + z * h: subtract, 2 multiplies, add

GATE_COUNT = {"LSTM": 4, "GRU": 3, "RNN": 1}


def cell_ops_per_unit(kind: str, has_bias: bool, has_peephole: bool = False) -> int:
    """Element-wise operations of one cell step per hidden unit."""
    gates = GATE_COUNT[kind] * (GATE_SUM_OPS + (GATE_BIAS_OPS if has_bias else 0))
    if kind == "LSTM":
        # sigmoid on i, f, o; tanh on g and on the new cell state
        activations = 3 * SIGMOID_OPS_PER_ELEMENT + 2 * TANH_OPS_PER_ELEMENT
        return gates + activations + LSTM_STATE_OPS + (LSTM_PEEPHOLE_OPS if has_peephole else 0)
    if kind == "GRU":
        # sigmoid on z, r; tanh on the candidate state
        activations = 2 * SIGMOID_OPS_PER_ELEMENT + TANH_OPS_PER_ELEMENT
        return gates + activations + GRU_STATE_OPS
    return gates + TANH_OPS_PER_ELEMENT


def recurrent_cost(
    steps: int, weight_shape: tuple[int, ...], hidden_size: int, cell_ops: int
) -> OpCost:
    """``steps`` = seq_len x directions x batch; ``weight_shape`` ends [gates*hidden, input]."""
    gates_x_hidden, input_size = weight_shape[-2], weight_shape[-1]
    macs = steps * gates_x_hidden * (input_size + hidden_size)
    return OpCost(macs=macs, other_flops=steps * hidden_size * cell_ops)


def _hidden_size(ctx: CostContext, recurrence_index: int) -> int:
    hidden = ctx.attr("hidden_size")
    if hidden:
        return int(hidden)
    return ctx.input_shape(recurrence_index)[-1]


def _onnx_recurrent(ctx: CostContext, kind: str) -> OpCost:
    """Inputs X, W, R, B?, sequence_lens?, initial_h?, (LSTM: initial_c?, P?)."""
    x_shape, weight_shape = ctx.input_shape(0), ctx.input_shape(1)
    if len(x_shape) != 3 or len(weight_shape) != 3:
        raise ShapeUnknown(f"{kind} needs X of rank 3 and W of rank 3")
    seq_len, batch = (x_shape[1], x_shape[0]) if ctx.attr("layout", 0) else x_shape[:2]
    directions = weight_shape[0]
    peephole = kind == "LSTM" and ctx.has_input(7)
    cell_ops = cell_ops_per_unit(kind, ctx.has_input(3), peephole)
    return recurrent_cost(seq_len * directions * batch, weight_shape, _hidden_size(ctx, 2),
                          cell_ops)


@register("onnx", "LSTM")
def lstm_cost(ctx: CostContext) -> OpCost:
    return _onnx_recurrent(ctx, "LSTM")


@register("onnx", "GRU")
def gru_cost(ctx: CostContext) -> OpCost:
    return _onnx_recurrent(ctx, "GRU")


@register("onnx", "RNN")
def rnn_cost(ctx: CostContext) -> OpCost:
    return _onnx_recurrent(ctx, "RNN")


@register("onnx", "com.microsoft:DynamicQuantizeLSTM")
def dynamic_quantize_lstm_cost(ctx: CostContext) -> OpCost:
    """ONNX Runtime's int8 LSTM: as LSTM, but W and R are stored [dirs, in, 4*hidden]."""
    x_shape, weight_shape = ctx.input_shape(0), ctx.input_shape(1)
    if len(x_shape) != 3 or len(weight_shape) != 3:
        raise ShapeUnknown("DynamicQuantizeLSTM needs X of rank 3 and W of rank 3")
    directions, input_size, gates_x_hidden = weight_shape
    steps = x_shape[0] * directions * x_shape[1]
    cell_ops = cell_ops_per_unit("LSTM", ctx.has_input(3), ctx.has_input(7))
    return recurrent_cost(steps, (directions, gates_x_hidden, input_size),
                          int(ctx.attr("hidden_size") or gates_x_hidden // 4), cell_ops)
