"""Runtime fusions map back to the nodes they cover (real per-layer passes on small models),
per-layer medians, the coverage flag, and the precision that ran versus the stored one."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.records.runs import LayerProfile, RuntimeLayer
from profiler.runtime.backend import (
    ModelIndex,
    ModelNodeRef,
    RunSettings,
    coverage_warning,
    create_backend,
    finish_profile,
    onnx_model_index,
)
from profiler.runtime.inputs import make_inputs
from profiler.runtime.layers_ort import name_candidates
from profiler.runtime.layers_ov import (
    CounterLog,
    OvLayerInfo,
    build_ov_profile,
    majority_precision,
    map_layers,
    median_ms,
)
from profiler.runtime.ort_trace import trace_nodes
from profiler.runtime.precision import (
    arithmetic_precision,
    cpu_can_compute,
    expected_cpu_precision,
    kernel_precision,
)
from tests.core.test_layer_mapping import profile_of, run_event

UNMAPPED_KINDS = {"reorder", "convert", "copy"}


def weights(name: str, *shape: int) -> onnx.TensorProto:
    values = np.random.default_rng(len(name)).uniform(-0.1, 0.1, shape).astype(np.float32)
    return numpy_helper.from_array(values, name)


def scalar(name: str, value: float, shape: tuple[int, ...] = ()) -> onnx.TensorProto:
    return numpy_helper.from_array(np.full(shape, value, np.float32), name)


def save(path: Path, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto],
         x_shape: list[int], y_shape: list[int]) -> str:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, y_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return str(path)


def bn_inits(channels: int) -> list[onnx.TensorProto]:
    return [*(weights(n, channels) for n in "sbm"), scalar("v", 1.0, (channels,))]


def swish_cnn(path: Path) -> str:
    """EfficientNet-style: Conv-BN-x*sigmoid(x), depthwise Conv-BN-swish, a per-channel scale,
    a 1x1 Conv + Relu."""
    nodes = [
        helper.make_node("Conv", ["x", "W0"], ["c0"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c0", "s", "b", "m", "v"], ["b0"], name="bn0"),
        helper.make_node("Sigmoid", ["b0"], ["g0"], name="sig0"),
        helper.make_node("Mul", ["b0", "g0"], ["a0"], name="mul0"),
        helper.make_node("Conv", ["a0", "W1"], ["c1"], name="dw1", group=16, pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c1", "s", "b", "m", "v"], ["b1"], name="bn1"),
        helper.make_node("Sigmoid", ["b1"], ["g1"], name="sig1"),
        helper.make_node("Mul", ["b1", "g1"], ["a1"], name="mul1"),
        helper.make_node("Mul", ["a1", "k"], ["a2"], name="scale1"),
        helper.make_node("Conv", ["a2", "W2"], ["c2"], name="conv2"),
        helper.make_node("Relu", ["c2"], ["y"], name="relu2"),
    ]
    inits = [weights("W0", 16, 3, 3, 3), weights("W1", 16, 1, 3, 3), weights("W2", 16, 16, 1, 1),
             *bn_inits(16), weights("k", 1, 16, 1, 1)]
    return save(path, nodes, inits, [1, 3, 32, 32], [1, 16, 32, 32])


def conv1d_activations(path: Path) -> str:
    """1-D convolutions (no NCHWc form) with Relu, Clip and Sigmoid: FusedConv on ORT."""
    nodes = [helper.make_node("Conv", ["x", "W0", "B0"], ["c0"], name="conv0", pads=[1, 1]),
             helper.make_node("Relu", ["c0"], ["r0"], name="relu0"),
             helper.make_node("Conv", ["r0", "W1", "B1"], ["c1"], name="conv1", pads=[1, 1]),
             helper.make_node("Clip", ["c1", "lo", "hi"], ["r1"], name="clip1"),
             helper.make_node("Conv", ["r1", "W2", "B1"], ["c2"], name="conv2", pads=[1, 1]),
             helper.make_node("Sigmoid", ["c2"], ["y"], name="sig2")]
    inits = [weights("W0", 8, 3, 3), weights("B0", 8), weights("W1", 8, 8, 3), weights("B1", 8),
             weights("W2", 8, 8, 3), scalar("lo", 0.0), scalar("hi", 6.0)]
    return save(path, nodes, inits, [1, 3, 32], [1, 8, 32])


def bn_mul_chain(path: Path) -> str:
    """Conv-BN-Mul-Relu, then a BN and a Mul of their own (NCHWc runs them as depthwise
    Convs), then a Conv whose output is added to its own input."""
    nodes = [
        helper.make_node("Conv", ["x", "W0"], ["c0"], name="conv0", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c0", "s", "b", "m", "v"], ["b0"], name="bn0"),
        helper.make_node("Mul", ["b0", "k"], ["m0"], name="mul0"),
        helper.make_node("Relu", ["m0"], ["r0"], name="relu0"),
        helper.make_node("BatchNormalization", ["r0", "s", "b", "m", "v"], ["b1"], name="bn1"),
        helper.make_node("Mul", ["b1", "k"], ["m1"], name="mul1"),
        helper.make_node("Conv", ["m1", "W1"], ["c1"], name="conv1"),
        helper.make_node("Add", ["c1", "m1"], ["y"], name="add1"),
    ]
    inits = [weights("W0", 16, 3, 3, 3), weights("W1", 16, 16, 1, 1), *bn_inits(16),
             scalar("k", 0.5, (1, 16, 1, 1))]
    return save(path, nodes, inits, [1, 3, 16, 16], [1, 16, 16, 16])


def transformer_mlp(path: Path) -> str:
    """MatMul+Add (Gemm between inserted reshapes), residual Add + LayerNormalization
    (SkipLayerNormalization), MatMul+Add+erf-GELU."""
    nodes = [
        helper.make_node("MatMul", ["x", "M0"], ["mm0"], name="mm0"),
        helper.make_node("Add", ["mm0", "bias0"], ["a0"], name="add0"),
        helper.make_node("Add", ["a0", "x"], ["res0"], name="resadd0"),
        helper.make_node("LayerNormalization", ["res0", "g", "be"], ["ln0"], name="ln0", axis=-1),
        helper.make_node("MatMul", ["ln0", "M1"], ["mm1"], name="mm1"),
        helper.make_node("Add", ["mm1", "bias1"], ["a1"], name="add1"),
        helper.make_node("Div", ["a1", "sqrt2"], ["d1"], name="div1"),
        helper.make_node("Erf", ["d1"], ["e1"], name="erf1"),
        helper.make_node("Add", ["e1", "one"], ["p1"], name="addone1"),
        helper.make_node("Mul", ["a1", "p1"], ["q1"], name="mulg1"),
        helper.make_node("Mul", ["q1", "half"], ["y"], name="half1"),
    ]
    inits = [weights("M0", 32, 32), weights("bias0", 32), weights("g", 32), weights("be", 32),
             weights("M1", 32, 32), weights("bias1", 32), scalar("sqrt2", 1.4142135),
             scalar("one", 1.0), scalar("half", 0.5)]
    return save(path, nodes, inits, [2, 8, 32], [2, 8, 32])


def recurrent(path: Path) -> str:
    """MatMul, LSTM, Squeeze, GRU, Squeeze, MatMul, Tanh over 16 steps."""
    hidden = 32
    nodes = [helper.make_node("MatMul", ["x", "Win"], ["e"], name="embed"),
             helper.make_node("LSTM", ["e", "W", "R", "B"], ["Y", "Yh"], name="lstm",
                              hidden_size=hidden),
             helper.make_node("Squeeze", ["Y", "axis"], ["ys"], name="sq"),
             helper.make_node("GRU", ["ys", "GW", "GR", "GB"], ["Z", "Zh"], name="gru",
                              hidden_size=hidden),
             helper.make_node("Squeeze", ["Z", "axis"], ["zs"], name="sq2"),
             helper.make_node("MatMul", ["zs", "Wout"], ["o"], name="proj"),
             helper.make_node("Tanh", ["o"], ["y"], name="act")]
    inits = [weights("Win", 16, 16), weights("W", 1, 4 * hidden, 16),
             weights("R", 1, 4 * hidden, hidden), weights("B", 1, 8 * hidden),
             weights("GW", 1, 3 * hidden, hidden), weights("GR", 1, 3 * hidden, hidden),
             weights("GB", 1, 6 * hidden), weights("Wout", hidden, 10),
             numpy_helper.from_array(np.array([1], np.int64), "axis")]
    return save(path, nodes, inits, [16, 1, 16], [16, 1, 10])


def bidirectional_lstm(path: Path) -> str:
    """MatMul, a bidirectional LSTM (the compile splits it into forward and backward
    LSTMSequences under new names), Transpose + Reshape joining the directions, MatMul, Tanh."""
    hidden = 16
    nodes = [helper.make_node("MatMul", ["x", "Win"], ["e"], name="embed"),
             helper.make_node("LSTM", ["e", "W", "R", "B"], ["Y", "Yh"], name="bilstm",
                              hidden_size=hidden, direction="bidirectional"),
             helper.make_node("Transpose", ["Y"], ["t"], name="join", perm=[0, 2, 1, 3]),
             helper.make_node("Reshape", ["t", "flat"], ["r"], name="flatten"),
             helper.make_node("MatMul", ["r", "Wout"], ["o"], name="proj"),
             helper.make_node("Tanh", ["o"], ["y"], name="act")]
    inits = [weights("Win", 8, 8), weights("W", 2, 4 * hidden, 8),
             weights("R", 2, 4 * hidden, hidden), weights("B", 2, 8 * hidden),
             weights("Wout", 2 * hidden, 4),
             numpy_helper.from_array(np.array([0, 0, -1], np.int64), "flat")]
    return save(path, nodes, inits, [12, 1, 8], [12, 1, 4])


def shape_chain(path: Path) -> str:
    """Reshape targets computed from the input's shape (Shape -> Gather -> Unsqueeze ->
    Concat), as exporters write a flatten; the batch dim is symbolic, and the batch size
    feeds two targets, so no single layer absorbs the chain."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "zero"], ["n"], name="batch", axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["n1"], name="unsqueeze"),
             helper.make_node("Concat", ["n1", "minus1"], ["target"], name="target", axis=0),
             helper.make_node("Reshape", ["x", "target"], ["f"], name="flatten"),
             helper.make_node("MatMul", ["f", "M"], ["m"], name="fc"),
             helper.make_node("Relu", ["m"], ["r"], name="relu"),
             helper.make_node("Concat", ["n1", "two", "five"], ["split"], name="split", axis=0),
             helper.make_node("Reshape", ["r", "split"], ["y"], name="unflatten")]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"),
             numpy_helper.from_array(np.array([0], np.int64), "axes"),
             numpy_helper.from_array(np.array([-1], np.int64), "minus1"),
             numpy_helper.from_array(np.array([2], np.int64), "two"),
             numpy_helper.from_array(np.array([5], np.int64), "five"),
             weights("M", 3 * 8 * 8, 10)]
    return save(path, nodes, inits, ["N", 3, 8, 8], ["N", 2, 5])


