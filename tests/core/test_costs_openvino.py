"""Cost functions of the OpenVINO opset (IR / TFLite models): exact costs computed by hand.

Real ``ov.Model`` graphs are built with ``openvino.opset13``; nodes are copied into the
format-neutral Graph with ``op_type = get_type_name()`` and ``attributes = get_attributes()``
(the contract the OpenVINO loader follows), so the names and attribute keys the cost
functions read are proven against the runtime, not assumed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from profiler.analysis.analyze import analyze
from profiler.analysis.registry import CostContext, OpCost, lookup, registered_op_types
from profiler.model.graph import Graph, ModelGraph, Node, TensorInfo
from profiler.records.analysis import LayerCost

F32 = np.float32


def const(shape: tuple[int, ...]) -> Any:
    return ops.constant(np.ones(shape, F32))


def ints(*values: int) -> Any:
    return ops.constant(np.array(values, np.int64))


def to_graph(model: ov.Model) -> Graph:
    """Copy ``model`` node by node: type name, attributes, shapes; Constants become constants."""
    graph = Graph()
    for op in model.get_ordered_ops():
        name = op.get_friendly_name()
        outputs = [f"{name}:{output.get_index()}" for output in op.outputs()]
        for tensor, output in zip(outputs, op.outputs(), strict=True):
            shape = tuple(int(d) for d in output.get_partial_shape().to_shape())
            graph.tensors[tensor] = TensorInfo(tensor, "float32", shape)
        if op.get_type_name() == "Constant":
            graph.constants[outputs[0]] = graph.tensors[outputs[0]]
            values = np.asarray(op.get_data()).reshape(-1)
            if values.size <= 64:  # shape vectors and axes keep their values
                graph.constant_values[outputs[0]] = values.tolist()
        sources = [port.get_source_output() for port in op.inputs()]
        inputs = [f"{s.get_node().get_friendly_name()}:{s.get_index()}" for s in sources]
        graph.nodes.append(Node(name, op.get_type_name(), "openvino", inputs, outputs,
                                dict(op.get_attributes())))
    return graph


def parameters_of(node: Any) -> list[Any]:
    """Every Parameter ``node`` depends on."""
    found: dict[str, Any] = {}
    stack, seen = [node], set()
    while stack:
        current = stack.pop()
        if current.get_name() in seen:
            continue
        seen.add(current.get_name())
        if current.get_type_name() == "Parameter":
            found[current.get_name()] = current
        stack.extend(port.get_source_output().get_node() for port in current.inputs())
    return list(found.values())


def analyze_ov(node: Any) -> list[LayerCost]:
    """Layers of the model that computes ``node``'s first output."""
    model = ov.Model([node.output(0)], parameters_of(node))
    graph = to_graph(model)
    return analyze(ModelGraph(path="model.xml", format="openvino-ir", graph=graph)).layers


def layer_of(layers: list[LayerCost], op_type: str) -> LayerCost:
    matches = [layer for layer in layers if layer.op_type == op_type]
    assert len(matches) == 1, f"expected one {op_type} layer, got {len(matches)}"
    return matches[0]


# --- the loader contract ----------------------------------------------------------------------

def _small_cnn() -> tuple[ov.Model, dict[str, Any]]:
    x = ops.parameter([1, 4, 8, 8], F32, name="x")
    conv = ops.convolution(x, const((6, 4, 3, 3)), [1, 1], [1, 1], [1, 1], [1, 1])
    add = ops.add(conv, const((1, 6, 1, 1)))
    relu = ops.relu(add)
    group = ops.group_convolution(relu, const((2, 3, 3, 3, 3)), [1, 1], [1, 1], [1, 1], [1, 1])
    pool = ops.max_pool(group, [2, 2], [1, 1], [0, 0], [0, 0], [2, 2])
    flat = ops.reshape(pool.output(0), ints(1, 96), False)
    matmul = ops.matmul(flat, const((10, 96)), False, True)
    softmax = ops.softmax(matmul, 1)
    nodes = {"Convolution": conv, "GroupConvolution": group, "MatMul": matmul,
             "Add": add, "Relu": relu, "MaxPool": pool, "Softmax": softmax}
    return ov.Model([softmax], [x]), nodes


