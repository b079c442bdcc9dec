"""Per-layer profiles: runtime layers mapped back to the model's nodes (fakes and real runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.model.onnx_graph import build_graph
from profiler.records.runs import LayerProfile
from profiler.runtime.backend import ModelIndex, RunSettings, create_backend
from profiler.runtime.inputs import make_inputs
from profiler.runtime.layers_ort import OptGraph, build_ort_profile, read_trace, trace_nodes
from profiler.runtime.layers_ov import OvLayerInfo, build_ov_profile, majority_precision
from tests.conftest import ZOO_DIR

DEVICES = ["ov:CPU", "ort:cpu"]


def floats(name: str, *shape: int) -> onnx.TensorProto:
    return numpy_helper.from_array(np.ones(shape, np.float32), name)


def residual_block() -> onnx.ModelProto:
    """conv-bn-relu, conv-relu, conv + skip add + relu: the shape of a ResNet block."""
    nodes = [
        helper.make_node("Conv", ["x", "W0"], ["t0"], name="n0"),
        helper.make_node("BatchNormalization", ["t0", "s", "b", "m", "v"], ["t1"], name="n1"),
        helper.make_node("Relu", ["t1"], ["t2"], name="n2"),
        helper.make_node("Conv", ["t2", "W1"], ["t3"], name="n3"),
        helper.make_node("Relu", ["t3"], ["t4"], name="n4"),
        helper.make_node("Conv", ["t4", "W2"], ["t5"], name="n5"),
        helper.make_node("Add", ["t5", "t2"], ["t6"], name="n6"),
        helper.make_node("Relu", ["t6"], ["t7"], name="n7"),
    ]
    weights = [floats("W0", 4, 3, 1, 1), floats("W1", 4, 4, 1, 1), floats("W2", 4, 4, 1, 1),
               *(floats(name, 4) for name in "sbmv")]
    graph = helper.make_graph(
        nodes, "block", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("t7", TensorProto.FLOAT, [1, 4, 8, 8])], weights)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def index_of(model: onnx.ModelProto) -> ModelIndex:
    return ModelIndex.from_graph(build_graph(model.graph, outer_scope=set()))


def nchwc_optimized_block() -> onnx.ModelProto:
    """What ORT's NCHWc transformer makes of residual_block(): nodes named after the tensor
    they produced at the time, the skip Add and final Relu fused into the last Conv."""
    nchwc = "com.microsoft.nchwc"
    nodes = [
        helper.make_node("Conv", ["x", "rw0", "bn_bias"], ["reorder_token_1"], name="t2_nchwc",
                         domain=nchwc, activation="Relu"),
        helper.make_node("Conv", ["reorder_token_1", "rw1"], ["reorder_token_2"],
                         name="t4_nchwc", domain=nchwc, activation="Relu"),
        helper.make_node("Conv", ["reorder_token_2", "rw2", "", "reorder_token_1"],
                         ["reorder_token_3"], name="t5_nchwc", domain=nchwc, activation="Relu"),
        helper.make_node("ReorderOutput", ["reorder_token_3"], ["t7"], name="ReorderOutput",
                         domain=nchwc, channels=4),
    ]
    weights = [floats("rw0", 4, 3, 1, 1), floats("bn_bias", 4), floats("rw1", 4, 4, 1, 1),
               floats("rw2", 4, 4, 1, 1)]
    graph = helper.make_graph(
        nodes, "optimized", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("t7", TensorProto.FLOAT, None)], weights)
    return helper.make_model(graph)


def node_event(name: str, op: str, ts: int, dur: int,
               provider: str = "CPUExecutionProvider") -> dict[str, Any]:
    return {"cat": "Node", "ph": "X", "name": f"{name}_kernel_time", "ts": ts, "dur": dur,
            "args": {"op_name": op, "provider": provider,
                     "input_type_shape": [{"float": [1, 3, 8, 8]}]}}


def run_event(ts: int, dur: int) -> dict[str, Any]:
    return {"cat": "Session", "ph": "X", "name": "model_run", "ts": ts, "dur": dur, "args": {}}


def two_run_trace(layers: list[tuple[str, str, int, int]],
                  provider: str = "CPUExecutionProvider") -> list[dict[str, Any]]:
    """A warm-up run (durations ``warm``) then a counted run (durations ``counted``)."""
    events = [{"cat": "Session", "name": "session_initialization", "ts": 0, "dur": 5}]
    for run_start, column in ((100, 2), (1000, 3)):
        events.append(run_event(run_start, 900 if run_start == 100 else 800))
        for offset, layer in enumerate(layers):
            provider_name = provider if "ExecutionProvider_" in layer[0] else "CPUExecutionProvider"
            events.append(node_event(layer[0], layer[1], run_start + 10 * (offset + 1),
                                     int(layer[column]), provider_name))
    return events


def test_trace_nodes_skip_the_warm_up_run() -> None:
    events = two_run_trace([("a", "Conv", 500, 100), ("b", "Relu", 70, 10)])
    nodes, runs = trace_nodes(events, skip_runs=1)
    assert runs == 1
    assert [(n.name, n.op_type, n.total_us, n.precision) for n in nodes] == [
        ("a", "Conv", 100.0, "f32"), ("b", "Relu", 10.0, "f32")]
    nodes, runs = trace_nodes(events, skip_runs=0)
    assert runs == 2 and nodes[0].total_us == 600.0


def test_read_trace_accepts_list_and_object_forms(tmp_path: Path) -> None:
    events = [run_event(0, 10)]
    (tmp_path / "list.json").write_text(json.dumps(events))
    (tmp_path / "object.json").write_text(json.dumps({"traceEvents": events}))
    assert read_trace(str(tmp_path / "list.json")) == events
    assert read_trace(str(tmp_path / "object.json")) == events


def test_nchwc_fusions_map_back_to_every_original_node() -> None:
    events = two_run_trace([("t2_nchwc", "Conv", 50, 100), ("t4_nchwc", "Conv", 30, 60),
                            ("t5_nchwc", "Conv", 20, 40),
                            ("ReorderOutput", "ReorderOutput", 5, 10)])
    profile = build_ort_profile(events, OptGraph(nchwc_optimized_block()),
                                index_of(residual_block()), e2e_ms=[0.25, 0.3, 0.2])
    layers = {layer.name: layer for layer in profile.layers}
    assert layers["t2_nchwc"].model_nodes == ["n0", "n1", "n2"]
    assert layers["t4_nchwc"].model_nodes == ["n3", "n4"]
    assert layers["t5_nchwc"].model_nodes == ["n5", "n6", "n7"]  # skip Add + Relu fused in
    assert layers["ReorderOutput"].model_nodes == []
    assert [layer.kind for layer in profile.layers] == ["fused", "fused", "fused", "reorder"]
    assert layers["t2_nchwc"].kernel == "com.microsoft.nchwc:Conv"
    assert [layer.time_ms for layer in profile.layers] == pytest.approx([0.1, 0.06, 0.04, 0.01])
    assert profile.total_layer_ms == pytest.approx(0.21)
    assert profile.coverage == pytest.approx(0.21 / 0.25)
    assert profile.iterations == 1
    assert profile.unmapped_model_nodes == [] and profile.notes == []


def test_without_the_optimized_model_names_and_gaps_still_map() -> None:
    events = two_run_trace([("t2_nchwc", "Conv", 50, 100), ("n3", "Conv", 30, 60),
                            ("n4", "Relu", 3, 6), ("Cast_inserted", "Cast", 1, 2)])
    profile = build_ort_profile(events, None, index_of(residual_block()), e2e_ms=[1.0])
    layers = {layer.name: layer for layer in profile.layers}
    assert layers["t2_nchwc"].model_nodes == ["n0", "n1", "n2"]  # named by its output tensor
    assert layers["n3"].model_nodes == ["n3"] and layers["n3"].kind == "compute"
    assert layers["Cast_inserted"].kind == "convert" and layers["Cast_inserted"].model_nodes == []
    assert profile.unmapped_model_nodes == ["n5", "n6", "n7"]
    assert any("n5, n6, n7" in note for note in profile.notes)
    assert any("optimised model was not available" in note for note in profile.notes)


def test_an_execution_provider_subgraph_is_opaque() -> None:
    subgraph = "OpenVINOExecutionProvider_OpenVINO-EP-subgraph_1_0"
    events = two_run_trace([(subgraph, "OpenVINO-EP-subgraph_1", 900, 150), ("n7", "Relu", 9, 3)],
                           provider="OpenVINOExecutionProvider")
    profile = build_ort_profile(events, None, index_of(residual_block()), e2e_ms=[0.2])
    opaque, relu = profile.layers
    assert opaque.kind == "opaque" and opaque.provider == "OpenVINOExecutionProvider"
    assert opaque.model_nodes == ["n0", "n1", "n2", "n3", "n4", "n5", "n6"]
    assert relu.model_nodes == ["n7"] and relu.provider == "CPUExecutionProvider"
    assert profile.unmapped_model_nodes == []
    assert any("is opaque" in note for note in profile.notes)
    assert any("OpenVINOExecutionProvider 0.150 ms" in note for note in profile.notes)


def openvino_block_layers() -> list[OvLayerInfo]:
    """What the CPU plugin's runtime model says about residual_block()."""
    return [
        OvLayerInfo("x", "Input", "unknown_f32", "f32", ["x"]),
        OvLayerInfo("x_abcd_acdb_Multiply_1", "Reorder", "jit_uni_f32", "f32", []),
        OvLayerInfo("W0", "Const", "unknown_f32", "f32", ["W0"]),
        # BatchNormalization folded into the Conv, which took the Multiply's name
        OvLayerInfo("Multiply_1", "Convolution", "brgconv_avx512_bf16", "bf16",
                    ["Multiply_1", "n2"]),
        OvLayerInfo("t4", "Convolution", "brgconv_avx512_1x1_bf16", "bf16",
                    ["t3/WithoutBiases", "n4"]),
        OvLayerInfo("n5", "Convolution", "brgconv_avx512_1x1_bf16", "bf16", ["n5", "n6", "n7"]),
        OvLayerInfo("t7_bf16_f32", "Convert", "jit_uni", "f32", []),
        OvLayerInfo("t7/sink_port_0", "Output", "unknown_f32", "f32", ["t7/sink_port_0"]),
    ]