def covering(profile: LayerProfile) -> dict[str, RuntimeLayer]:
    return {node: layer for layer in profile.layers for node in layer.model_nodes}


def assert_fully_mapped(profile: LayerProfile) -> None:
    """No compute node left unmapped; only reorders, converts and copies cover no node."""
    assert profile.unmapped_model_nodes == [], profile.notes
    orphans = [(layer.name, layer.kind) for layer in profile.layers if not layer.model_nodes]
    assert all(kind in UNMAPPED_KINDS for _, kind in orphans), orphans
    # ORT traces time each run: median; OpenVINO's CPU counters are running means: mean
    assert profile.statistic == ("median" if profile.layers[0].provider != "CPU" else "mean")


def by_type(profile: LayerProfile, layer_type: str) -> list[RuntimeLayer]:
    return [layer for layer in profile.layers if layer.layer_type == layer_type]


@pytest.mark.parametrize("device", ["ort:cpu", "ov:CPU"])
def test_swish_cnn_maps_every_layer(tmp_path: Path, device: str) -> None:
    profile = profile_of(device, swish_cnn(tmp_path / "swish.onnx"), iterations=5)
    assert_fully_mapped(profile)
    nodes = covering(profile)
    assert nodes["sig0"] is nodes["mul0"] and nodes["sig1"] is nodes["mul1"]
    assert nodes["conv2"] is nodes["relu2"]
    assert device != "ort:cpu" or len(by_type(profile, "QuickGelu")) == 2
    for quick_gelu in by_type(profile, "QuickGelu"):  # ORT: x*sigmoid(x) as one kernel
        assert quick_gelu.kind == "fused"
        assert quick_gelu.model_nodes in (["sig0", "mul0"], ["sig1", "mul1"])
        assert "conv0" not in quick_gelu.model_nodes and "dw1" not in quick_gelu.model_nodes


