"""Cost functions of every ONNX op family: exact MACs / other FLOPs computed by hand."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.analysis.analyze import analyze
from profiler.analysis.registry import (
    CostContext,
    OpCost,
    ShapeUnknown,
    lookup,
    registered_op_types,
)
from profiler.api import analyze_model
from profiler.model import load_model
from profiler.model.graph import Graph, ModelGraph, Node, TensorInfo
from tests.conftest import ZOO_DIR

Shape = Sequence[int] | None


def node_cost(
    op_type: str,
    inputs: Sequence[Shape | str],
    outputs: Sequence[Shape],
    attrs: dict[str, Any] | None = None,
    domain: str = "",
    constants: dict[int, list[float | int]] | None = None,
) -> OpCost:
    """Cost one hand-built node. An input given as "" is omitted; a shape None is unknown."""
    graph = Graph()
    input_names = []
    for index, shape in enumerate(inputs):
        if shape == "":
            input_names.append("")
            continue
        name = f"in{index}"
        input_names.append(name)
        graph.tensors[name] = TensorInfo(name, "float32", None if shape is None else tuple(shape))
        if constants and index in constants:
            graph.constants[name] = graph.tensors[name]
            graph.constant_values[name] = constants[index]
    output_names = [f"out{i}" for i in range(len(outputs))]
    for name, shape in zip(output_names, outputs, strict=True):
        graph.tensors[name] = TensorInfo(name, "float32", None if shape is None else tuple(shape))
    node = Node("n", op_type, domain, input_names, output_names, dict(attrs or {}))
    graph.nodes.append(node)
    entry = lookup("onnx", node)
    assert entry is not None, f"{domain}:{op_type} is not registered"
    return entry.function(CostContext(node, graph))


def save_model(tmp_path: Path, nodes: list[onnx.NodeProto], inputs: list[onnx.ValueInfoProto],
               outputs: list[onnx.ValueInfoProto], initializers: Sequence[TensorProto] = (),
               opset: int = 17) -> str:
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    path = tmp_path / "model.onnx"
    onnx.save(model, str(path))
    return str(path)


def vi(name: str, shape: Sequence[int] | None) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def const(name: str, values: Sequence[float], dtype: Any = np.float32) -> TensorProto:
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


# --- registration ---------------------------------------------------------------------------

REQUIRED_ONNX_OPS = [
    "Conv", "MatMul", "Gemm", "Einsum",
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear",
    "com.microsoft:QLinearAdd", "com.microsoft:QLinearMul", "com.microsoft:QLinearSigmoid",
    "com.microsoft:QLinearGlobalAveragePool", "com.microsoft:QLinearAveragePool",
    "com.microsoft:QLinearLeakyRelu", "com.microsoft:QLinearConcat",
    "BatchNormalization", "LayerNormalization", "InstanceNormalization", "GroupNormalization",
    "com.microsoft:SkipLayerNormalization", "com.microsoft:SimplifiedLayerNormalization",
    "com.microsoft:SkipSimplifiedLayerNormalization", "RMSNormalization", "LpNormalization",
    "MeanVarianceNormalization",
    "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool",
    "LRN", "RoiAlign",
    "Softmax", "LogSoftmax", "Hardmax",
    "Add", "Sub", "Mul", "Div", "Pow", "Sum", "Mean", "Max", "Min", "Mod", "And", "Or", "Xor",
    "Not", "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Where", "Clip", "Abs",
    "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Erf", "Sin",
    "Cos", "Tan", "IsNaN", "IsInf",
    "Relu", "LeakyRelu", "PRelu", "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Elu", "Selu",
    "Celu", "Gelu", "com.microsoft:Gelu", "com.microsoft:FastGelu", "com.microsoft:BiasGelu",
    "com.microsoft:QuickGelu", "Softplus", "Softsign", "Mish", "Swish", "ThresholdedRelu",
    "Shrink",
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax", "ArgMin",
    "Resize", "Upsample", "CumSum", "TopK",
    "com.microsoft:Attention", "com.microsoft:MultiHeadAttention",
    "com.microsoft:GroupQueryAttention", "Attention", "com.microsoft:GemmFastGelu",
    "com.microsoft:FusedMatMul", "com.microsoft:MatMulNBits", "com.microsoft:MatMulBnb4",
    "com.microsoft:MatMulIntegerToFloat", "com.microsoft:DynamicQuantizeMatMul",
    "LSTM", "GRU", "RNN", "Cast", "CastLike",
]

DATA_MOVEMENT = [
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat", "Split", "Slice",
    "Gather", "GatherElements", "GatherND", "Scatter", "ScatterElements", "ScatterND", "Expand",
    "Tile", "Pad", "Identity", "Dropout", "Shape", "Size", "ConstantOfShape", "Constant",
    "DepthToSpace", "SpaceToDepth", "Compress", "NonZero", "OneHot", "Range", "ReverseSequence",
    "Trilu", "EyeLike",
]


def _entry(key: str) -> Any:
    domain, _, op_type = key.rpartition(":")
    return lookup("onnx", Node("n", op_type, domain))


def test_every_listed_onnx_op_is_registered() -> None:
    missing = [key for key in REQUIRED_ONNX_OPS + DATA_MOVEMENT if _entry(key) is None]
    assert missing == []
    assert all(_entry(key).computes for key in REQUIRED_ONNX_OPS)
    assert not any(_entry(key).computes for key in DATA_MOVEMENT)


def test_control_flow_is_left_to_the_analyzer() -> None:
    assert {"If", "Loop", "Scan"}.isdisjoint(registered_op_types("onnx"))


@pytest.mark.parametrize("op_type", DATA_MOVEMENT)
def test_data_movement_costs_nothing(op_type: str) -> None:
    assert node_cost(op_type, [[2, 3]], [[3, 2]]) == OpCost()


# --- element-wise -----------------------------------------------------------------------------

@pytest.mark.parametrize("op_type", ["Add", "Sub", "Mul", "Div", "Pow", "Mod", "And", "Or",
                                     "Xor", "Equal", "Greater", "Less", "GreaterOrEqual",
                                     "LessOrEqual", "BitShift"])
def test_binary_ops_cost_one_per_broadcast_output_element(op_type: str) -> None:
    assert node_cost(op_type, [[2, 3, 4], [4]], [[2, 3, 4]]).other_flops == 24


def test_binary_op_without_output_shape_broadcasts_its_inputs() -> None:
    assert node_cost("Add", [[2, 1, 4], [3, 1]], [None]).other_flops == 24  # [2, 3, 4]
    with pytest.raises(ShapeUnknown):
        node_cost("Add", [[2, 3], [4]], [None])  # 3 vs 4 does not broadcast


def test_where_counts_one_select_per_output_element() -> None:
    assert node_cost("Where", [[1, 5], [3, 1], [1]], [[3, 5]]).other_flops == 15


@pytest.mark.parametrize("op_type,inputs,expected", [
    ("Sum", 3, 2 * 6), ("Max", 2, 6), ("Min", 4, 3 * 6), ("Mean", 3, (2 + 1) * 6), ("Sum", 1, 0),
])
def test_variadic_ops_fold_n_minus_one_times(op_type: str, inputs: int, expected: int) -> None:
    assert node_cost(op_type, [[2, 3]] * inputs, [[2, 3]]).other_flops == expected


@pytest.mark.parametrize("op_type", ["Abs", "Neg", "Sqrt", "Exp", "Log", "Reciprocal", "Floor",
                                     "Ceil", "Round", "Sign", "Erf", "Sin", "Cos", "Tan", "Asin",
                                     "Atanh", "IsNaN", "IsInf", "Not"])
def test_unary_math_costs_one_per_element(op_type: str) -> None:
    assert node_cost(op_type, [[3, 5]], [[3, 5]]).other_flops == 15


@pytest.mark.parametrize("op_type,domain,per_element", [
    ("Relu", "", 1), ("LeakyRelu", "", 2), ("PRelu", "", 2), ("ThresholdedRelu", "", 1),
    ("Shrink", "", 3), ("Clip", "", 2), ("Sigmoid", "", 4), ("Tanh", "", 1),
    ("HardSigmoid", "", 4), ("HardSwish", "", 5), ("Elu", "", 4), ("Selu", "", 5),
    ("Celu", "", 7), ("Softplus", "", 3), ("Softsign", "", 3), ("Mish", "", 5), ("Swish", "", 6),
    ("Gelu", "com.microsoft", 5), ("QuickGelu", "com.microsoft", 6),
    ("BiasGelu", "com.microsoft", 6), ("Softmax", "", 5), ("LogSoftmax", "", 5),
    ("Hardmax", "", 1), ("Cast", "", 1), ("CastLike", "", 1),
])
def test_activation_costs(op_type: str, domain: str, per_element: int) -> None:
    # 2 x 10 = 20 elements; contrib ops have no inferred output shape, so input 0 is used
    cost = node_cost(op_type, [[2, 10]], [None if domain else [2, 10]], domain=domain)
    assert cost == OpCost(other_flops=20 * per_element)


def test_gelu_forms() -> None:
    assert node_cost("Gelu", [[4, 5]], [[4, 5]]).other_flops == 20 * 5  # erf form
    tanh_form = node_cost("Gelu", [[4, 5]], [[4, 5]], {"approximate": "tanh"})
    assert tanh_form.other_flops == 20 * 9
    fast_with_bias = node_cost("FastGelu", [[4, 5], [5]], [None], domain="com.microsoft")
    assert fast_with_bias.other_flops == 20 * (9 + 1)
    assert node_cost("FastGelu", [[4, 5]], [None], domain="com.microsoft").other_flops == 180


def test_rotary_embedding() -> None:
    cost = node_cost("RotaryEmbedding", [[1, 2, 3, 8], [3, 4], [3, 4]], [[1, 2, 3, 8]])
    assert cost.other_flops == 48 * 3  # x*cos + rotate(x)*sin


def test_cast_is_counted_and_reported_ok(tmp_path: Path) -> None:
    node = helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT16, [2, 8])
    analysis = analyze(load_model(save_model(tmp_path, [node], [vi("x", [2, 8])], [y])))
    layer = analysis.layers[0]
    assert (layer.status, layer.flops, layer.macs) == ("ok", 16, 0)


# --- Einsum -----------------------------------------------------------------------------------

@pytest.mark.parametrize("equation,shapes,macs,other", [
    ("ij,jk->ik", [[2, 3], [3, 4]], 2 * 3 * 4, 0),
    ("bhqd,bhkd->bhqk", [[2, 4, 5, 8], [2, 4, 6, 8]], 2 * 4 * 5 * 6 * 8, 0),
    ("...ij,...jk", [[7, 2, 3], [3, 4]], 7 * 2 * 3 * 4, 0),  # implicit output, broadcast
    ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 5]], 2 * 3 * 4 + 2 * 4 * 5, 0),
    ("ij,ij->ij", [[3, 4], [3, 4]], 0, 12),  # Hadamard product: multiplies only
    ("ij->i", [[3, 4]], 0, 12),  # a reduction adds every input element
    ("ij->ji", [[3, 4]], 0, 0),  # a transposition computes nothing
    ("ii->", [[3, 3]], 0, 3),  # trace
])
def test_einsum(equation: str, shapes: list[list[int]], macs: int, other: int) -> None:
    cost = node_cost("Einsum", shapes, [None], {"equation": equation})
    assert (cost.macs, cost.other_flops) == (macs, other)


def test_einsum_through_the_loader(tmp_path: Path) -> None:
    node = helper.make_node("Einsum", ["a", "b"], ["y"], equation="bij,bjk->bik")
    path = save_model(tmp_path, [node], [vi("a", [2, 3, 5]), vi("b", [2, 5, 4])],
                      [vi("y", None)])
    assert analyze(load_model(path)).totals.macs == 2 * 3 * 5 * 4


# --- quantisation -----------------------------------------------------------------------------

def test_quantize_dequantize() -> None:
    assert node_cost("QuantizeLinear", [[2, 8], [], []], [[2, 8]]).other_flops == 16 * 4
    assert node_cost("DequantizeLinear", [[2, 8], [], []], [[2, 8]]).other_flops == 16 * 2
    dynamic = node_cost("DynamicQuantizeLinear", [[2, 8]], [[2, 8], [], []])
    assert dynamic.other_flops == 16 * 6  # min, max, then quantise


def test_qlinear_elementwise() -> None:
    scalar: list[int] = []
    add_inputs = [[2, 3, 4], scalar, scalar, [4], scalar, scalar, scalar, scalar]
    # dequantise A and B (2 + 2), add (1), quantise (4) per output element
    assert node_cost("QLinearAdd", add_inputs, [None], domain="com.microsoft").other_flops == 24 * 9
    unary_inputs = [[3, 4], scalar, scalar, scalar, scalar]
    sigmoid = node_cost("QLinearSigmoid", unary_inputs, [None], domain="com.microsoft")
    assert sigmoid.other_flops == 12 * (2 + 4 + 4)
    leaky = node_cost("QLinearLeakyRelu", unary_inputs, [None], domain="com.microsoft")
    assert leaky.other_flops == 12 * (2 + 2 + 4)


def test_qlinear_pools_and_concat() -> None:
    scalar: list[int] = []
    gap = node_cost("QLinearGlobalAveragePool", [[1, 4, 3, 3], scalar, scalar, scalar, scalar],
                    [None], domain="com.microsoft")
    assert gap.other_flops == 36 * (2 + 1) + 4 * 4
    avg = node_cost("QLinearAveragePool", [[1, 2, 4, 4], scalar, scalar, scalar, scalar], [None],
                    {"kernel_shape": [2, 2], "strides": [2, 2]}, domain="com.microsoft")
    assert avg.other_flops == 32 * 2 + 8 * 4 + 8 * 4  # dequantise in, pool, quantise out
    concat = node_cost("QLinearConcat", [scalar, scalar, [1, 2, 3], scalar, scalar, [1, 4, 3],
                                         scalar, scalar], [None], domain="com.microsoft")
    assert concat.other_flops == 18 * (2 + 4)


@pytest.mark.parametrize("attrs,outputs", [
    ({"auto_pad": "SAME_UPPER"}, 2 * 3 * 3),  # ceil(5 / 2) = 3 per axis
    ({"ceil_mode": 1}, 2 * 3 * 3),  # ceil((5 - 2) / 2) + 1 = 3
    ({}, 2 * 2 * 2),  # floor((5 - 2) / 2) + 1 = 2
])
def test_qlinear_average_pool_output_size_from_attributes(attrs: dict[str, Any],
                                                          outputs: int) -> None:
    scalar: list[int] = []
    pool_attrs = {"kernel_shape": [2, 2], "strides": [2, 2], **attrs}
    cost = node_cost("QLinearAveragePool", [[1, 2, 5, 5], scalar, scalar, scalar, scalar],
                     [None], pool_attrs, domain="com.microsoft")
    assert cost.other_flops == 50 * 2 + outputs * 4 + outputs * 4


# --- normalisation ----------------------------------------------------------------------------

@pytest.mark.parametrize("op_type,domain,inputs,per_element", [
    ("BatchNormalization", "", [[2, 3, 4, 4], [3], [3], [3], [3]], 2),
    ("LayerNormalization", "", [[2, 3, 4, 4], [4], [4]], 7),
    ("LayerNormalization", "", [[2, 3, 4, 4], [4]], 6),
    ("InstanceNormalization", "", [[2, 3, 4, 4], [3], [3]], 7),
    ("GroupNormalization", "", [[2, 3, 4, 4], [3], [3]], 7),
    ("MeanVarianceNormalization", "", [[2, 3, 4, 4]], 5),
    ("RMSNormalization", "", [[2, 3, 4, 4], [4]], 4),
    ("SimplifiedLayerNormalization", "com.microsoft", [[2, 3, 4, 4], [4]], 4),
    ("SkipLayerNormalization", "com.microsoft", [[2, 3, 4, 4], [2, 3, 4, 4], [4], [4], [4]], 9),
    ("SkipLayerNormalization", "com.microsoft", [[2, 3, 4, 4], [2, 3, 4, 4], [4]], 7),
    ("SkipSimplifiedLayerNormalization", "com.microsoft",
     [[2, 3, 4, 4], [2, 3, 4, 4], [4], [4]], 6),
    ("LpNormalization", "", [[2, 3, 4, 4]], 3),
])
def test_normalizations(op_type: str, domain: str, inputs: list[list[int]],
                        per_element: int) -> None:
    out = [None] if domain else [[2, 3, 4, 4]]
    assert node_cost(op_type, inputs, out, domain=domain).other_flops == 96 * per_element


def test_lrn_uses_its_size() -> None:
    cost = node_cost("LRN", [[1, 8, 4, 4]], [[1, 8, 4, 4]], {"size": 5})
    assert cost.other_flops == 128 * (2 * 5 + 4)


# --- pooling and resampling -------------------------------------------------------------------

@pytest.mark.parametrize("op_type,expected", [
    ("MaxPool", 32 * 9), ("AveragePool", 32 * 9), ("LpPool", 32 * 9 * 2),
])
def test_pools_cost_output_times_kernel(op_type: str, expected: int) -> None:
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]}
    cost = node_cost(op_type, [[1, 2, 8, 8]], [[1, 2, 4, 4]], attrs)
    assert cost == OpCost(other_flops=expected)


@pytest.mark.parametrize("op_type,expected", [
    ("GlobalAveragePool", 128), ("GlobalMaxPool", 128), ("GlobalLpPool", 256),
])
def test_global_pools_cost_their_input(op_type: str, expected: int) -> None:
    assert node_cost(op_type, [[1, 2, 8, 8]], [[1, 2, 1, 1]]).other_flops == expected


def test_maxpool_through_the_loader(tmp_path: Path) -> None:
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], strides=[2, 2])
    path = save_model(tmp_path, [node], [vi("x", [1, 3, 8, 8])], [vi("y", None)])
    layer = analyze(load_model(path)).layers[0]
    assert (layer.status, layer.macs, layer.flops) == ("ok", 0, 48 * 4)


@pytest.mark.parametrize("mode,expected", [
    ("nearest", 0), ("linear", 128 * 2 * 4), ("cubic", 128 * 2 * 16),
])
def test_resize_interpolation(mode: str, expected: int) -> None:
    # H and W doubled: k = 2 interpolated axes; 1x2x8x8 = 128 output elements
    cost = node_cost("Resize", [[1, 2, 4, 4], "", [4]], [[1, 2, 8, 8]], {"mode": mode})
    assert cost.other_flops == expected


def test_resize_through_the_loader(tmp_path: Path) -> None:
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")
    scales = const("scales", [1.0, 1.0, 2.0, 1.0])
    path = save_model(tmp_path, [node], [vi("x", [1, 2, 3, 4])], [vi("y", None)], [scales])
    assert analyze(load_model(path)).totals.flops == 48 * 2 * 2  # one axis resized


def test_roi_align_samples() -> None:
    shapes: list[Shape | str] = [[1, 4, 16, 16], [3, 4], [3]]
    adaptive = node_cost("RoiAlign", shapes, [[3, 4, 2, 2]])
    assert adaptive.other_flops == 48 * 9 * 4 and "assumed" in adaptive.note
    fixed = node_cost("RoiAlign", shapes, [[3, 4, 2, 2]], {"sampling_ratio": 3})
    assert fixed.other_flops == 48 * 9 * 9


# --- reductions, CumSum, TopK -----------------------------------------------------------------

@pytest.mark.parametrize("op_type,expected", [
    ("ReduceSum", 24), ("ReduceMean", 24 + 8), ("ReduceMax", 24), ("ReduceMin", 24),
    ("ReduceProd", 24), ("ReduceL1", 48), ("ReduceL2", 48 + 8), ("ReduceSumSquare", 48),
    ("ReduceLogSum", 24 + 8), ("ReduceLogSumExp", 48 + 8), ("ArgMax", 24), ("ArgMin", 24),
])
def test_reductions_cost_their_input(op_type: str, expected: int) -> None:
    cost = node_cost(op_type, [[2, 3, 4], [1]], [[2, 1, 4]], constants={1: [1]})
    assert cost.other_flops == expected


def test_reduction_noop_with_empty_axes() -> None:
    cost = node_cost("ReduceSum", [[2, 3]], [[2, 3]], {"noop_with_empty_axes": 1})
    assert cost.other_flops == 0


def test_cumsum_and_topk() -> None:
    assert node_cost("CumSum", [[3, 4], []], [[3, 4]]).other_flops == 12
    top3 = node_cost("TopK", [[2, 10], [1]], [[2, 3], [2, 3]], {"axis": -1})
    assert top3.other_flops == 20 * 2  # n x ceil(log2 3)
    top1 = node_cost("TopK", [[2, 10], [1]], [[2, 1], [2, 1]])
    assert top1.other_flops == 20


# --- recurrent --------------------------------------------------------------------------------

def test_lstm_forward_with_bias() -> None:
    # seq 5, batch 2, input 3, hidden 4: gates (3 + 4) x 16 per step and batch row
    cost = node_cost("LSTM", [[5, 2, 3], [1, 16, 3], [1, 16, 4], [1, 32]],
                     [[5, 1, 2, 4]], {"hidden_size": 4})
    assert cost.macs == 5 * 2 * 16 * 7
    # per unit: 4 gates x (sum + bias) + 3 sigmoids x 4 + 2 tanh + 4 state ops = 26
    assert cost.other_flops == 5 * 2 * 4 * 26


def test_lstm_bidirectional_batch_first_without_bias() -> None:
    cost = node_cost("LSTM", [[2, 5, 3], [2, 16, 3], [2, 16, 4]], [None],
                     {"hidden_size": 4, "layout": 1, "direction": "bidirectional"})
    assert cost.macs == 5 * 2 * 2 * 16 * 7
    assert cost.other_flops == 5 * 2 * 2 * 4 * (4 + 12 + 2 + 4)


def test_gru_and_rnn() -> None:
    gru = node_cost("GRU", [[5, 2, 3], [1, 12, 3], [1, 12, 4], [1, 24]], [None],
                    {"hidden_size": 4})
    # per unit: 3 x (sum + bias) + 2 sigmoids x 4 + tanh + 5 state ops = 20
    assert (gru.macs, gru.other_flops) == (5 * 2 * 12 * 7, 5 * 2 * 4 * 20)
    rnn = node_cost("RNN", [[5, 2, 3], [1, 4, 3], [1, 4, 4], [1, 8]], [None])
    assert (rnn.macs, rnn.other_flops) == (5 * 2 * 4 * 7, 5 * 2 * 4 * 3)


def test_lstm_through_the_loader(tmp_path: Path) -> None:
    weights = [numpy_helper.from_array(np.zeros(dims, np.float32), name)
               for name, dims in (("W", (1, 16, 3)), ("R", (1, 16, 4)), ("B", (1, 32)))]
    node = helper.make_node("LSTM", ["x", "W", "R", "B"], ["y"], hidden_size=4)
    path = save_model(tmp_path, [node], [vi("x", [5, 2, 3])], [vi("y", None)], weights)
    analysis = analyze(load_model(path))
    assert (analysis.totals.macs, analysis.totals.flops) == (1120, 2 * 1120 + 1040)


# --- attention --------------------------------------------------------------------------------

def test_contrib_attention_counts_projection_and_products() -> None:
    cost = node_cost("Attention", [[2, 5, 16], [16, 48], [48]], [None], {"num_heads": 4},
                     domain="com.microsoft")
    projection, qk, av = 2 * 5 * 16 * 48, 2 * 5 * 5 * 16, 2 * 5 * 5 * 16
    assert cost.macs == projection + qk + av
    assert cost.other_flops == 2 * 5 * 48 + (2 * 4 * 5 * 5) * 6  # bias adds, scaled softmax


def test_contrib_attention_with_past() -> None:
    cost = node_cost("Attention", [[2, 5, 16], [16, 48], "", "", [2, 2, 4, 3, 4]], [None],
                     {"num_heads": 4}, domain="com.microsoft")
    assert cost.macs == 2 * 5 * 16 * 48 + 2 * (2 * 5 * 8 * 16)  # key length 5 + 3
    assert cost.other_flops == 2 * 4 * 5 * 8 * 6


def test_multi_head_attention() -> None:
    cost = node_cost("MultiHeadAttention", [[2, 5, 16], [2, 7, 16], [2, 7, 8]], [None],
                     {"num_heads": 4}, domain="com.microsoft")
    assert cost.macs == 2 * 5 * 7 * 16 + 2 * 5 * 7 * 8
    assert cost.other_flops == 2 * 4 * 5 * 7 * 6


def test_group_query_attention() -> None:
    inputs: list[Shape | str] = [[1, 3, 32], [1, 3, 16], [1, 3, 16], [1, 2, 5, 8], [1, 2, 5, 8],
                                 [1], []]
    attrs = {"num_heads": 4, "kv_num_heads": 2}
    cost = node_cost("GroupQueryAttention", inputs, [None], attrs, "com.microsoft", {6: [8]})
    scores = 1 * 4 * 3 * 8  # 4 query heads x 3 queries x 8 keys (5 past + 3 new)
    assert cost == OpCost(macs=scores * (8 + 8), other_flops=scores * 6)
    without_total = node_cost("GroupQueryAttention", inputs[:5], [None], attrs, "com.microsoft")
    assert without_total == cost


@pytest.mark.parametrize("inputs,attrs", [
    ([[2, 4, 5, 8], [2, 2, 7, 8], [2, 2, 7, 6]], {}),
    ([[2, 5, 32], [2, 7, 16], [2, 7, 12]], {"q_num_heads": 4, "kv_num_heads": 2}),
])
def test_onnx_attention(inputs: list[Shape | str], attrs: dict[str, int]) -> None:
    cost = node_cost("Attention", inputs, [None], attrs)
    scores = 2 * 4 * 5 * 7
    assert cost == OpCost(macs=scores * (8 + 6), other_flops=scores * 6)


def test_gemm_fast_gelu() -> None:
    cost = node_cost("GemmFastGelu", [[2, 3, 8], [8, 16], [16]], [None], domain="com.microsoft")
    assert cost == OpCost(macs=96 * 8, other_flops=96 * (9 + 1))


@pytest.mark.parametrize("op_type,inputs,attrs,macs,other", [
    ("FusedMatMul", [[2, 3, 8], [8, 5]], {}, 2 * 3 * 5 * 8, 0),
    ("FusedMatMul", [[4, 8, 3], [4, 5, 8]], {"transA": 1, "transB": 1, "alpha": 0.5},
     4 * 3 * 5 * 8, 4 * 3 * 5),  # + the alpha scale per output
    ("MatMulNBits", [[2, 3, 8], [16, 1, 4], [16]], {"K": 8, "N": 16}, 2 * 3 * 16 * 8, 0),
    ("MatMulIntegerToFloat", [[3, 8], [8, 5], [], [1]], {}, 3 * 5 * 8, 0),
])
def test_contrib_matmuls_without_output_shape(op_type: str, inputs: list[Shape | str],
                                              attrs: dict[str, Any], macs: int,
                                              other: int) -> None:
    cost = node_cost(op_type, inputs, [None], attrs, domain="com.microsoft")
    assert cost == OpCost(macs=macs, other_flops=other)


# --- analyzer integration ---------------------------------------------------------------------

def _model(graph: Graph) -> ModelGraph:
    return ModelGraph(path="mem.onnx", format="onnx", graph=graph)


def test_unknown_shape_is_reported_not_zero() -> None:
    graph = Graph(tensors={"x": TensorInfo("x", "float32", ("n", 4))})
    graph.nodes.append(Node("relu", "Relu", inputs=["x"], outputs=["y"]))
    analysis = analyze(_model(graph))
    assert analysis.layers[0].status == "shape_unknown"
    assert analysis.unknown_shape_nodes == ["relu"]


def test_data_dependent_ops_are_reported_unsupported() -> None:
    graph = Graph(tensors={"x": TensorInfo("x", "float32", (1, 4, 8, 8))})
    graph.nodes.append(Node("roi", "MaxRoiPool", inputs=["x", "r"], outputs=["y"]))
    graph.nodes.append(Node("nms", "NonMaxSuppression", inputs=["b", "s"], outputs=["i"]))
    assert analyze(_model(graph)).unsupported_ops == {"MaxRoiPool": 1, "NonMaxSuppression": 1}


def test_resnet50_is_fully_supported() -> None:
    report = analyze_model(str(ZOO_DIR / "light_resnet50.onnx"))
    assert report.analysis is not None
    totals = report.analysis.totals
    assert report.analysis.unsupported_ops == {}
    assert report.analysis.unknown_shape_nodes == []
    assert totals.flops > 2 * totals.macs