def test_type_names_and_attribute_keys_match_what_costs_read() -> None:
    _, nodes = _small_cnn()
    for type_name, node in nodes.items():
        assert node.get_type_name() == type_name
        assert lookup("openvino", Node("n", type_name, "openvino")) is not None
    conv_keys = {"strides", "dilations", "pads_begin", "pads_end", "auto_pad"}
    assert conv_keys <= set(nodes["Convolution"].get_attributes())
    assert conv_keys <= set(nodes["GroupConvolution"].get_attributes())
    assert nodes["MatMul"].get_attributes() == {"transpose_a": False, "transpose_b": True}
    assert list(nodes["MaxPool"].get_attributes()["kernel"]) == [2, 2]
    assert nodes["Softmax"].get_attributes()["axis"] == 1


def test_small_cnn_costs() -> None:
    model, _ = _small_cnn()
    layers = analyze(ModelGraph(path="m.xml", format="openvino-ir", graph=to_graph(model))).layers
    # 1x6x8x8 = 384 outputs; conv: x (C_in 4 x 3x3); group conv: x (C_in/G 3 x 3x3)
    assert layer_of(layers, "Convolution").macs == 384 * 36
    assert layer_of(layers, "GroupConvolution").macs == 384 * 27
    assert layer_of(layers, "MatMul").macs == 10 * 96  # transpose_b: W is [N=10, K=96]
    assert layer_of(layers, "Add").flops == 384
    assert layer_of(layers, "Relu").flops == 384
    assert layer_of(layers, "MaxPool").flops == 96 * 4
    assert layer_of(layers, "Softmax").flops == 10 * 5
    assert layer_of(layers, "Reshape").status == "no_compute"
    assert all(layer.status in ("ok", "no_compute") for layer in layers)


# --- per-family costs on real OpenVINO nodes --------------------------------------------------

def _x() -> Any:
    return ops.parameter([1, 4, 8, 8], F32)  # 256 elements


def _recurrent_inputs() -> tuple[Any, ...]:
    x, h = ops.parameter([2, 5, 3], F32), ops.parameter([2, 1, 4], F32)
    return x, h, ops.parameter([2, 1, 4], F32), ops.constant(np.array([5, 5], np.int32))


def _lstm_sequence() -> Any:
    x, h, c, lengths = _recurrent_inputs()
    return ops.lstm_sequence(x, h, c, lengths, const((1, 16, 3)), const((1, 16, 4)),
                             const((1, 16)), 4, "forward")


def _gru_sequence() -> Any:
    x, h, _, lengths = _recurrent_inputs()
    return ops.gru_sequence(x, h, lengths, const((1, 12, 3)), const((1, 12, 4)), const((1, 12)),
                            4, "forward")


def _rnn_sequence() -> Any:
    x, h, _, lengths = _recurrent_inputs()
    return ops.rnn_sequence(x, h, lengths, const((1, 4, 3)), const((1, 4, 4)), const((1, 4)),
                            4, "forward")


def _lstm_cell() -> Any:
    x, h, c = (ops.parameter(s, F32) for s in ([2, 3], [2, 4], [2, 4]))
    return ops.lstm_cell(x, h, c, const((16, 3)), const((16, 4)), const((16,)), 4)


def _gru_cell() -> Any:
    x, h = ops.parameter([2, 3], F32), ops.parameter([2, 4], F32)
    return ops.gru_cell(x, h, const((12, 3)), const((12, 4)), const((12,)), 4)


def _sdpa() -> Any:
    q, k, v = (ops.parameter(s, F32) for s in ([1, 2, 5, 8], [1, 2, 7, 8], [1, 2, 7, 6]))
    return ops.scaled_dot_product_attention(q, k, v, causal=False)