def test_ort_conv_activations_are_fused_conv_layers(tmp_path: Path) -> None:
    profile = profile_of("ort:cpu", conv1d_activations(tmp_path / "c1d.onnx"), iterations=3)
    assert_fully_mapped(profile)
    fused = {layer.name: layer.model_nodes for layer in profile.layers}
    assert fused == {"conv0": ["conv0", "relu0"], "conv1": ["conv1", "clip1"],
                     "conv2": ["conv2", "sig2"]}
    assert {layer.layer_type for layer in profile.layers} == {"FusedConv"}


@pytest.mark.parametrize("device", ["ort:cpu", "ov:CPU"])
def test_batchnorm_and_mul_chains_map_to_their_own_layers(tmp_path: Path, device: str) -> None:
    profile = profile_of(device, bn_mul_chain(tmp_path / "bn.onnx"), iterations=3)
    assert_fully_mapped(profile)
    nodes = covering(profile)
    assert nodes["conv0"] is nodes["bn0"] is nodes["mul0"] is nodes["relu0"]
    assert "bn1" in nodes and "mul1" in nodes and "add1" in nodes
    assert "bn1" not in nodes["conv1"].model_nodes  # not claimed by the Conv after it
    for reorder in (layer for layer in profile.layers if "Reorder" in layer.layer_type):
        assert reorder.kind == "reorder" and reorder.model_nodes == []


