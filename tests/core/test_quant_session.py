"""The quantize session: which pairs run, one real end-to-end run on a small CNN, a variant
that fails next to one that works, and the report holding it all losslessly."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.api import quantize_model
from profiler.bench.profile import ProfileOptions
from profiler.bench.protocol import StopRule
from profiler.bench.stats import latency_stats
from profiler.bench.wire import Event
from profiler.errors import UsageError
from profiler.quant.cache import VariantCache
from profiler.quant.session import QuantizeOptions, default_variants, runs_on
from profiler.quant.variants import VariantOptions
from profiler.records.report import report_from_dict
from profiler.records.runs import MemoryStats, Run
from profiler.records.serialize import to_dict
from profiler.records.variants import DriftMetrics, LayerDrift, LayerDriftResult
from profiler.report.exporters import render
from tests.core.fake_workers import HANDSHAKE

P50_MS = {"fp32": 10.0, "fp16": 9.0, "int8-static": 4.0, "int8-dynamic": 20.0}


def small_cnn(path: Path) -> str:
    """Conv(3->8) Relu Conv(8->16) GlobalAveragePool Flatten Gemm(16->10): class scores."""
    rng = np.random.default_rng(0)

    def weight(name: str, *shape: int) -> TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32),
                                       name)

    nodes = [
        helper.make_node("Conv", ["x", "c1w", "c1b"], ["a"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["a"], ["b"], name="relu1"),
        helper.make_node("Conv", ["b", "c2w", "c2b"], ["c"], name="conv2", pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["c"], ["d"], name="gap"),
        helper.make_node("Flatten", ["d"], ["e"], name="flatten"),
        helper.make_node("Gemm", ["e", "fw", "fb"], ["scores"], name="fc", transB=1),
    ]
    inits = [weight("c1w", 8, 3, 3, 3), weight("c1b", 8), weight("c2w", 16, 8, 3, 3),
             weight("c2b", 16), weight("fw", 10, 16), weight("fb", 10)]
    graph = helper.make_graph(
        nodes, "cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 32, 32])],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def fast_options(tmp_path: Path, variants: list[str], devices: list[str],
                 **extra: Any) -> QuantizeOptions:
    return QuantizeOptions(
        variants=variants, devices=devices, build=VariantOptions(calibration_samples=4),
        eval_samples=4, layer_samples=2, cache=VariantCache(tmp_path / "cache"),
        profile=ProfileOptions(stop=StopRule(iterations=10), layer_iterations=3), **extra)


def test_which_pairs_run_and_the_default_variants() -> None:
    assert runs_on("onnx", "ort:cpu") and not runs_on("onnx", "ov:CPU")
    assert runs_on("onnx", "ov:CPU", cross_runtime=True)
    assert runs_on("openvino-ir", "ov:GPU.0") and not runs_on("openvino-ir", "ort:cpu")
    assert default_variants("m.onnx", ["ort:cpu"]) == ["fp16", "int8-dynamic", "int8-static"]
    assert default_variants("m.onnx", ["ov:CPU"]) == ["ov-fp16", "ov-int8", "ov-int8-weights"]
    assert default_variants("m.xml", ["ort:cpu", "ov:CPU"]) == [
        "ov-fp16", "ov-int8", "ov-int8-weights"]


def test_unknown_variant_is_a_usage_error(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    with pytest.raises(UsageError, match="unknown int3; known: fp16"):
        quantize_model(model, fast_options(tmp_path, ["int3"], ["ort:cpu"]))


def test_small_cnn_end_to_end(tmp_path: Path) -> None:
    """Real runtimes: the FP32 reference and two variants on ort:cpu, each in its own worker."""
    model = small_cnn(tmp_path / "cnn.onnx")
    events: list[Event] = []
    report = quantize_model(model, fast_options(tmp_path, ["fp16", "int8-static"], ["ort:cpu"]),
                            progress=events.append)
    assert report.errors == []
    assert [(r.variant, r.device, r.error) for r in report.runs] == [
        ("fp32", "ort:cpu", None), ("fp16", "ort:cpu", None), ("int8-static", "ort:cpu", None)]
    assert all(run.layer_profile and run.layer_profile.layers for run in report.runs)
    fp32, fp16, int8 = report.variants
    assert fp32.id == "fp32" and fp32.size_reference_bytes == fp32.file_bytes
    assert fp16.size_ratio is not None and fp16.size_ratio < 0.8
    for variant in (fp16, int8):
        drift = variant.drift["ort:cpu"]
        assert drift.indicative_only and drift.samples == 4
        assert all(math.isfinite(x) for x in (drift.sqnr_db, drift.cosine, drift.max_abs_error))
        assert 15.0 < drift.sqnr_db < 150.0 and drift.top1_agreement is not None
        assert variant.diagnostics["ort:cpu"].hints
        assert variant.layer_drift is not None and variant.layer_drift.tensors_compared >= 3
        assert variant.calibration is None or variant.calibration.indicative_only
    assert int8.calibration is not None and int8.calibration.samples == 4
    assert int8.layer_drift is not None
    assert {layer.node for layer in int8.layer_drift.worst} <= {
        "conv1", "relu1", "conv2", "gap", "flatten", "fc"}
    assert "ort:cpu" in fp32.pareto_devices
    labels = {(event.job, event.variant, event.device) for event in events}
    assert {("measure", "fp32", "ort:cpu"), ("build", "fp16", ""), ("measure", "fp16", "ort:cpu"),
            ("drift", "int8-static", "ort:cpu")} <= labels
    html = render(report, ".html")
    assert html.count('<svg class="chart" viewBox="0 0 760 380"') == 1
    assert "indicative only" in html
    assert "First layer below" in html or "No layer falls below" in html
    markdown = render(report, ".md")
    assert "## Variants" in markdown and "(indicative only)" in markdown


# --- canned workers: the session's own logic, fast ------------------------------------------

CANNED_WORKER = HANDSHAKE + """
run = json.loads(sys.argv[1])[job["variant"]]
run.update(device=job["device"], variant=job["variant"], model_path=job["model_path"])
print(json.dumps({"v": wire.PROTOCOL_VERSION, "type": "outcome", "kind": "measure",
                  "outcome": {"run": run}}), flush=True)