CASES: dict[str, tuple[Callable[[], Any], int, int]] = {
    # name: (builder, MACs, other FLOPs)
    "ConvolutionBackpropData": (lambda: ops.convolution_backprop_data(
        _x(), const((4, 6, 3, 3)), [2, 2], [0, 0], [0, 0], [1, 1]), 256 * 6 * 9, 0),
    "GroupConvolutionBackpropData": (lambda: ops.group_convolution_backprop_data(
        _x(), const((2, 2, 3, 3, 3)), [2, 2], [0, 0], [0, 0], [1, 1]), 256 * 3 * 9, 0),
    "MatMul transpose_a": (lambda: ops.matmul(
        ops.parameter([1, 5, 3], F32), const((5, 4)), True, False), 12 * 5, 0),
    "Einsum": (lambda: ops.einsum(
        [ops.parameter([2, 3], F32), ops.parameter([3, 4], F32)], "ij,jk->ik"), 24, 0),
    "ScaledDotProductAttention": (_sdpa, 70 * (8 + 6), 70 * 6),
    "LSTMSequence": (_lstm_sequence, 10 * 16 * 7, 10 * 4 * 26),
    "GRUSequence": (_gru_sequence, 10 * 12 * 7, 10 * 4 * 20),
    "RNNSequence": (_rnn_sequence, 10 * 4 * 7, 10 * 4 * 3),
    "LSTMCell": (_lstm_cell, 2 * 16 * 7, 2 * 4 * 26),
    "GRUCell": (_gru_cell, 2 * 12 * 7, 2 * 4 * 20),
    "Gelu tanh": (lambda: ops.gelu(_x(), "tanh"), 0, 256 * 9),
    "Gelu erf": (lambda: ops.gelu(_x(), "erf"), 0, 256 * 5),
    "MVN": (lambda: ops.mvn(_x(), ints(2, 3), True, 1e-5, "inside_sqrt"), 0, 256 * 5),
    "MVN no variance": (lambda: ops.mvn(_x(), ints(2, 3), False, 1e-5, "inside_sqrt"),
                        0, 256 * 2),
    "NormalizeL2": (lambda: ops.normalize_l2(_x(), ints(1), 1e-5, "add"), 0, 256 * 3),
    "BatchNormInference": (lambda: ops.batch_norm_inference(
        _x(), *[const((4,))] * 4, 1e-5), 0, 256 * 2),
    "LRN": (lambda: ops.lrn(_x(), ints(1), 1e-4, 0.75, 1.0, 5), 0, 256 * (2 * 5 + 4)),
    "AvgPool": (lambda: ops.avg_pool(_x(), [2, 2], [0, 0], [0, 0], [2, 2], True), 0, 64 * 4),
    "AdaptiveAvgPool": (lambda: ops.adaptive_avg_pool(_x(), ints(2, 2)), 0, 16 * 16),
    "ReduceMean": (lambda: ops.reduce_mean(_x(), ints(2, 3), True), 0, 256 + 4),
    "ReduceSum": (lambda: ops.reduce_sum(_x(), ints(1), False), 0, 256),
    "Interpolate linear": (lambda: ops.interpolate(
        _x(), ints(16, 16), "linear", "sizes", axes=ints(2, 3)), 0, 1024 * 2 * 4),
    "Interpolate nearest": (lambda: ops.interpolate(
        _x(), ints(16, 16), "nearest", "sizes", axes=ints(2, 3)), 0, 0),
    "TopK": (lambda: ops.topk(_x(), ops.constant(np.int64(3)), 1, "max", "value"), 0, 256 * 2),
    "FakeQuantize": (lambda: ops.fake_quantize(
        _x(), *[ops.constant(F32(v)) for v in (0, 1, 0, 1)], 256), 0, 256 * 7),
    "Convert": (lambda: ops.convert(_x(), "f16"), 0, 256),
    "Select": (lambda: ops.select(ops.parameter([1, 4, 8, 8], np.bool_), _x(), _x()), 0, 256),
    "SquaredDifference": (lambda: ops.squared_difference(_x(), _x()), 0, 512),
    "Multiply broadcast": (lambda: ops.multiply(_x(), const((1, 4, 1, 1))), 0, 256),
    "Clamp": (lambda: ops.clamp(_x(), 0.0, 6.0), 0, 256 * 2),
    "Sigmoid": (lambda: ops.sigmoid(_x()), 0, 256 * 4),
    "HSwish": (lambda: ops.hswish(_x()), 0, 256 * 5),
    "HSigmoid": (lambda: ops.hsigmoid(_x()), 0, 256 * 4),
    "Swish": (lambda: ops.swish(_x()), 0, 256 * 6),
    "Mish": (lambda: ops.mish(_x()), 0, 256 * 5),
    "SoftPlus": (lambda: ops.softplus(_x()), 0, 256 * 3),
    "PRelu": (lambda: ops.prelu(_x(), const((4,))), 0, 256 * 2),
    "Elu": (lambda: ops.elu(_x(), 1.0), 0, 256 * 4),
    "Tanh": (lambda: ops.tanh(_x()), 0, 256),
    "Exp": (lambda: ops.exp(_x()), 0, 256),
    "Negative": (lambda: ops.negative(_x()), 0, 256),
    "LogSoftmax": (lambda: ops.log_softmax(_x(), 1), 0, 256 * 5),
    "CumSum": (lambda: ops.cumsum(_x(), ops.constant(np.int64(1))), 0, 256),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_openvino_family_costs(case: str) -> None:
    builder, macs, other = CASES[case]
    node = builder()
    layer = layer_of(analyze_ov(node), node.get_type_name())
    assert layer.status == "ok", layer.note
    assert (layer.macs, layer.flops - 2 * layer.macs) == (macs, other)


@pytest.mark.parametrize("builder", [
    lambda: ops.transpose(_x(), ints(0, 2, 3, 1)),
    lambda: ops.concat([_x(), _x()], 1),
    lambda: ops.strided_slice(_x(), ints(0, 0), ints(1, 2), ints(1, 1), [0, 0], [0, 0]),
    lambda: ops.variadic_split(_x(), ops.constant(np.int64(1)), ints(1, 3)),
    lambda: ops.gather(_x(), ints(0, 2), ops.constant(np.int64(1))),
    lambda: ops.broadcast(_x(), ints(2, 4, 8, 8)),
    lambda: ops.shape_of(_x()),
])
def test_openvino_data_movement(builder: Callable[[], Any]) -> None:
    node = builder()
    layer = layer_of(analyze_ov(node), node.get_type_name())
    assert (layer.status, layer.macs, layer.flops) == ("no_compute", 0, 0)


# --- registration -----------------------------------------------------------------------------

REQUIRED_OPENVINO_OPS = [
    "Convolution", "GroupConvolution", "ConvolutionBackpropData", "GroupConvolutionBackpropData",
    "MatMul", "Add", "Multiply", "Subtract", "Divide", "Power", "Maximum", "Minimum",
    "SquaredDifference", "Relu", "Sigmoid", "Tanh", "Clamp", "Elu", "Gelu", "HSwish", "HSigmoid",
    "Swish", "Mish", "SoftPlus", "PRelu", "Exp", "Log", "Sqrt", "Abs", "Negative", "Floor",
    "Ceiling", "Erf", "MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "SoftMax",
    "Softmax", "LogSoftmax", "MVN", "NormalizeL2", "BatchNormInference", "LRN", "ReduceSum",
    "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "Interpolate",
    "FakeQuantize", "Convert", "ScaledDotProductAttention", "LSTMSequence", "GRUSequence",
    "RNNSequence", "LSTMCell", "GRUCell", "Einsum", "TopK", "Select",
]
OPENVINO_DATA_MOVEMENT = [
    "Reshape", "Transpose", "Concat", "Split", "VariadicSplit", "StridedSlice", "Slice", "Gather",
    "GatherND", "GatherElements", "Squeeze", "Unsqueeze", "Broadcast", "Tile", "Pad", "ShapeOf",
    "Constant", "Parameter", "Result", "DepthToSpace", "SpaceToDepth", "ScatterUpdate",
    "ScatterNDUpdate", "ScatterElementsUpdate", "Range",
]


def test_every_listed_openvino_op_is_registered() -> None:
    registered = set(registered_op_types("openvino"))
    assert set(REQUIRED_OPENVINO_OPS + OPENVINO_DATA_MOVEMENT) - registered == set()
    entries = {t: lookup("openvino", Node("n", t, "openvino")) for t in registered}
    assert all(entries[t].computes for t in REQUIRED_OPENVINO_OPS)
    assert not any(entries[t].computes for t in OPENVINO_DATA_MOVEMENT)


def test_group_convolution_layout_on_hand_built_node() -> None:
    # W [G=4, C_out/G=2, C_in/G=3, 5, 5]: each output element reads 3 x 25 inputs
    graph = Graph(tensors={
        "x": TensorInfo("x", "float32", (1, 12, 10, 10)),
        "w": TensorInfo("w", "float32", (4, 2, 3, 5, 5)),
        "y": TensorInfo("y", "float32", (1, 8, 6, 6)),
    })
    node = Node("g", "GroupConvolution", "openvino", ["x", "w"], ["y"],
                {"strides": [1, 1], "pads_begin": [0, 0], "pads_end": [0, 0],
                 "dilations": [1, 1], "auto_pad": "explicit"})
    entry = lookup("openvino", node)
    assert entry is not None
    assert entry.function(CostContext(node, graph)) == OpCost(macs=288 * 75)