@pytest.mark.parametrize("device", ["ort:cpu", "ov:CPU"])
def test_matmul_add_layernorm_and_gelu_fusions(tmp_path: Path, device: str) -> None:
    profile = profile_of(device, transformer_mlp(tmp_path / "mlp.onnx"), iterations=3)
    assert_fully_mapped(profile)
    nodes = covering(profile)
    assert nodes["mm0"] is nodes["add0"] and nodes["mm1"] is nodes["add1"]
    assert device != "ort:cpu" or len(by_type(profile, "Gemm")) == 2
    for gemm in by_type(profile, "Gemm"):  # ORT: MatMul+Add, reshapes around it are layout
        assert gemm.model_nodes in (["mm0", "add0"], ["mm1", "add1"])
    for skip in by_type(profile, "SkipLayerNormalization"):
        assert skip.model_nodes == ["resadd0", "ln0"]
    for gelu in by_type(profile, "Gelu"):
        assert gelu.model_nodes == ["div1", "erf1", "addone1", "mulg1", "half1"]


def test_openvino_recurrent_sequences_list_their_nodes(tmp_path: Path) -> None:
    profile = profile_of("ov:CPU", recurrent(tmp_path / "rnn.onnx"), iterations=3)
    assert_fully_mapped(profile)
    sequences = by_type(profile, "RNNSeq")
    assert len(sequences) == 2
    assert "lstm" in sequences[0].model_nodes and "gru" in sequences[1].model_nodes
    assert all(layer.kind != "inserted" for layer in profile.layers)


