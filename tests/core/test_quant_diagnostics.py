"""Why is a variant (not) faster: shares by hand from synthetic profiles, and a real FP16 model
on ONNX Runtime's CPU provider whose time goes to the Casts it needs."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from profiler.bench.protocol import StopRule, measure_request
from profiler.bench.stats import latency_stats
from profiler.bench.supervisor import run_job
from profiler.quant.cache import VariantCache
from profiler.quant.diagnostics import (
    CONVERSION_SHARE_HINT,
    diagnose,
    normalize_precision,
    variant_kind,
)
from profiler.quant.variants import build_variant
from profiler.records.runs import LayerProfile, Run, RuntimeLayer


def _run(variant: str, p50_ms: float, layers: list[RuntimeLayer], precision: str = "") -> Run:
    return Run(device="ort:cpu", variant=variant, precision=precision,
               latency=latency_stats([p50_ms] * 5, "iterations", 0.1),
               layer_profile=LayerProfile(layers=layers))


def _layer(name: str, layer_type: str, ms: float, precision: str = "f32", kind: str = "compute",
           kernel: str = "", nodes: tuple[str, ...] = ()) -> RuntimeLayer:
    return RuntimeLayer(name=name, layer_type=layer_type, precision=precision, time_ms=ms,
                        kind=kind, kernel=kernel or layer_type, model_nodes=list(nodes))


FP32 = _run("fp32", 10.0, [_layer("conv", "Conv", 6.0), _layer("relu", "Relu", 2.0),
                           _layer("cast_ids", "Cast", 2.0)])


def test_conversion_share_counts_only_what_the_variant_added() -> None:
    variant = _run("fp16", 12.5, [_layer("conv", "Conv", 6.0),
                                  _layer("InsertedPrecisionFreeCast_a", "Cast", 4.0,
                                         precision="f16", kind="convert"),
                                  _layer("relu", "Relu", 2.0), _layer("cast_ids", "Cast", 4.0)])
    found = diagnose("fp16", variant, FP32)
    assert found.conversion_share == pytest.approx(8 / 16)
    assert found.added_conversion_share == pytest.approx(8 / 16 - 2 / 10)
    assert found.speedup == pytest.approx(0.8)
    assert found.float_compute_share == pytest.approx(6 / 16)
    assert found.precisions == pytest.approx({"f32": 12 / 16, "f16": 4 / 16})
    assert found.hints[0] == ("slower than FP32 (0.80x its speed) on ort:cpu: p50 12.500 ms "
                              "against 10.000 ms")
    assert found.hints[1].startswith("50 % of the time is in Cast/Convert layers the FP32 "
                                     "model does not run: ort:cpu has no FP16 kernels")
    assert "matrix layers ran in f32 (38 % of the time)" in found.hints[2]


def test_int8_that_kept_float_layers_names_them() -> None:
    variant = _run("int8-static", 9.0, [
        _layer("q", "QuantizeLinear", 1.0), _layer("c1", "QLinearConv", 3.0, precision="u8"),
        _layer("c2_nchwc", "Conv", 4.0, nodes=("conv2",)), _layer("dq", "DequantizeLinear", 2.0),
    ])
    found = diagnose("int8-static", variant, FP32)
    assert found.quantize_share == pytest.approx(0.3)
    assert found.float_compute_share == pytest.approx(0.4)
    assert found.integer_compute_share == pytest.approx(0.3)
    assert found.float_layers == ["conv2"]
    assert any(h.startswith("30 % of the time is in Quantize/Dequantize layers")
               for h in found.hints)
    assert ("INT8 is only 1.11x faster: 40 % of the time stayed in float matrix layers (conv2)"
            in found.hints)


def test_dynamic_quantization_that_is_slow_points_to_static() -> None:
    variant = _run("int8-dynamic", 25.0, [
        _layer("dq", "DynamicQuantizeLinear", 2.0), _layer("c", "ConvInteger", 20.0,
                                                             precision="u8")])
    found = diagnose("int8-dynamic", variant, FP32)
    assert found.integer_compute_share == pytest.approx(20 / 22)
    assert found.hints[-1] == ("dynamic quantization quantizes activations at run time and "
                               "runs ConvInteger, DynamicQuantizeLinear, which is slow here: "
                               "0.40x the FP32 speed; try int8-static")


def test_openvino_precisions_and_a_bf16_reference() -> None:
    reference = _run("fp32", 10.0, [_layer("c", "Convolution", 10.0, precision="BF16")],
                     precision="bf16")
    variant = _run("ov-int8", 12.0, [
        _layer("c", "Convolution", 9.0, precision="U8", kernel="brgconv_avx512_I8"),
        _layer("r", "Reorder", 3.0, precision="FP32", kind="reorder")])
    found = diagnose("ov-int8", variant, reference)
    assert found.precisions == pytest.approx({"u8": 0.75, "f32": 0.25})
    assert found.reorder_share == pytest.approx(0.25)
    assert any("layout reorders" in hint for hint in found.hints)
    assert any("gain little over the bf16 kernels" in hint for hint in found.hints)
    assert found.hints[-1].startswith("the FP32 model already runs in BF16 on ort:cpu")
    assert normalize_precision("FP16") == "f16" and normalize_precision("I8") == "i8"
    assert variant_kind("ov-int4-weights") == "weights-only"


def test_without_a_profile_or_a_reference() -> None:
    bare = Run(device="ov:NPU", variant="ov-int8",
               latency=latency_stats([5.0] * 3, "iterations", 0.1))
    found = diagnose("ov-int8", bare, None)
    assert found.speedup is None and found.total_layer_ms == 0.0
    assert found.hints == ["no per-layer profile on this device: the time cannot be attributed"]


def _relu_transpose_model(path: Path) -> str:
    """Relu, Transpose, Relu, Transpose on a 1x32x64x64 tensor: no matrix work at all."""
    shape = [1, 32, 64, 64]
    nodes = [helper.make_node("Relu", ["x"], ["a"], name="relu0"),
             helper.make_node("Transpose", ["a"], ["b"], name="swap0", perm=[0, 1, 3, 2]),
             helper.make_node("Relu", ["b"], ["c"], name="relu1"),
             helper.make_node("Transpose", ["c"], ["y"], name="swap1", perm=[0, 1, 3, 2])]
    graph = helper.make_graph(nodes, "relu_transpose",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def test_fp16_on_the_cpu_spends_its_time_in_casts(tmp_path: Path) -> None:
    """ONNX Runtime's CPU provider has no FP16 kernels for these ops: it runs them in FP32 and
    keeps Casts (keep_io_types adds them at the outputs); the diagnostics attribute time to
    them and say so."""
    model = _relu_transpose_model(tmp_path / "relu_transpose.onnx")
    fp16 = build_variant(model, "fp16", cache=VariantCache(tmp_path / "cache"))
    stop = StopRule(iterations=20)
    reference, variant = (
        run_job(measure_request(path, "ort:cpu", variant=name, stop=stop,
                                warmup_min_seconds=0.1, layer_iterations=20))
        for path, name in ((model, "fp32"), (fp16.path, "fp16")))
    assert reference.error is None and variant.error is None
    casts = [layer for layer in variant.layer_profile.layers if layer.layer_type == "Cast"]
    assert casts and all(layer.time_ms > 0 for layer in casts)
    found = diagnose("fp16", variant, reference)
    assert found.conversion_share > 0
    assert found.added_conversion_share == found.conversion_share  # FP32 runs no Cast
    cast_ms = sum(layer.time_ms for layer in casts)
    assert found.conversion_share == pytest.approx(cast_ms / found.total_layer_ms, rel=1e-6)
    # The Cast is one of three element-wise passes over the same tensor (about a third of the
    # time on an idle machine); the share is measured, so the hint follows the threshold.
    hinted = any("of the time is in Cast/Convert layers the FP32 model does not run: ort:cpu "
                 "has no FP16 kernels" in hint for hint in found.hints)
    assert hinted == (found.conversion_share >= CONVERSION_SHARE_HINT)
