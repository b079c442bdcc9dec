"""Building quantized/converted variants with the real libraries, their cache, and exclusions."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.offline import import_openvino
from profiler.quant.cache import VariantCache
from profiler.quant.data import RandomSource, model_input_specs, open_data
from profiler.quant.variants import (
    VARIANTS,
    BuiltVariant,
    VariantBuildError,
    VariantOptions,
    build_variant,
)
from tests.conftest import REPO_ROOT, ZOO_DIR

ov = import_openvino()
SAMPLE_INPUT = np.random.default_rng(5).standard_normal((1, 3, 32, 32)).astype(np.float32)
FLOAT_TOLERANCE = 0.02
"""Max |variant - fp32| over max |fp32|: fp16, and OpenVINO's CPU may run FP32 IRs in bf16."""
INT8_TOLERANCE = 0.1


def small_cnn(opset: int = 17) -> onnx.ModelProto:
    """Conv(3->8) Relu Conv(8->16) GlobalAveragePool Flatten Gemm(16->10) at 1x3x32x32."""
    rng = np.random.default_rng(0)

    def weight(name: str, shape: tuple[int, ...]) -> TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.1).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["x", "c1w", "c1b"], ["a"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["b"], name="relu1"),
        helper.make_node("Conv", ["b", "c2w", "c2b"], ["c"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["d"], name="gap"),
        helper.make_node("Flatten", ["d"], ["e"], name="flatten"),
        helper.make_node("Gemm", ["e", "fw", "fb"], ["y"], name="fc", transB=1),
    ]
    inits = [weight("c1w", (8, 3, 3, 3)), weight("c1b", (8,)), weight("c2w", (16, 8, 3, 3)),
             weight("c2b", (16,)), weight("fw", (10, 16)), weight("fb", (10,))]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def save_model(model: onnx.ModelProto, path: Path) -> str:
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture(scope="module")
def cnn_path(tmp_path_factory: pytest.TempPathFactory) -> str:
    return save_model(small_cnn(), tmp_path_factory.mktemp("model") / "cnn.onnx")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> VariantCache:
    return VariantCache(tmp_path_factory.mktemp("cache"))


def random_data(path: str, seed: int = 0) -> RandomSource:
    return RandomSource(model_input_specs(path), seed)


def build(path: str, variant: str, cache: VariantCache, **options: object) -> BuiltVariant:
    settings = VariantOptions(calibration_samples=8, **options)  # type: ignore[arg-type]
    return build_variant(path, variant, settings, random_data(path), cache)