def test_openvino_split_bidirectional_lstm_halves_list_the_lstm(tmp_path: Path) -> None:
    profile = profile_of("ov:CPU", bidirectional_lstm(tmp_path / "bilstm.onnx"), iterations=3)
    assert_fully_mapped(profile)
    halves = by_type(profile, "RNNSeq")
    assert len(halves) == 2  # forward and backward, named by the compile, not by the model
    assert all("bilstm" in half.model_nodes for half in halves), [h.name for h in halves]
    assert all(layer.kind != "inserted" for layer in profile.layers)


def test_openvino_shape_chain_folded_at_static_shapes_is_not_unmapped(tmp_path: Path) -> None:
    profile = profile_of("ov:CPU", shape_chain(tmp_path / "chain.onnx"), iterations=3)
    assert_fully_mapped(profile)  # Gather and Concat ran at compile time, not as layers
    assert "fc" in covering(profile)


def test_shape_chains_count_as_fixed_only_at_static_shapes(tmp_path: Path) -> None:
    path = shape_chain(tmp_path / "chain.onnx")
    static = onnx_model_index(path, {"x": (2, 3, 8, 8)})
    chain = ["shape", "batch", "unsqueeze", "target", "split"]
    assert [n for n in chain if static.is_fixed(n)] == chain
    assert static.compute_nodes() == ["fc", "relu"]
    assert onnx_model_index(path).compute_nodes() == ["batch", "target", "split", "fc", "relu"]


def test_a_node_read_only_by_a_shape_is_dead_at_static_shapes(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="only_shaped"),
             helper.make_node("Shape", ["a"], ["s"], name="shape"),
             helper.make_node("Reshape", ["x", "s"], ["r"], name="reshape"),
             helper.make_node("Sigmoid", ["r"], ["y"], name="sig")]
    path = save(tmp_path / "dead.onnx", nodes, [], [2, 4], [2, 4])
    assert onnx_model_index(path, {"x": (2, 4)}).compute_nodes() == ["sig"]
    assert onnx_model_index(path).compute_nodes() == ["only_shaped", "sig"]


def test_unnamed_runtime_layers_inherit_the_node_they_feed() -> None:
    index = ModelIndex([ModelNodeRef("mm", "MatMul", ["x", "w"], ["m"]),
                        ModelNodeRef("lstm", "LSTM", ["m", "W", "R"], ["h"]),
                        ModelNodeRef("act", "Tanh", ["h"], ["y"])], {"w", "W", "R"}, {"x"})
    layers = [OvLayerInfo("mm", "FullyConnected", original_names=["mm"], inputs=["x"]),
              OvLayerInfo("Seq_1", "RNNSeq", original_names=["Seq_1"], inputs=["mm"]),
              OvLayerInfo("Seq_2", "RNNSeq", original_names=["Seq_2"], inputs=["mm"]),
              OvLayerInfo("Seq_2_cvt", "Reorder", inputs=["Seq_2"]),
              OvLayerInfo("lstm.0", "Concatenation", original_names=["lstm.0"],
                          inputs=["Seq_1", "Seq_2_cvt"]),
              OvLayerInfo("act", "Eltwise", original_names=["act"], inputs=["lstm.0"]),
              OvLayerInfo("tail_9", "Eltwise", original_names=["tail_9"], inputs=["act"])]
    assert [m.nodes for m in map_layers(layers, index)] == [
        ["mm"], ["lstm"], ["lstm"], [], ["lstm"], ["act"], ["act"]]
    times = {layer.name: 1.0 for layer in layers}
    profile = build_ov_profile(layers, times, 1, index, [7.0], "CPU", "mean")
    kinds = {layer.name: layer.kind for layer in profile.layers}
    assert kinds["Seq_1"] == kinds["Seq_2"] == "compute" and kinds["Seq_2_cvt"] == "reorder"