"""
CANNED_DRIFT = HANDSHAKE + """
key = "layer_drift" if job["drift_kind"] == "layers" else "drift"
result = json.loads(sys.argv[1])[key]
result["device"] = job["device"]
print(json.dumps({"v": wire.PROTOCOL_VERSION, "type": "outcome", "kind": "drift",
                  "outcome": {key: result}}), flush=True)
"""


def canned_runs() -> str:
    runs = {name: to_dict(Run(device="", backend="fake", latency=latency_stats(
        [p50] * 5, "iterations", 0.1), memory=MemoryStats("x", 1, 2, 3, 4)))
        for name, p50 in P50_MS.items()}
    return json.dumps(runs)


def canned_drift() -> str:
    layer = LayerDrift(node="conv2", sqnr_db=12.5, cosine=0.97, tensor="c", op_type="Conv",
                       exclude_node="conv2", order=2)
    return json.dumps({
        "drift": to_dict(DriftMetrics(sqnr_db=31.5, cosine=0.9991, max_abs_error=0.25,
                                      mean_abs_error=0.01, top1_agreement=0.75, samples=4,
                                      indicative_only=True)),
        "layer_drift": to_dict(LayerDriftResult(threshold_db=20.0, samples=2,
                                                tensors_compared=5, first_below=layer,
                                                worst=[layer], indicative_only=True))})


def canned_options(tmp_path: Path, variants: list[str], **extra: Any) -> QuantizeOptions:
    return fast_options(tmp_path, variants, ["ort:cpu"],
                        worker_argv=(sys.executable, "-c", CANNED_WORKER, canned_runs()),
                        drift_worker_argv=(sys.executable, "-c", CANNED_DRIFT, canned_drift()),
                        **extra)


def test_a_variant_that_cannot_be_built_does_not_stop_the_others(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    empty = tmp_path / "no_images"
    empty.mkdir()
    options = canned_options(tmp_path, ["int8-static", "fp16"], calibration=str(empty),
                             evaluation="random")
    report = quantize_model(model, options)
    _, static, fp16 = report.variants
    assert "calibration data" in static.error and "no images" in static.error
    assert static.devices == [] and static.drift == {}
    assert fp16.error == "" and fp16.devices == ["ort:cpu"]
    assert fp16.drift["ort:cpu"].sqnr_db == 31.5
    assert fp16.layer_drift is not None and fp16.layer_drift.first_below is not None
    assert fp16.diagnostics["ort:cpu"].speedup == pytest.approx(10.0 / 9.0)
    assert [r.variant for r in report.runs] == ["fp32", "fp16"]
    assert any(error.startswith("int8-static: calibration data") for error in report.errors)
    html = render(report, ".html")
    assert "Not built" in html and "no images" in html


def test_report_with_variants_round_trips_losslessly(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    report = quantize_model(model, canned_options(tmp_path, ["fp16", "int8-dynamic"]))
    assert [v.id for v in report.variants] == ["fp32", "fp16", "int8-dynamic"]
    text = json.dumps(report.to_dict(), allow_nan=False)
    again = report_from_dict(json.loads(text))
    assert again == report
    assert again.variants[1].drift["ort:cpu"].top1_agreement == 0.75
    assert again.variants[2].diagnostics["ort:cpu"].speedup == pytest.approx(0.5)
    assert again.variants[0].pareto_devices == ["ort:cpu"]


def test_evaluation_defaults_to_real_calibration_data_with_a_warning(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    data = tmp_path / "calibration.npy"
    np.save(data, np.random.default_rng(1).standard_normal((3, 1, 3, 32, 32)).astype(np.float32))
    report = quantize_model(model, canned_options(tmp_path, ["fp16"], calibration=str(data)))
    fp16 = report.variants[1]
    assert fp16.evaluation is not None and fp16.evaluation.label == str(data)
    assert fp16.evaluation.samples == 3 and not fp16.evaluation.indicative_only
    assert any("drift is measured on the calibration data" in w for w in fp16.warnings)


def test_every_label_is_escaped_in_html_and_markdown() -> None:
    from profiler.records.report import Report
    from profiler.records.variants import Diagnostics, Variant

    evil = "<script>alert(1)</script>"
    layer = LayerDrift(node=evil, sqnr_db=3.0, cosine=0.5, op_type=evil, exclude_node=evil)
    variant = Variant(
        id="int8-static", library=evil, file_bytes=100, size_reference_bytes=400,
        size_reference=evil, drift={evil: DriftMetrics(sqnr_db=30.0, cosine=0.99)},
        diagnostics={evil: Diagnostics(device=evil, hints=[evil])}, warnings=[evil],
        layer_drift=LayerDriftResult(device=evil, threshold_db=20.0, first_below=layer,
                                     worst=[layer], notes=[evil]), pareto_devices=[evil])
    reference = Variant(id="fp32", file_bytes=400, size_reference_bytes=400)
    runs = [Run(device=evil, variant=name, latency=latency_stats([p50] * 3, "iterations", 0.1))
            for name, p50 in (("fp32", 10.0), ("int8-static", 5.0))]
    report = Report(runs=runs, variants=[reference, variant])
    html, markdown = render(report, ".html"), render(report, ".md")
    assert evil not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<svg class="chart"' in html  # the scatter of the evil device, labels escaped
    assert evil not in markdown and "\\<script\\>" in markdown