def run_variant(built: BuiltVariant, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One inference in the variant's own runtime, outputs by name."""
    if built.format == "onnx":
        session = ort.InferenceSession(built.path, providers=["CPUExecutionProvider"])
        names = [output.name for output in session.get_outputs()]
        return dict(zip(names, session.run(None, feed), strict=True))
    compiled = ov.Core().compile_model(built.path, "CPU")
    result = compiled(feed)
    return {output.get_any_name(): result[output] for output in compiled.outputs}


def io_signature(built: BuiltVariant) -> list[tuple[str, str, list[int]]]:
    if built.format == "onnx":
        session = ort.InferenceSession(built.path, providers=["CPUExecutionProvider"])
        values = session.get_inputs() + session.get_outputs()
        return [(v.name, v.type, list(v.shape)) for v in values]
    model = ov.Core().read_model(built.path)
    ports = list(model.inputs) + list(model.outputs)
    return [(p.get_any_name(), p.get_element_type().get_type_name(), list(p.get_shape()))
            for p in ports]


def onnx_nodes(path: str) -> dict[str, onnx.NodeProto]:
    return {node.name: node for node in onnx.load(path).graph.node}


def sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- every variant builds and runs ---------------------------------------------------------


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_variant_builds_and_runs_with_the_same_io(variant: str, cnn_path: str,
                                                  shared_cache: VariantCache) -> None:
    built = build(cnn_path, variant, shared_cache)
    reference = ort.InferenceSession(cnn_path).run(None, {"x": SAMPLE_INPUT})[0]
    output = run_variant(built, {"x": SAMPLE_INPUT})["y"]
    error = float(np.abs(output - reference).max() / np.abs(reference).max())
    assert output.shape == (1, 10)
    assert error < (INT8_TOLERANCE if "int" in variant else FLOAT_TOLERANCE)
    expected_io = [("x", [1, 3, 32, 32]), ("y", [1, 10])]
    assert [(name, shape) for name, _, shape in io_signature(built)] == expected_io
    assert {kind for _, kind, _ in io_signature(built)} <= {"tensor(float)", "f32"}
    assert built.file_bytes == sum(os.path.getsize(f) for f in built.files) > 0
    assert Path(built.path).parent.parent == shared_cache.root
    assert built.library_versions and all(built.library_versions.values())


def test_each_variant_holds_its_precision(cnn_path: str, shared_cache: VariantCache) -> None:
    fp16 = onnx.load(build(cnn_path, "fp16", shared_cache).path)
    assert {t.data_type for t in fp16.graph.initializer if t.name.startswith("c1w")} == {
        TensorProto.FLOAT16}
    dynamic = {n.op_type for n in onnx.load(build(cnn_path, "int8-dynamic", shared_cache).path)
               .graph.node}
    assert {"ConvInteger", "DynamicQuantizeLinear"} <= dynamic
    static = onnx.load(build(cnn_path, "int8-static", shared_cache).path)
    assert {"QuantizeLinear", "DequantizeLinear"} <= {n.op_type for n in static.graph.node}
    int8_weights = [t for t in static.graph.initializer if t.data_type == TensorProto.INT8
                    and len(t.dims) == 4]
    assert len(int8_weights) == 2  # both Conv weights, per channel
    ov_fp16 = ov.Core().read_model(build(cnn_path, "ov-fp16", shared_cache).path)
    assert any(op.get_output_element_type(0).get_type_name() == "f16"
               for op in ov_fp16.get_ops() if op.get_type_name() == "Constant")
    ov_int8 = build(cnn_path, "ov-int8", shared_cache)
    assert ov_int8.details["int8_weights"] == 3
    types = {op.get_type_name() for op in ov.Core().read_model(ov_int8.path).get_ops()}
    assert "FakeQuantize" in types
    assert build(cnn_path, "ov-int8-weights", shared_cache).details == {
        "int4_weights": 0, "int8_weights": 3}


def test_int8_static_records_its_settings(cnn_path: str, shared_cache: VariantCache) -> None:
    built = build(cnn_path, "int8-static", shared_cache)
    settings = built.settings
    assert settings["quant_format"] == "QDQ" and settings["per_channel"] is True
    assert settings["weight_type"] == "QInt8" and settings["calibrate_method"] == "MinMax"
    assert settings["activation_type"] in ("QUInt8", "QInt8")
    assert settings["calibration_samples_used"] == 8
    assert built.data_is_random and any("indicative only" in w for w in built.warnings)


def test_percentile_calibration_and_int8_activations(cnn_path: str, tmp_path: Path) -> None:
    built = build(cnn_path, "int8-static", VariantCache(tmp_path),
                  calibration_method="percentile", activation_type="int8")
    assert built.settings["calibrate_method"] == "Percentile"
    assert built.settings["activation_type"] == "QInt8"
    model = onnx.load(built.path)
    quantize_of_x = next(n for n in model.graph.node
                         if n.op_type == "QuantizeLinear" and n.input[0] == "x")
    zero_point = {t.name: t for t in model.graph.initializer}[quantize_of_x.input[2]]
    assert zero_point.data_type == TensorProto.INT8
    assert run_variant(built, {"x": SAMPLE_INPUT})["y"].shape == (1, 10)


def test_unreadable_calibration_image_fails_the_build(cnn_path: str, tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "images"
    folder.mkdir()
    Image.new("RGB", (40, 40), (10, 200, 30)).save(folder / "a.png")
    (folder / "b.png").write_bytes(b"not a png")
    data = open_data(model_input_specs(cnn_path), str(folder))
    cache = VariantCache(tmp_path / "cache")
    with pytest.raises(VariantBuildError, match=f"^ov-int8: {folder / 'b.png'}: cannot read"):
        build_variant(cnn_path, "ov-int8", VariantOptions(calibration_samples=2), data, cache)
    assert cache.entries() == [] and list(cache.root.iterdir()) == []


def test_int4_weights_compress_matmul_weights(tmp_path: Path) -> None:
    """NNCF gives INT4 to inner MatMul weights; the last layer keeps its INT8 backup."""
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.standard_normal((128, 128)).astype(np.float32), f"w{i}")
             for i in range(3)]
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h0"], name="mm0"),
             helper.make_node("MatMul", ["h0", "w1"], ["h1"], name="mm1"),
             helper.make_node("MatMul", ["h1", "w2"], ["y"], name="mm2")]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 128])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 128])], inits)
    path = save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                      tmp_path / "mlp.onnx")
    built = build(path, "ov-int4-weights", VariantCache(tmp_path / "cache"))
    assert built.details == {"int4_weights": 2, "int8_weights": 1}
    assert built.settings["int4_group_size"] == 128 and built.settings["int4_mode"] == "sym"
    assert not any("INT4" in warning for warning in built.warnings)
    assert run_variant(built, {"x": np.ones((1, 128), np.float32)})["y"].shape == (1, 128)