def test_a_renamed_layer_does_not_split_the_chain_its_reader_absorbed() -> None:
    """Slices fused into a VariadicSplit under a new name: the Subgraph named after Pow and
    Sqrt still absorbs the Slice -> Cast chain before it; the split lists the node it feeds."""
    index = ModelIndex([ModelNodeRef("conv", "Conv", ["x", "w"], ["c"]),
                        ModelNodeRef("slice", "Slice", ["c", "k"], ["s"]),
                        ModelNodeRef("cast", "Cast", ["s"], ["f"]),
                        ModelNodeRef("pow", "Pow", ["f", "k"], ["p"]),
                        ModelNodeRef("sqrt", "Sqrt", ["p"], ["y"])], {"w", "k"}, {"x"})
    layers = [OvLayerInfo("conv", "Convolution", original_names=["conv"], inputs=["x"]),
              OvLayerInfo("VariadicSplit_7", "Split", original_names=["VariadicSplit_7"],
                          inputs=["conv"]),
              OvLayerInfo("sqrt", "Subgraph", original_names=["pow", "sqrt"],
                          inputs=["VariadicSplit_7"])]
    profile = build_ov_profile(layers, {layer.name: 1.0 for layer in layers}, 1, index,
                               [3.0], "CPU", "mean")
    assert profile.unmapped_model_nodes == []
    assert [layer.model_nodes for layer in profile.layers] == [
        ["conv"], ["pow"], ["slice", "cast", "pow", "sqrt"]]


def test_an_unnamed_layer_feeding_two_nodes_lists_both() -> None:
    index = ModelIndex([ModelNodeRef("a", "Relu", ["x"], ["ya"]),
                        ModelNodeRef("b", "Sigmoid", ["x"], ["yb"])], set(), {"x"})
    layers = [OvLayerInfo("new_1", "Eltwise", original_names=["new_1"], inputs=["x"]),
              OvLayerInfo("a", "Eltwise", original_names=["a"], inputs=["new_1"]),
              OvLayerInfo("b", "Eltwise", original_names=["b"], inputs=["new_1"])]
    assert map_layers(layers, index)[0].nodes == ["a", "b"]  # work both read: a shared layer
    reader = [OvLayerInfo("a", "Eltwise", original_names=["a"], inputs=["x"]),
              OvLayerInfo("b", "Eltwise", original_names=["b"], inputs=["x"]),
              OvLayerInfo("new_2", "Eltwise", original_names=["new_2"], inputs=["a", "b"])]
    assert map_layers(reader, index)[2].nodes == []  # reads two nodes and feeds none: unknown


def test_fp16_ir_reports_arithmetic_and_storage_apart(tmp_path: Path) -> None:
    ov = pytest.importorskip("openvino")
    ir_path = str(tmp_path / "swish16.xml")
    ov.save_model(ov.Core().read_model(swish_cnn(tmp_path / "swish.onnx")), ir_path,
                  compress_to_fp16=True)
    backend = create_backend("ov:CPU")
    backend.load(ir_path, RunSettings(device="ov:CPU", precision="f32", threads=2))
    backend.compile()
    inputs = make_inputs(backend.input_specs(), None)
    try:
        profile = backend.profile_layers(inputs, 3)
        assert backend.actual_precision() == "f32"  # what the kernels computed in
        assert backend.weight_precision() == "f16"  # how the weights are stored
    finally:
        backend.close()
    convolutions = by_type(profile, "Convolution")
    assert convolutions and all(kernel_precision(c.kernel) == "f32" for c in convolutions)
    assert arithmetic_precision(profile.layers) == "f32"


def test_onnx_weight_storage_precision(tmp_path: Path) -> None:
    backend = create_backend("ort:cpu")
    backend.load(swish_cnn(tmp_path / "swish.onnx"), RunSettings(device="ort:cpu"))
    assert backend.weight_precision() == "f32"


# --- pure parts ------------------------------------------------------------------------------

