"""Property-based tests: the loader and the analyzer either return a report or raise the
project's own ProfilerError, never anything else (no IndexError, KeyError, RecursionError...).

- random valid graphs (chains and DAGs of Conv, MatMul, Gemm, pooling, normalisation,
  Reshape, Concat, Softmax... with random sizes and a dynamic batch): they load, every node is
  costed, and the MACs equal the count made while building the graph;
- byte-level mutations of valid model files (flips, cuts, insertions, duplicated ranges);
- proto-level mutations (inputs removed, names swapped, random attributes, wrong dtypes,
  huge, zero and negative dims, op types changed, initializers and opsets tampered with).

The budget is fixed and derandomized (no example database), so CI runs the same examples in
well under a minute.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from profiler.analysis.analyze import analyze
from profiler.api import analyze_model
from profiler.errors import ProfilerError
from profiler.model import load_model
from profiler.model.describe import model_info
from profiler.records.analysis import StaticAnalysis
from profiler.records.report import Report
from profiler.report.exporters import render
from tests.core import model_builders as mb

FUZZ = settings(deadline=None, derandomize=True, database=None, print_blob=False,
                suppress_health_check=list(HealthCheck))
VALID_EXAMPLES = 1000
BYTE_EXAMPLES = 2000
PROTO_EXAMPLES = 2000
SANDBOXED_EXAMPLES = 60
"""Cases that also take the user's path through the sandboxed child: each forks a child (from
the fork server once runtimes have started threads), so the bulk runs in-process."""

Draw = Callable[[st.SearchStrategy[Any]], Any]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def analyze_or_refuse(path: str) -> StaticAnalysis | None:
    """load + analyze + JSON report; None when refused with a ProfilerError."""
    try:
        model = load_model(path)
        analysis = analyze(model)
    except ProfilerError:
        return None
    report = Report(model=model_info(model), analysis=analysis)
    json.loads(render(report, ".json"))  # serialisable: no bytes, no NaN left in it
    return analysis


def sandboxed_or_refuse(path: str) -> StaticAnalysis | None:
    """The user's path: parsing and analysis in the sandboxed child (profiler.sandbox), so a
    parser crash is a ModelLoadError here; the report comes back and renders as JSON."""
    try:
        report = analyze_model(path)
    except ProfilerError:
        return None
    json.loads(render(report, ".json"))
    return report.analysis


# --- random valid graphs ----------------------------------------------------------------------

Shape = tuple[int, ...]


@dataclass
class GraphBuilder:
    """Nodes, weights and the static shape of every tensor made so far."""

    draw: Draw
    nodes: list[onnx.NodeProto] = field(default_factory=list)
    weights: list[TensorProto] = field(default_factory=list)
    shapes: dict[str, Shape] = field(default_factory=dict)
    macs: int = 0

    def name(self, prefix: str) -> str:
        return f"{prefix}{len(self.nodes)}_{len(self.weights)}"

    def weight(self, shape: Shape, dtype: type = np.float32) -> str:
        name = self.name("w")
        self.weights.append(numpy_helper.from_array(np.zeros(shape, dtype), name))
        return name

    def add(self, op_type: str, inputs: list[str], shape: Shape, **attrs: Any) -> str:
        output = self.name("t")
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attrs))
        self.shapes[output] = shape
        return output


UNARY = ("Relu", "Sigmoid", "Tanh", "Abs", "Exp", "Neg", "LeakyRelu", "HardSwish", "Softplus")


def _unary(b: GraphBuilder, x: str) -> str:
    return b.add(b.draw(st.sampled_from(UNARY)), [x], b.shapes[x])


def _conv(b: GraphBuilder, x: str) -> str:
    n, c, h, w = b.shapes[x]
    m = b.draw(st.integers(1, 8)) * (c if b.draw(st.booleans()) else 1)
    group = c if m % c == 0 and b.draw(st.booleans()) else 1
    k, stride = b.draw(st.sampled_from([1, 3])), b.draw(st.sampled_from([1, 2]))
    ho, wo = (h + 2 * (k // 2) - k) // stride + 1, (w + 2 * (k // 2) - k) // stride + 1
    inputs = [x, b.weight((m, c // group, k, k))]
    if b.draw(st.booleans()):
        inputs.append(b.weight((m,)))
    b.macs += n * m * ho * wo * (c // group) * k * k
    return b.add("Conv", inputs, (n, m, ho, wo), kernel_shape=[k, k], strides=[stride] * 2,
                 pads=[k // 2] * 4, group=group)


def _pool(b: GraphBuilder, x: str) -> str:
    n, c, h, w = b.shapes[x]
    if h < 2 or w < 2:
        return b.add("GlobalAveragePool", [x], (n, c, 1, 1))
    op = b.draw(st.sampled_from(["MaxPool", "AveragePool"]))
    return b.add(op, [x], (n, c, h // 2, w // 2), kernel_shape=[2, 2], strides=[2, 2])


def _batch_norm(b: GraphBuilder, x: str) -> str:
    c = b.shapes[x][1]
    return b.add("BatchNormalization", [x, *(b.weight((c,)) for _ in range(4))], b.shapes[x])


def _add(b: GraphBuilder, x: str) -> str:
    same = [t for t, s in b.shapes.items() if s == b.shapes[x]]
    other = b.draw(st.sampled_from(same))
    if b.draw(st.booleans()):
        shape = b.shapes[x]
        other = b.weight((1, shape[1], 1, 1) if len(shape) == 4 else (shape[-1],))
    return b.add(b.draw(st.sampled_from(["Add", "Mul", "Sub"])), [x, other], b.shapes[x])


def _concat(b: GraphBuilder, x: str) -> str:
    n, _, h, w = b.shapes[x]
    fits = [t for t, s in b.shapes.items() if len(s) == 4 and (s[0], s[2], s[3]) == (n, h, w)]
    parts = [x, b.draw(st.sampled_from(fits))]
    return b.add("Concat", parts, (n, sum(b.shapes[p][1] for p in parts), h, w), axis=1)


def _flatten(b: GraphBuilder, x: str) -> str:
    n, c, h, w = b.shapes[x]
    if b.draw(st.booleans()):
        return b.add("Flatten", [x], (n, c * h * w), axis=1)
    target = b.name("target")  # [0, -1]: keep the batch, flatten the rest
    b.weights.append(mb.int64_tensor(target, [0, -1]))
    return b.add("Reshape", [x, target], (n, c * h * w))


def _transpose(b: GraphBuilder, x: str) -> str:
    n, c, h, w = b.shapes[x]
    return b.add("Transpose", [x], (n, h, w, c), perm=[0, 2, 3, 1])


def _matmul(b: GraphBuilder, x: str) -> str:
    n, k = b.shapes[x]
    m = b.draw(st.integers(1, 16))
    b.macs += n * k * m
    if b.draw(st.booleans()):
        return b.add("MatMul", [x, b.weight((k, m))], (n, m))
    return b.add("Gemm", [x, b.weight((m, k)), b.weight((m,))], (n, m), transB=1)


def _softmax(b: GraphBuilder, x: str) -> str:
    op = b.draw(st.sampled_from(["Softmax", "LogSoftmax"]))
    return b.add(op, [x], b.shapes[x], axis=-1)


def _reduce(b: GraphBuilder, x: str) -> str:
    return b.add("ReduceMean", [x], (b.shapes[x][0], 1), axes=[1], keepdims=1)


RANK4_OPS = (_unary, _conv, _pool, _batch_norm, _add, _concat, _flatten, _transpose)
RANK2_OPS = (_unary, _matmul, _softmax, _reduce, _add)
MAX_FLAT_ELEMENTS = 4096
"""Keeps MatMul weights small: wider tensors are pooled before they are flattened."""


def _step(b: GraphBuilder) -> None:
    x = b.draw(st.sampled_from(sorted(b.shapes)))
    shape = b.shapes[x]
    if len(shape) == 4 and math.prod(shape) > MAX_FLAT_ELEMENTS:
        ops: tuple[Callable[[GraphBuilder, str], str], ...] = tuple(
            op for op in RANK4_OPS if op is not _flatten)
    else:
        ops = RANK4_OPS if len(shape) == 4 else RANK2_OPS
    b.draw(st.sampled_from(ops))(b, x)


@st.composite
def valid_graphs(draw: Draw) -> tuple[onnx.ModelProto, int]:
    """(model, expected MACs); a dynamic batch dim resolves to 1 when loaded."""
    b = GraphBuilder(draw)
    channels, side = draw(st.integers(1, 8)), draw(st.integers(1, 12))
    b.shapes["x"] = (1, channels, side, side) if draw(st.booleans()) else (1, channels * side)
    for _ in range(draw(st.integers(1, 8))):
        _step(b)
    made = [n.output[0] for n in b.nodes]
    outputs = sorted({made[-1], *draw(st.lists(st.sampled_from(made), max_size=2))})
    batch: list[int | str | None] = ["N" if draw(st.booleans()) else 1]
    model = mb.make_model(b.nodes, [mb.value_info("x", [*batch, *b.shapes["x"][1:]])],
                          [mb.value_info(o, [*batch, *b.shapes[o][1:]]) for o in outputs],
                          b.weights)
    return model, b.macs


@settings(FUZZ, max_examples=VALID_EXAMPLES)
@given(case=valid_graphs())
def test_random_valid_graphs_are_costed_exactly(scratch: Path, case: tuple[Any, int]) -> None:
    model, expected_macs = case
    onnx.checker.check_model(model, full_check=True)  # the builder makes valid graphs
    path = mb.save(model, scratch / "valid.onnx")
    analysis = analyze_or_refuse(path)
    assert analysis is not None, "a valid graph was refused"
    assert analysis.unsupported_ops == {} and analysis.unknown_shape_nodes == []
    assert {layer.status for layer in analysis.layers} <= {"ok", "no_compute"}
    assert analysis.totals.layer_count == len(model.graph.node)
    assert analysis.totals.macs == expected_macs
    assert analysis.totals.flops >= 2 * expected_macs


# --- byte-level mutations -----------------------------------------------------------------------

def _conv_model() -> onnx.ModelProto:
    nodes = [helper.make_node("Conv", ["x", "W"], ["c"], name="conv", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["r"], name="relu"),
             helper.make_node("GlobalAveragePool", ["r"], ["p"], name="pool"),
             helper.make_node("Flatten", ["p"], ["f"], name="flatten"),
             helper.make_node("Gemm", ["f", "B"], ["y"], name="fc", transB=1)]
    return mb.make_model(nodes, [mb.value_info("x", ["N", 3, 8, 8])],
                         [mb.value_info("y", ["N", 4])],
                         [mb.weight("W", (4, 3, 3, 3)), mb.weight("B", (4, 4))])


BASE_MODELS: dict[str, onnx.ModelProto] = {
    "chain": mb.matmul_chain(dims=(8, 4, 2)),
    "reshape": mb.matmul_reshape(),
    "attention": mb.attention_block(vocab=16, hidden=8, heads=2, max_positions=16),
    "loop": mb.loop_model(3, width=4),
    "if": mb.if_model(width=4),
    "conv": _conv_model(),
}
BASE_BYTES = {name: model.SerializeToString() for name, model in BASE_MODELS.items()}


@st.composite
def mutated_bytes(draw: Draw) -> bytes:
    data = bytearray(BASE_BYTES[draw(st.sampled_from(sorted(BASE_BYTES)))])
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        size = draw(st.integers(1, 16))
        kind = draw(st.sampled_from(["flip", "delete", "insert", "duplicate", "truncate"]))
        if kind == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "delete":
            del data[at:at + size]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=size))
        elif kind == "duplicate":
            data[at:at] = data[at:at + size]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


@settings(FUZZ, max_examples=BYTE_EXAMPLES)
@given(data=mutated_bytes())
def test_byte_mutations_give_a_report_or_a_profiler_error(scratch: Path, data: bytes) -> None:
    path = scratch / "bytes.onnx"
    path.write_bytes(data)
    analyze_or_refuse(str(path))


@settings(FUZZ, max_examples=SANDBOXED_EXAMPLES)
@given(data=mutated_bytes())
def test_byte_mutations_through_the_sandbox(scratch: Path, data: bytes) -> None:
    path = scratch / "bytes_sandboxed.onnx"
    path.write_bytes(data)
    sandboxed_or_refuse(str(path))


# --- proto-level mutations ----------------------------------------------------------------------

HOSTILE_INTS = [0, -1, -7, 1, 3, 2**31, 2**40, 10**12, 2**62, -(2**63)]
ATTRIBUTE_NAMES = ["axis", "axes", "perm", "kernel_shape", "strides", "pads", "dilations",
                   "group", "to", "keepdims", "alpha", "transA", "transB", "mode", "value",
                   "num_scan_inputs", "scan_input_axes", "split", "k", "body"]
OP_TYPES = ["Conv", "ConvTranspose", "MatMul", "Gemm", "Reshape", "Concat", "Softmax", "Loop",
            "If", "Scan", "Split", "Slice", "Gather", "TopK", "Resize", "LSTM", "GRU",
            "Einsum", "MaxPool", "LRN", "ReduceSum", "Expand", "Tile", "Range", "Flatten",
            "ConstantOfShape", "Constant", "Attention", "QLinearConv", "NonMaxSuppression",
            "Transpose", "Squeeze", "Unsqueeze", "Pad", "BatchNormalization", "Where"]


def _attribute_value(draw: Draw) -> Any:
    return draw(st.one_of(
        st.sampled_from(HOSTILE_INTS),
        st.lists(st.sampled_from(HOSTILE_INTS), max_size=6),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=8),
        st.just(numpy_helper.from_array(np.array([2, -1], np.int64))),
        st.just(helper.make_graph([], "empty", [], [])),
    ))


def _all_names(model: onnx.ModelProto) -> list[str]:
    graph = model.graph
    names = {n for node in graph.node for n in (*node.input, *node.output)}
    names |= {t.name for t in graph.initializer} | {v.name for v in graph.input}
    return sorted(names) or ["x"]


def _pick_node(model: onnx.ModelProto, draw: Draw) -> onnx.NodeProto | None:
    nodes = model.graph.node
    return nodes[draw(st.integers(0, len(nodes) - 1))] if nodes else None


def m_drop_input(model: onnx.ModelProto, draw: Draw) -> None:
    node = _pick_node(model, draw)
    if node is not None and node.input:
        index = draw(st.integers(0, len(node.input) - 1))
        if draw(st.booleans()):
            del node.input[index]
        else:
            node.input[index] = ""


def m_rename(model: onnx.ModelProto, draw: Draw) -> None:
    node = _pick_node(model, draw)
    if node is None:
        return
    fields = [f for f in (node.input, node.output) if f]
    if fields:
        target = draw(st.sampled_from(fields))
        name = draw(st.one_of(st.sampled_from(_all_names(model)), st.text(max_size=4)))
        target[draw(st.integers(0, len(target) - 1))] = name


def m_attribute(model: onnx.ModelProto, draw: Draw) -> None:
    node = _pick_node(model, draw)
    if node is None:
        return
    name = draw(st.sampled_from(ATTRIBUTE_NAMES))
    kept = [a for a in node.attribute if a.name != name]
    del node.attribute[:]
    node.attribute.extend(kept)
    with contextlib.suppress(ValueError, TypeError):  # a value make_attribute refuses
        node.attribute.append(helper.make_attribute(name, _attribute_value(draw)))


def m_op_type(model: onnx.ModelProto, draw: Draw) -> None:
    node = _pick_node(model, draw)
    if node is not None:
        node.op_type = draw(st.sampled_from(OP_TYPES))


def m_domain(model: onnx.ModelProto, draw: Draw) -> None:
    node = _pick_node(model, draw)
    if node is not None:
        node.domain = draw(st.sampled_from(["", "ai.onnx", "com.microsoft", "ai.onnx.ml", "x"]))


def m_dtype(model: onnx.ModelProto, draw: Draw) -> None:
    infos = [*model.graph.input, *model.graph.output, *model.graph.value_info]
    if infos:
        info = draw(st.sampled_from(infos))
        info.type.tensor_type.elem_type = draw(st.integers(0, 30))


def m_dim(model: onnx.ModelProto, draw: Draw) -> None:
    infos = [i for i in [*model.graph.input, *model.graph.output]
             if i.type.tensor_type.shape.dim]
    if not infos:
        return
    dims = draw(st.sampled_from(infos)).type.tensor_type.shape.dim
    dim = dims[draw(st.integers(0, len(dims) - 1))]
    if draw(st.booleans()):
        dim.dim_value = draw(st.sampled_from([d for d in HOSTILE_INTS if d >= -(2**63)]))
    else:
        dim.dim_param = draw(st.text(max_size=3))


def m_rank(model: onnx.ModelProto, draw: Draw) -> None:
    if model.graph.input:
        shape = draw(st.sampled_from(list(model.graph.input))).type.tensor_type.shape
        if draw(st.booleans()) and shape.dim:
            del shape.dim[-1]
        else:
            shape.dim.add().dim_value = draw(st.sampled_from([1, 2, 10**6]))


def m_initializer(model: onnx.ModelProto, draw: Draw) -> None:
    initializers = model.graph.initializer
    if not initializers:
        return
    index = draw(st.integers(0, len(initializers) - 1))
    action = draw(st.sampled_from(["remove", "dtype", "dims", "data"]))
    tensor = initializers[index]
    if action == "remove":
        del initializers[index]
    elif action == "dtype":
        tensor.data_type = draw(st.integers(0, 30))
    elif action == "dims":
        tensor.dims[:] = draw(st.lists(st.sampled_from([0, 1, 2, 7, 10**6, 2**40]),
                                       max_size=4))
    else:
        tensor.raw_data = draw(st.binary(max_size=24))


def m_node_count(model: onnx.ModelProto, draw: Draw) -> None:
    node = _pick_node(model, draw)
    if node is None:
        return
    if draw(st.booleans()):
        model.graph.node.append(node)
    else:
        model.graph.node.remove(node)


def m_opset(model: onnx.ModelProto, draw: Draw) -> None:
    action = draw(st.sampled_from(["version", "clear", "ir_version"]))
    if action == "version" and model.opset_import:
        model.opset_import[0].version = draw(st.integers(1, 30))
    elif action == "clear":
        model.ClearField("opset_import")
    else:
        model.ir_version = draw(st.integers(0, 12))


MUTATIONS = (m_drop_input, m_rename, m_attribute, m_op_type, m_domain, m_dtype, m_dim, m_rank,
             m_initializer, m_node_count, m_opset)


@st.composite
def mutated_models(draw: Draw) -> onnx.ModelProto:
    model = onnx.ModelProto()
    model.CopyFrom(BASE_MODELS[draw(st.sampled_from(sorted(BASE_MODELS)))])
    for _ in range(draw(st.integers(1, 3))):
        draw(st.sampled_from(MUTATIONS))(model, draw)
    return model


@settings(FUZZ, max_examples=PROTO_EXAMPLES)
@given(model=mutated_models())
def test_proto_mutations_give_a_report_or_a_profiler_error(
    scratch: Path, model: onnx.ModelProto
) -> None:
    path = scratch / "mutated.onnx"
    path.write_bytes(model.SerializeToString())
    analyze_or_refuse(str(path))


@settings(FUZZ, max_examples=SANDBOXED_EXAMPLES)
@given(model=mutated_models())
def test_proto_mutations_through_the_sandbox(scratch: Path, model: onnx.ModelProto) -> None:
    path = scratch / "mutated_sandboxed.onnx"
    path.write_bytes(model.SerializeToString())
    sandboxed_or_refuse(str(path))
