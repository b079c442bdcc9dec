"""Models saved after ONNX Runtime's optimisations hold com.microsoft ops that ONNX's shape
inference does not know; their shapes (and everything downstream) must still resolve."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from profiler.api import analyze_model
from profiler.model.contrib_shapes import contrib_output_shape
from tests.conftest import REPO_ROOT

SAMPLE = REPO_ROOT / "resources" / "sample" / "mobilenetv2.onnx"


def _weight(name: str, shape: list[int]) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, dtype=np.float32), name)


def _contrib_chain(path: Path) -> str:
    """FusedConv -> GlobalAveragePool -> Flatten -> FusedMatMul(transB) -> Gelu -> MatMul."""
    ms = "com.microsoft"
    nodes = [
        helper.make_node("FusedConv", ["x", "w", "b"], ["c"], name="fconv", domain=ms,
                         activation="Relu", kernel_shape=[3, 3], pads=[1, 1, 1, 1],
                         strides=[2, 2]),
        helper.make_node("GlobalAveragePool", ["c"], ["p"], name="pool"),
        helper.make_node("Flatten", ["p"], ["f"], name="flat"),
        helper.make_node("FusedMatMul", ["f", "fc"], ["m"], name="fmm", domain=ms, transB=1),
        helper.make_node("Gelu", ["m"], ["g"], name="gelu", domain=ms),
        helper.make_node("MatMul", ["g", "head"], ["y"], name="head"),
    ]
    graph = helper.make_graph(
        nodes, "contrib",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[_weight("w", [8, 3, 3, 3]), _weight("b", [8]), _weight("fc", [16, 8]),
                     _weight("head", [16, 4])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(ms, 1)])
    onnx.save(model, str(path))
    return str(path)


def test_a_contrib_chain_resolves_and_is_costed_exactly(tmp_path: Path) -> None:
    report = analyze_model(_contrib_chain(tmp_path / "contrib.onnx"))
    analysis = report.analysis
    assert analysis is not None
    assert analysis.unknown_shape_nodes == []
    shapes = {layer.name: layer.output_shapes[0] for layer in analysis.layers}
    assert shapes["fconv"] == [1, 8, 16, 16]
    assert shapes["fmm"] == [1, 16] and shapes["gelu"] == [1, 16] and shapes["head"] == [1, 4]
    conv_macs = 8 * 16 * 16 * 3 * 3 * 3
    assert analysis.totals.macs == conv_macs + 16 * 8 + 4 * 16


def test_an_onnx_runtime_optimised_model_keeps_its_macs(tmp_path: Path) -> None:
    """The sample saved after ORT's extended optimisations (Conv+Clip -> FusedConv...)."""
    optimised = tmp_path / "mobilenetv2.ort-optimised.onnx"
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    options.optimized_model_filepath = str(optimised)
    ort.InferenceSession(str(SAMPLE), options, providers=["CPUExecutionProvider"])
    fused = onnx.load(str(optimised), load_external_data=False)
    assert any(node.domain == "com.microsoft" for node in fused.graph.node)
    original = analyze_model(str(SAMPLE)).analysis
    analysis = analyze_model(str(optimised)).analysis
    assert original is not None and analysis is not None
    assert analysis.unknown_shape_nodes == []
    assert analysis.totals.macs == original.totals.macs


def test_rules_need_their_inputs() -> None:
    assert contrib_output_shape("Gelu", {}, [(2, 5)]) == (2, 5)
    assert contrib_output_shape("MatMulNBits", {"N": 64, "K": 32}, [(1, 7, 32)]) == (1, 7, 64)
    assert contrib_output_shape("Attention", {}, [(2, 9, 48), (48, 144)]) == (2, 9, 48)
    assert contrib_output_shape("FusedMatMul", {}, [None, (3, 4)]) is None
    assert contrib_output_shape("SomethingNew", {}, [(1,)]) is None


def _int8_lstm(path: Path) -> str:
    """Embedding-free int8 bidirectional LSTM as ONNX Runtime's quantizer writes it, with the
    file's own symbolic value_info on every output (seq_len, batch), fed by a dynamic input."""
    ms, hidden, size = "com.microsoft", 16, 8
    int8 = lambda name, shape: numpy_helper.from_array(np.ones(shape, np.int8), name)  # noqa: E731
    scale = lambda name: numpy_helper.from_array(np.ones([2], np.float32), name)  # noqa: E731
    zero = lambda name: numpy_helper.from_array(np.zeros([2], np.int8), name)  # noqa: E731
    node = helper.make_node(
        "DynamicQuantizeLSTM",
        ["x", "w", "r", "", "", "", "", "", "ws", "wz", "rs", "rz"], ["y", "y_h", "y_c"],
        name="lstm_quant", domain=ms, hidden_size=hidden, direction="bidirectional")
    symbolic = [
        helper.make_tensor_value_info("y", TensorProto.FLOAT, ["seq_len", 2, "batch", hidden]),
        helper.make_tensor_value_info("y_h", TensorProto.FLOAT, [2, "batch", hidden])]
    graph = helper.make_graph(
        [node, helper.make_node("Relu", ["y_h"], ["out"], name="relu")], "int8_lstm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["seq_len", "batch", size])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, None)],
        initializer=[int8("w", [2, size, 4 * hidden]), int8("r", [2, hidden, 4 * hidden]),
                     scale("ws"), zero("wz"), scale("rs"), zero("rz")],
        value_info=symbolic)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid(ms, 1)])
    onnx.save(model, str(path))
    return str(path)


def test_an_int8_lstm_is_costed_and_its_states_resolve(tmp_path: Path) -> None:
    report = analyze_model(_int8_lstm(tmp_path / "lstm.onnx"), {"x": (10, 1, 8)})
    assert report.analysis is not None
    lstm = next(layer for layer in report.analysis.layers if layer.name == "lstm_quant")
    # seq 10 x 2 directions x batch 1, 4 gates x 16 hidden, (8 inputs + 16 recurrent) each
    assert lstm.macs == 10 * 2 * 1 * (4 * 16) * (8 + 16)
    relu = next(layer for layer in report.analysis.layers if layer.name == "relu")
    assert relu.output_shapes == [[2, 1, 16]]
    assert report.analysis.unknown_shape_nodes == []
    assert not any("could not be computed" in w for w in report.model.warnings)