def test_kernel_names_say_what_ran() -> None:
    assert kernel_precision("brgconv_avx2_1x1_f32") == "f32"
    assert kernel_precision("jit_avx512_bf16") == "bf16"
    assert kernel_precision("gemm_avx512_amx_bf16") == "bf16"
    assert kernel_precision("jit_avx512_FP32") == "f32"
    assert kernel_precision("brgemm_avx512_amx_I8") == "i8"
    assert kernel_precision("ref_f32") == "f32"
    assert kernel_precision("unknown") == ""
    # runtimePrecision follows the stored FP16 weights; the kernels ran in f32
    fp16_ir = [OvLayerInfo("conv", "Convolution", "brgconv_avx2_1x1_f32", "f16", ["conv"]),
               OvLayerInfo("fc", "FullyConnected", "brgemm_avx2_f32", "f16", ["fc"])]
    assert majority_precision(fp16_ir) == "f32"


def test_cpu_capabilities_decide_what_a_hint_can_get() -> None:
    assert expected_cpu_precision("bf16", {"avx2", "avx512f"}) == "f32"
    assert expected_cpu_precision("bf16", {"avx512_bf16"}) == "bf16"
    assert expected_cpu_precision("f16", {"amx_fp16"}) == "f16"
    assert expected_cpu_precision("", {"avx512_fp16"}) == "f32"
    assert cpu_can_compute("f32", set()) and not cpu_can_compute("f16", {"avx2"})


def test_arithmetic_precision_is_the_time_majority_of_matrix_layers() -> None:
    layers = [RuntimeLayer("a", "Convolution", "brgconv_avx512_bf16", "bf16", time_ms=3.0),
              RuntimeLayer("b", "Convolution", "jit_avx512_f32", "f32", time_ms=1.0),
              RuntimeLayer("c", "FullyConnected", "brgemm_avx512_f32", "f32", time_ms=1.0),
              RuntimeLayer("r", "Reorder", "jit_uni_f32", "f32", time_ms=9.0)]
    assert arithmetic_precision(layers) == "bf16"
    assert arithmetic_precision(layers, by_time=False) == "f32"


def test_name_candidates_strip_runtime_suffixes() -> None:
    assert list(name_candidates("mul0/QuickGeluFusion/")) == [
        ("mul0/QuickGeluFusion/", True), ("mul0", True)]
    assert list(name_candidates("b1_bn_nchwc_token_3")) == [
        ("b1_bn_nchwc_token_3", True), ("b1_bn_nchwc", True), ("b1_bn", False), ("b1", False)]


def test_layer_times_are_medians_over_runs() -> None:
    events = [run_event(0, 100), run_event(1000, 100), run_event(2000, 100), run_event(3000, 100)]
    for start, duration in ((0, 5), (1000, 10), (2000, 90), (3000, 12)):
        events.append({"cat": "Node", "name": "conv_kernel_time", "ts": start + 10,
                       "dur": duration, "args": {"op_name": "Conv"}})
    nodes, runs = trace_nodes(events, skip_runs=1)
    assert runs == 3 and nodes[0].median_ms(runs) == pytest.approx(0.012)  # not the 0.037 mean
    assert median_ms([0.1, 0.9, 0.2], 3) == pytest.approx(0.2)
    assert median_ms([0.5], 3) == 0.0  # ran in one iteration of three


def flat_index() -> ModelIndex:
    from profiler.runtime.backend import ModelNodeRef

    return ModelIndex([ModelNodeRef("n", "Relu", ["x"], ["y"])], set(), {"x"})


@pytest.mark.parametrize(("layer_ms", "flag"), [(2.12, "high"), (0.5, "low"), (1.0, ""),
                                                 (0.8, ""), (1.25, "")])
def test_coverage_outside_80_to_125_percent_is_flagged(layer_ms: float, flag: str) -> None:
    layers = [RuntimeLayer("n", "Relu", time_ms=layer_ms, model_nodes=["n"])]
    profile = finish_profile(layers, flat_index(), [1.0, 1.0, 1.0], 3, [])
    assert profile.coverage == pytest.approx(layer_ms) and profile.coverage_flag == flag
    warning = coverage_warning(profile)
    assert bool(warning) == bool(flag)
    if flag == "high":
        assert warning.startswith("per-layer times sum to 212 % of the end-to-end median: "
                                  "the layer figures are distorted")
        assert warning.endswith("compare layers with each other, not with the total")