def test_openvino_runtime_model_maps_fusions_reorders_and_converts() -> None:
    times_ms = {"x_abcd_acdb_Multiply_1": 0.1, "Multiply_1": 1.0, "t4": 0.5, "n5": 0.8,
                "t7_bf16_f32": 0.1}
    profile = build_ov_profile(openvino_block_layers(), times_ms, 2, index_of(residual_block()),
                               e2e_ms=[2.6, 2.7, 2.5], device="CPU")
    summary = [(layer.name, layer.kind, layer.model_nodes) for layer in profile.layers]
    assert summary == [
        ("x_abcd_acdb_Multiply_1", "reorder", []),
        ("Multiply_1", "fused", ["n0", "n1", "n2"]),
        ("t4", "fused", ["n3", "n4"]),
        ("n5", "fused", ["n5", "n6", "n7"]),
        ("t7_bf16_f32", "convert", []),
    ]
    assert [layer.time_ms for layer in profile.layers] == pytest.approx([0.1, 1.0, 0.5, 0.8, 0.1])
    assert profile.layers[1].precision == "bf16" and profile.layers[1].provider == "CPU"
    assert profile.coverage == pytest.approx(2.5 / 2.6)
    assert profile.unmapped_model_nodes == [] and profile.iterations == 2
    assert majority_precision(openvino_block_layers()) == "bf16"