def test_fp16_of_an_int8_model_keeps_its_quantized_ops_in_float32(tmp_path: Path) -> None:
    """An int8 QDQ weight: fp16 must not retype DequantizeLinear's scale (opset 17 allows
    float32 only), or the variant no longer loads."""
    weight = numpy_helper.from_array(np.ones((16, 8), np.int8), "w_q")
    scale = numpy_helper.from_array(np.array(0.05, np.float32), "w_scale")
    zero = numpy_helper.from_array(np.array(0, np.int8), "w_zero")
    nodes = [helper.make_node("DequantizeLinear", ["w_q", "w_scale", "w_zero"], ["w"],
                              name="dq"),
             helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    graph = helper.make_graph(
        nodes, "qdq", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8])], [weight, scale, zero])
    path = save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
                      tmp_path / "qdq.onnx")
    built = build(path, "fp16", VariantCache(tmp_path / "cache"))
    outputs = run_variant(built, {"x": np.ones((1, 16), np.float32)})
    assert outputs["y"].shape == (1, 8)


def test_ov_variants_take_a_tflite_model(tmp_path: Path) -> None:
    from tests.core.tflite_builder import fully_connected_add_model, tflite_bytes

    path = tmp_path / "fc.tflite"
    path.write_bytes(tflite_bytes(fully_connected_add_model()))
    built = build(str(path), "ov-fp16", VariantCache(tmp_path / "cache"))
    assert built.path.endswith(".xml")
    assert run_variant(built, {"x": np.ones((1, 4), np.float32)})["out"].shape == (1, 3)


# --- cache ---------------------------------------------------------------------------------


def test_second_build_comes_from_the_cache(cnn_path: str, tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)
    first = build(cnn_path, "int8-static", cache)
    second = build(cnn_path, "int8-static", cache)
    assert not first.cached and second.cached
    assert second.path == first.path and second.cache_key == first.cache_key
    assert second.build_seconds == first.build_seconds
    assert len(cache.entries()) == 1


def test_cache_key_follows_settings_and_data(cnn_path: str, tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)
    minmax = build(cnn_path, "int8-static", cache)
    entropy = build(cnn_path, "int8-static", cache, calibration_method="entropy")
    other_data = build_variant(cnn_path, "int8-static", VariantOptions(calibration_samples=8),
                               random_data(cnn_path, seed=7), cache)
    keys = {minmax.cache_key, entropy.cache_key, other_data.cache_key}
    assert len(keys) == 3 and not other_data.cached
    assert entropy.settings["calibrate_method"] == "Entropy"
    # data does not enter the key of a variant that takes none
    fp16_a = build_variant(cnn_path, "fp16", None, random_data(cnn_path, 1), cache)
    fp16_b = build_variant(cnn_path, "fp16", None, random_data(cnn_path, 2), cache)
    assert fp16_b.cached and fp16_b.cache_key == fp16_a.cache_key


def test_cache_dir_comes_from_the_environment(cnn_path: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "env-cache"))
    built = build_variant(cnn_path, "ov-fp32")
    assert Path(built.path).parent.parent == tmp_path / "env-cache"


# --- exclude -------------------------------------------------------------------------------


def test_excluded_node_stays_float_in_int8_static(cnn_path: str, tmp_path: Path) -> None:
    built = build(cnn_path, "int8-static", VariantCache(tmp_path), exclude_nodes=("conv2",))
    nodes = onnx_nodes(built.path)
    producers = {out: node.op_type for node in nodes.values() for out in node.output}
    inits = {t.name: t for t in onnx.load(built.path).graph.initializer}
    conv1_weight, conv2_weight = nodes["conv1"].input[1], nodes["conv2"].input[1]
    assert producers.get(conv1_weight) == "DequantizeLinear"
    assert conv2_weight in inits and inits[conv2_weight].data_type == TensorProto.FLOAT
    assert producers.get(nodes["conv2"].input[2]) is None  # bias: a float initializer too
    assert producers.get(nodes["conv1"].input[2]) == "DequantizeLinear"
    assert built.settings["exclude_nodes"] == ["conv2"]