class Counter:
    """One entry of request.profiling_info."""

    def __init__(self, name: str, real_us: int) -> None:
        self.node_name, self.status = name, "Status.EXECUTED"
        self.real_time = timedelta(microseconds=real_us)


def test_cpu_running_mean_counters_give_the_mean_of_timed_inferences() -> None:
    # the CPU plugin reports the mean since compile: a 900 us warm-up, then 100, 110, 90 us
    log = CounterLog(running_mean=True)
    for total_us, count in ((900, 1), (1000, 2), (1110, 3), (1200, 4)):
        log.add([Counter("conv", total_us // count)])
    assert log.statistic == "mean"
    assert log.layer_times_ms()["conv"] == pytest.approx(0.1, abs=0.002)  # not 0.3 (with warm-up)


def test_per_inference_counters_give_the_median() -> None:
    log = CounterLog(running_mean=False)
    for real_us in (900, 100, 400, 90):
        log.add([Counter("conv", real_us)])
    assert log.statistic == "median" and log.layer_times_ms()["conv"] == pytest.approx(0.1)


def test_layers_inside_an_if_body_are_their_own_nodes_and_not_counted_twice(
        tmp_path: Path) -> None:
    """ORT traces an If and, separately, every kernel of the branch it ran: the body's kernels
    map to their own nodes, and the If keeps only its own time."""
    def branch(name: str) -> onnx.GraphProto:
        return helper.make_graph(
            [helper.make_node("MatMul", ["x", f"{name}_w"], [f"{name}_y"], name=f"{name}_mm"),
             helper.make_node("Relu", [f"{name}_y"], [f"{name}_out"], name=f"{name}_relu")],
            name, [], [helper.make_tensor_value_info(f"{name}_out", TensorProto.FLOAT, [1, 32])],
            [weights(f"{name}_w", 64, 32)])
    nodes = [helper.make_node("ReduceSum", ["x"], ["s"], name="sum", keepdims=0),
             helper.make_node("Greater", ["s", "zero"], ["c"], name="positive"),
             helper.make_node("If", ["c"], ["y"], name="if", then_branch=branch("then"),
                              else_branch=branch("else"))]
    path = save(tmp_path / "if.onnx", nodes, [scalar("zero", -1e9)], [1, 64], [1, 32])
    profile = profile_of("ort:cpu", path, iterations=5)
    by_name = {layer.name: layer for layer in profile.layers}
    assert by_name["then_mm"].model_nodes == ["then_mm"] and by_name["then_mm"].kind == "compute"
    assert "else_mm" not in by_name  # the branch that did not run has no kernel
    assert not any(layer.kind == "inserted" for layer in profile.layers)
    assert any("inside If/Loop/Scan bodies" in note for note in profile.notes)


def test_a_control_flow_layer_keeps_only_its_own_time() -> None:
    from profiler.runtime.layers_ort import _nest_bodies

    layers = [RuntimeLayer(name="if", time_ms=1.0, model_nodes=["if"]),
              RuntimeLayer(name="then_mm", time_ms=0.3, kind="inserted"),
              RuntimeLayer(name="inner_if", time_ms=0.4, kind="inserted"),
              RuntimeLayer(name="deep_mm", time_ms=0.25, kind="inserted")]
    _nest_bodies(layers, {"then_mm": "if", "inner_if": "if", "deep_mm": "inner_if"})
    times = {layer.name: layer.time_ms for layer in layers}
    assert times == pytest.approx({"if": 0.3, "then_mm": 0.3, "inner_if": 0.15, "deep_mm": 0.25})
    assert sum(times.values()) == pytest.approx(1.0)  # the If's span, counted once
