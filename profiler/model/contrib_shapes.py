"""Output shapes of ONNX Runtime's com.microsoft ops, which ONNX's own inference does not know.

Models saved after ONNX Runtime's graph optimisations hold fused ops (FusedConv, FusedMatMul,
SkipLayerNormalization, Attention, MatMulNBits...). ONNX shape inference leaves their outputs
unknown, and with them every node downstream. Here each such output gets its shape from the
op's inputs and attributes; the shapes are written as value_info and ONNX inference runs
again, so the rest of the graph resolves too. Ops without a rule stay unknown (reported).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import onnx
from onnx import helper

from profiler.model.shape_rules import Shape, output_shape

CONTRIB_DOMAIN = "com.microsoft"
MAX_CONTRIB_PASSES = 16
"""Each pass resolves every contrib op whose inputs are known; chains need one pass a link."""

FLOAT_OUTPUT_OPS = frozenset({
    "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "MatMulNBits", "DynamicQuantizeLSTM",
})
"""Ops whose integer inputs produce float outputs."""

ContribRule = Callable[[dict[str, Any], list[Shape | None]], Shape | None]

SAME_AS_FIRST_INPUT = frozenset({
    "Gelu", "FastGelu", "BiasGelu", "QuickGelu", "BiasAdd", "SkipLayerNormalization",
    "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization", "LayerNormalization",
    "BiasDropout", "Rotary", "RotaryEmbedding", "QLinearAdd", "QLinearMul", "QLinearSigmoid",
    "QLinearLeakyRelu", "QLinearSoftmax", "FusedGemm",
})


def _conv_side(size: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int],
               auto_pad: str) -> int:
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        return -(-size // stride)
    span = dilation * (kernel - 1) + 1
    return (size + pads[0] + pads[1] - span) // stride + 1


def _fused_conv(attrs: dict[str, Any], shapes: list[Shape | None]) -> Shape | None:
    """Conv output [N, C_out, spatial...] (FusedConv is a Conv plus an activation)."""
    x, w = shapes[0], shapes[1]
    if x is None or w is None or len(x) < 3:
        return None
    spatial = len(x) - 2
    kernel = attrs.get("kernel_shape") or list(w[2:])
    strides = attrs.get("strides") or [1] * spatial
    dilations = attrs.get("dilations") or [1] * spatial
    pads = attrs.get("pads") or [0] * (2 * spatial)
    auto_pad = str(attrs.get("auto_pad", "NOTSET"))
    sides = [
        _conv_side(x[2 + i], kernel[i], strides[i], dilations[i], (pads[i], pads[i + spatial]),
                   auto_pad)
        for i in range(spatial)
    ]
    return (x[0], w[0], *sides)


def _fused_matmul(attrs: dict[str, Any], shapes: list[Shape | None]) -> Shape | None:
    a, b = shapes[0], shapes[1]
    if a is None or b is None or len(a) < 2 or len(b) < 2:
        return None
    if attrs.get("transA", 0):
        a = (*a[:-2], a[-1], a[-2])
    if attrs.get("transB", 0):
        b = (*b[:-2], b[-1], b[-2])
    return output_shape("MatMul", {}, [a, b], [None, None])


def _matmul_n_bits(attrs: dict[str, Any], shapes: list[Shape | None]) -> Shape | None:
    a, n = shapes[0], attrs.get("N")
    return None if a is None or not n else (*a[:-1], int(n))


def _plain_matmul(_: dict[str, Any], shapes: list[Shape | None]) -> Shape | None:
    return output_shape("MatMul", {}, shapes[:2], [None, None])


def _attention(attrs: dict[str, Any], shapes: list[Shape | None]) -> Shape | None:
    """Attention: input [B, S, D_in], weights [D_in, D_q + D_k + D_v] -> [B, S, D_v]."""
    x, w = shapes[0], shapes[1] if len(shapes) > 1 else None
    if x is None or w is None or len(x) != 3:
        return None
    sizes = attrs.get("qkv_hidden_sizes")
    value_size = int(sizes[2]) if sizes else w[-1] // 3
    return (x[0], x[1], value_size)


def _multi_head_attention(attrs: dict[str, Any], shapes: list[Shape | None]) -> Shape | None:
    """MultiHeadAttention/GroupQueryAttention: query [B, S, D] -> [B, S, D_v]."""
    query = shapes[0]
    value = shapes[2] if len(shapes) > 2 else None
    if query is None or len(query) != 3:
        return None
    value_size = value[2] if value is not None and len(value) == 3 else query[2]
    if attrs.get("kv_num_heads"):  # GroupQueryAttention: output keeps the query's width
        value_size = query[2]
    return (query[0], query[1], value_size)


def _dynamic_quantize_lstm(attrs: dict[str, Any], shapes: list[Shape | None]) -> Shape | None:
    """Y of com.microsoft DynamicQuantizeLSTM: X [seq, batch, input], W [dirs, input, 4*hidden]
    (W is stored transposed against ONNX LSTM's) -> [seq, dirs, batch, hidden]."""
    x_shape, weight_shape = shapes[0], shapes[1]
    if x_shape is None or weight_shape is None:
        return None
    return (x_shape[0], weight_shape[0], x_shape[1], int(attrs["hidden_size"]))


_RULES: dict[str, ContribRule] = {
    "FusedConv": _fused_conv,
    "FusedMatMul": _fused_matmul,
    "MatMulNBits": _matmul_n_bits,
    "MatMulIntegerToFloat": _plain_matmul,
    "DynamicQuantizeMatMul": _plain_matmul,
    "Attention": _attention,
    "MultiHeadAttention": _multi_head_attention,
    "GroupQueryAttention": _multi_head_attention,
    "DynamicQuantizeLSTM": _dynamic_quantize_lstm,
}
RECURRENT_STATE_OUTPUTS = frozenset({"DynamicQuantizeLSTM"})
"""Ops whose outputs 1.. are final states [dirs, batch, hidden], read off output 0's shape."""


def contrib_output_shape(op_type: str, attrs: dict[str, Any],
                         shapes: list[Shape | None]) -> Shape | None:
    """Shape of output 0 of a com.microsoft op, or None when there is no rule or input."""
    if op_type in SAME_AS_FIRST_INPUT:
        return shapes[0] if shapes else None
    rule = _RULES.get(op_type)
    if rule is None:
        return None
    try:
        return rule(attrs, shapes)
    except (IndexError, TypeError, ValueError, ZeroDivisionError):
        return None


def contrib_output_shapes(op_type: str, attrs: dict[str, Any],
                          shapes: list[Shape | None]) -> list[Shape | None]:
    """Shapes of every output a rule knows: output 0, plus the states of recurrent ops."""
    first = contrib_output_shape(op_type, attrs, shapes)
    if first is None or op_type not in RECURRENT_STATE_OUTPUTS:
        return [first]
    state = first[1:]
    return [first, state, state]


def _static_shapes(graph: onnx.GraphProto) -> dict[str, Shape]:
    shapes: dict[str, Shape] = {}
    for info in [*graph.input, *graph.value_info, *graph.output]:
        dims = info.type.tensor_type.shape.dim
        if info.type.tensor_type.HasField("shape") and all(
            d.HasField("dim_value") for d in dims
        ):
            shapes[info.name] = tuple(int(d.dim_value) for d in dims)
    for tensor in graph.initializer:
        shapes[tensor.name] = tuple(int(d) for d in tensor.dims)
    return shapes


def _input_dtype(graph: onnx.GraphProto, name: str) -> int:
    for info in [*graph.input, *graph.value_info]:
        if info.name == name and info.type.tensor_type.elem_type:
            return int(info.type.tensor_type.elem_type)
    for tensor in graph.initializer:
        if tensor.name == name:
            return int(tensor.data_type)
    return int(onnx.TensorProto.FLOAT)


def _standard_shape(node: onnx.NodeProto, attrs: dict[str, Any], inputs: list[Shape | None],
                    shapes: dict[str, Shape]) -> Shape | None:
    if node.op_type == "Conv":
        return _fused_conv(attrs, inputs)
    rule_inputs = [shapes.get(name) if name else () for name in node.input]
    return output_shape(node.op_type, attrs, rule_inputs, [None] * len(node.input))


def _plain(value: Any) -> Any:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _learn_contrib_shapes(graph: onnx.GraphProto) -> int:
    """Add value_info for contrib outputs whose shape follows from known inputs; how many."""
    shapes = _static_shapes(graph)
    infos = {info.name: info for info in graph.value_info}
    learned = 0
    for node in graph.node:
        output = node.output[0] if node.output else ""
        if not output or output in shapes:
            continue
        attrs = {a.name: _plain(helper.get_attribute_value(a)) for a in node.attribute}
        inputs = [shapes.get(name) if name else None for name in node.input]
        if node.domain in ("", "ai.onnx"):
            # Followed locally so a whole chain resolves in one pass; ONNX writes these.
            known = _standard_shape(node, attrs, inputs, shapes)
            if known is not None:
                shapes[output] = known
            continue
        if node.domain != CONTRIB_DOMAIN:
            continue
        dtype = _input_dtype(graph, node.input[0]) if node.input else onnx.TensorProto.FLOAT
        if node.op_type in FLOAT_OUTPUT_OPS:
            dtype = onnx.TensorProto.FLOAT
        found = contrib_output_shapes(node.op_type, attrs, inputs)
        for name, shape in zip(node.output, found, strict=False):
            if not name or shape is None or name in shapes or any(d < 0 for d in shape):
                continue
            _set_value_info(graph, infos, helper.make_tensor_value_info(name, dtype, list(shape)))
            shapes[name] = shape
            learned += 1
    return learned


def _set_value_info(graph: onnx.GraphProto, infos: dict[str, onnx.ValueInfoProto],
                    info: onnx.ValueInfoProto) -> None:
    """Replace the entry of that name (a symbolic one from the file) or add one: a duplicate
    would leave the stale symbolic entry behind."""
    existing = infos.get(info.name)
    if existing is not None:
        existing.CopyFrom(info)
        return
    graph.value_info.append(info)
    infos[info.name] = graph.value_info[-1]


def infer_with_contrib_ops(
    model: onnx.ModelProto, infer: Callable[[onnx.ModelProto], onnx.ModelProto]
) -> onnx.ModelProto:
    """Alternate our contrib rules with ``infer`` (ONNX inference) until nothing new is learned."""
    if not any(node.domain == CONTRIB_DOMAIN for node in model.graph.node):
        return model
    for _ in range(MAX_CONTRIB_PASSES):
        if not _learn_contrib_shapes(model.graph):
            break
        try:
            model = infer(model)
        except Exception:  # inference is best effort; the shapes learned so far stay
            break
    return model