def test_openvino_device_without_names_is_opaque() -> None:
    layers = [OvLayerInfo("blob", "Subgraph", "npu", "f16", ["compiled_blob_0"])]
    profile = build_ov_profile(layers, {"blob": 5.0}, 1, index_of(residual_block()), [5.5], "NPU")
    assert [layer.kind for layer in profile.layers] == ["opaque"]
    assert len(profile.unmapped_model_nodes) == 8
    assert any("NPU: the compiled model does not name the original layers" in n
               for n in profile.notes)


def unnamed_model(path: Path) -> str:
    """Nodes without names: the profiler (and ORT) call them '<op_type>_<index>'."""
    nodes = [helper.make_node("Conv", ["x", "W", "B"], ["c"]),
             helper.make_node("Relu", ["c"], ["r"]),
             helper.make_node("Add", ["r", "r"], ["a"]),
             helper.make_node("Flatten", ["a"], ["f"]),
             helper.make_node("MatMul", ["f", "M"], ["y0"]),
             helper.make_node("Softmax", ["y0"], ["y"])]
    weights = [floats("W", 8, 3, 3, 3), floats("B", 8), floats("M", 8 * 6 * 6, 10)]
    graph = helper.make_graph(
        nodes, "unnamed", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 10])], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def profile_of(device: str, path: str, iterations: int) -> LayerProfile:
    backend = create_backend(device)
    backend.load(path, RunSettings(device=device, threads=2))
    backend.compile()
    inputs = make_inputs(backend.input_specs(), None)
    backend.infer(inputs)
    try:
        return backend.profile_layers(inputs, iterations)
    finally:
        backend.close()