def test_excluded_node_stays_float_in_int8_dynamic_and_fp16(cnn_path: str, tmp_path: Path,
                                                            ) -> None:
    cache = VariantCache(tmp_path)
    dynamic = onnx_nodes(build(cnn_path, "int8-dynamic", cache, exclude_nodes=("conv1",)).path)
    assert dynamic["conv1"].op_type == "Conv"
    assert any(n.op_type == "ConvInteger" for n in dynamic.values())
    fp16 = onnx.load(build(cnn_path, "fp16", cache, exclude_nodes=("conv2",)).path)
    weights = {t.name: t.data_type for t in fp16.graph.initializer}
    conv = {n.name: n for n in fp16.graph.node}
    assert weights[conv["conv2"].input[1]] == TensorProto.FLOAT
    assert weights[conv["conv1"].input[1]] == TensorProto.FLOAT16


def test_excluded_node_gets_no_quantizers_in_ov_int8(cnn_path: str, tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)
    built = build(cnn_path, "ov-int8", cache, exclude_nodes=("conv2",))
    ops = {op.get_friendly_name(): op for op in ov.Core().read_model(built.path).get_ops()}

    def input_types(name: str) -> list[str]:
        return [value.get_node().get_type_name() for value in ops[name].input_values()]

    # OpenVINO names a Conv with bias "NAME/WithoutBiases" (Convolution) + "NAME" (its Add)
    assert input_types("conv2/WithoutBiases") == ["Relu", "Constant"]
    assert input_types("conv1/WithoutBiases") == ["FakeQuantize", "Multiply"]
    assert built.details["int8_weights"] == 2
    weights_only = build(cnn_path, "ov-int8-weights", cache, exclude_nodes=("conv2",))
    assert weights_only.details["int8_weights"] == 2


def test_unknown_excluded_name_lists_valid_ones(cnn_path: str, tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)
    for variant, word in (("int8-static", "node"), ("ov-int8", "op")):
        with pytest.raises(VariantBuildError) as caught:
            build(cnn_path, variant, cache, exclude_nodes=("conv9",))
        message = str(caught.value)
        assert message.startswith(f"{variant}: no {word} named 'conv9'")
        assert "conv1" in message and "\n" not in message
    assert cache.entries() == []


# --- inputs, errors, the input model -------------------------------------------------------


def test_external_data_is_part_of_the_model(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    path = str(folder / "cnn.onnx")
    onnx.save(small_cnn(), path, save_as_external_data=True, all_tensors_to_one_file=True,
              location="cnn.weights", size_threshold=0)
    cache = VariantCache(tmp_path / "cache")
    first = build(path, "int8-static", cache)
    assert run_variant(first, {"x": SAMPLE_INPUT})["y"].shape == (1, 10)
    weights = folder / "cnn.weights"
    data = bytearray(weights.read_bytes())
    data[0] ^= 1  # another model with the same graph file
    weights.write_bytes(bytes(data))
    second = build(path, "int8-static", cache)
    assert not second.cached and second.model_sha256 != first.model_sha256
    assert sorted(os.listdir(folder)) == ["cnn.onnx", "cnn.weights"]


def test_ir_input_only_for_ov_variants(cnn_path: str, tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)
    ir = build(cnn_path, "ov-fp32", cache)
    weights = build(ir.path, "ov-int8-weights", cache)
    assert weights.details["int8_weights"] == 3
    with pytest.raises(VariantBuildError, match=r"^fp16: fp16 needs an ONNX model; .*\.xml is an "
                                                r"OpenVINO IR"):
        build(ir.path, "fp16", cache)


def test_missing_calibration_data_is_an_error(cnn_path: str, tmp_path: Path) -> None:
    for variant in ("int8-static", "ov-int8"):
        with pytest.raises(VariantBuildError, match=f"^{variant}: needs calibration data"):
            build_variant(cnn_path, variant, None, None, VariantCache(tmp_path))


def test_library_failure_is_one_clean_line(tmp_path: Path) -> None:
    node = helper.make_node("NoSuchOp", ["x"], ["y"], name="odd", domain="example.custom")
    graph = helper.make_graph(
        [node], "odd", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("example.custom", 1)])
    path = save_model(model, tmp_path / "odd.onnx")
    for variant in ("int8-dynamic", "ov-fp16"):
        with pytest.raises(VariantBuildError) as caught:
            build_variant(path, variant, None, None, VariantCache(tmp_path / "cache"))
        assert str(caught.value).startswith(f"{variant}: ")
        assert "NoSuchOp" in str(caught.value) and "\n" not in str(caught.value)