@pytest.mark.parametrize("device", DEVICES)
def test_unnamed_nodes_map_on_both_backends(tmp_path: Path, device: str) -> None:
    profile = profile_of(device, unnamed_model(tmp_path / "unnamed.onnx"), iterations=3)
    covering = {node: layer for layer in profile.layers for node in layer.model_nodes}
    assert profile.unmapped_model_nodes == []
    assert covering["Conv_0"] is covering["Relu_1"]  # the activation is fused into the Conv
    assert covering["Conv_0"].kind == "fused"
    assert {"Add_2", "MatMul_4", "Softmax_5"} <= set(covering)
    assert profile.iterations == 3 and profile.total_layer_ms > 0


@pytest.fixture(scope="module", params=DEVICES)
def resnet_profile(request: pytest.FixtureRequest) -> LayerProfile:
    return profile_of(request.param, str(ZOO_DIR / "light_resnet50.onnx"), iterations=3)


def test_every_resnet_conv_and_gemm_is_covered(resnet_profile: LayerProfile) -> None:
    model = onnx.load(str(ZOO_DIR / "light_resnet50.onnx"), load_external_data=False)
    matrix_nodes = [node.name for node in model.graph.node if node.op_type in ("Conv", "Gemm")]
    assert len(matrix_nodes) == 54
    covered = {name for layer in resnet_profile.layers for name in layer.model_nodes}
    uncovered = [name for name in matrix_nodes if name not in covered]
    assert uncovered == [], f"Conv/Gemm nodes no runtime layer covers: {uncovered}"
    assert resnet_profile.unmapped_model_nodes == [], resnet_profile.notes
    first_block = next(layer for layer in resnet_profile.layers if "n0" in layer.model_nodes)
    assert first_block.model_nodes == ["n0", "n1", "n2"]  # Conv + BatchNorm + Relu as one
    assert first_block.kind == "fused" and first_block.layer_type in ("Conv", "Convolution")
    # the first bottleneck's last Conv absorbs its BatchNorm, the skip Add and the Relu
    block_end = next(layer for layer in resnet_profile.layers if "n14" in layer.model_nodes)
    assert block_end.model_nodes == ["n10", "n11", "n14", "n15"]


def test_resnet_layer_times_explain_the_end_to_end_time(resnet_profile: LayerProfile) -> None:
    assert resnet_profile.iterations == 3
    assert all(layer.time_ms >= 0 for layer in resnet_profile.layers)
    # How much of the end-to-end time the layers explain is measured (about 0.95-1.02 here on
    # an idle machine); a test only checks that it is derived from the layer times.
    assert resnet_profile.total_layer_ms == pytest.approx(
        sum(layer.time_ms for layer in resnet_profile.layers))
    assert resnet_profile.total_layer_ms > 0 and resnet_profile.coverage > 0
    assert {layer.provider for layer in resnet_profile.layers} <= {"CPU", "CPUExecutionProvider"}
    assert all(layer.precision for layer in resnet_profile.layers if layer.kind == "fused")