def test_unknown_variant_and_calibration_method(cnn_path: str, tmp_path: Path) -> None:
    with pytest.raises(VariantBuildError, match="unknown variant; known: fp16, int8-dynamic"):
        build(cnn_path, "int3", VariantCache(tmp_path))
    with pytest.raises(VariantBuildError, match="unknown calibration method 'median'"):
        build(cnn_path, "int8-static", VariantCache(tmp_path), calibration_method="median")
    with pytest.raises(VariantBuildError, match="unknown activation type 'int4'"):
        build(cnn_path, "int8-static", VariantCache(tmp_path), activation_type="int4")
    with pytest.raises(VariantBuildError, match="unknown INT4 mode 'nf4'"):
        build(cnn_path, "ov-int4-weights", VariantCache(tmp_path), int4_mode="nf4")


def test_old_ir_model_is_prepared_in_a_copy_and_never_modified(tmp_path: Path) -> None:
    """IR version 3, opset 9, weights listed as graph inputs: the zoo models' style."""
    model = small_cnn(opset=9)
    model.ir_version = 3
    model.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims))
                             for t in model.graph.initializer)
    path = save_model(model, tmp_path / "old.onnx")
    before = sha256(path)
    built = build(path, "int8-static", VariantCache(tmp_path / "cache"))
    assert sha256(path) == before
    assert sorted(os.listdir(tmp_path)) == ["cache", "old.onnx"]
    assert len(built.details["preparation"]) == 2  # inputs removed, opset 9 -> 13
    assert [name for name, _, _ in io_signature(built)] == ["x", "y"]
    assert run_variant(built, {"x": SAMPLE_INPUT})["y"].shape == (1, 10)


# --- ResNet-50 -----------------------------------------------------------------------------


def test_resnet50_int8_variants_are_under_a_third_of_fp32(tmp_path: Path) -> None:
    """INT8 variants of the zoo ResNet-50 hold at most 0.3 x the bytes of FP32 weights.

    The zoo file stores its weights as ConstantOfShape nodes (80 KB), so the FP32 sizes
    compared against are models whose weights are really stored: for int8-static, the FP32
    model as ONNX Runtime's basic optimiser writes it (constants folded, BatchNormalization
    folded into Conv: the same graph quantize_static quantizes); for ov-int8, the ov-fp32 IR
    read the same way as ov-int8 (OpenVINO's serializer stores identical constants once in
    both IRs, so they compare like for like).
    """
    source = str(ZOO_DIR / "light_resnet50.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp_path / "resnet50_fp32_folded.onnx")
    ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    fp32_onnx_bytes = os.path.getsize(options.optimized_model_filepath)
    assert fp32_onnx_bytes > 90_000_000  # 25.5 M parameters, stored as float32
    cache, data = VariantCache(tmp_path / "cache"), open_data(model_input_specs(source), None)
    settings = VariantOptions(calibration_samples=3)
    static = build_variant(source, "int8-static", settings, data, cache)
    ov_fp32 = build_variant(source, "ov-fp32", settings, data, cache)
    ov_int8 = build_variant(source, "ov-int8", settings, data, cache)
    assert static.file_bytes <= 0.3 * fp32_onnx_bytes
    assert ov_int8.file_bytes <= 0.3 * ov_fp32.file_bytes
    assert ov_int8.details["int8_weights"] == 54  # 53 Conv + the final Gemm
    feed = {"gpu_0/data_0": data.samples(1)[0]["gpu_0/data_0"]}
    assert run_variant(static, feed)["gpu_0/softmax_1"].shape == (1, 1000)


# --- telemetry -----------------------------------------------------------------------------

TELEMETRY_PROBE = """
import json, sys
from profiler.quant.variants import build_variant
from profiler.quant.ov_variants import telemetry_blocked
build_variant(sys.argv[1], "ov-int8-weights")
import nncf.telemetry.wrapper as wrapper
print(json.dumps({"module": repr(sys.modules.get("openvino_telemetry")),
                  "sender": type(wrapper.telemetry).__name__,
                  "blocked": telemetry_blocked(), "pytest": "pytest" in sys.modules}))
"""


def test_nncf_variant_loads_no_telemetry_sender(cnn_path: str, tmp_path: Path) -> None:
    """In a fresh process (NNCF turns its telemetry off by itself under pytest, so the check
    runs where pytest is not loaded): openvino_telemetry stays blocked and NNCF's sender is
    its no-op stub."""
    env = {**os.environ, "EDGEPROF_CACHE_DIR": str(tmp_path)}
    result = subprocess.run([sys.executable, "-c", TELEMETRY_PROBE, cnn_path], cwd=REPO_ROOT,
                            env=env, capture_output=True, text=True, timeout=240, check=True)
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"module": "None", "sender": "MagicMock", "blocked": True, "pytest": False}
