"""The pure data behind the views (no widgets): joins, chart series, details, escaping.
Every expected number is computed here from the hand-made report."""

from __future__ import annotations

import pytest

from profiler.records.analysis import AnalysisTotals, LayerCost, OpTypeCost, StaticAnalysis
from profiler.records.model import ModelInfo, TensorSpec
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, Run, RunError, RuntimeLayer
from tests.ui.factory import latency
from ui import chart_data
from ui.details import layer_details_html
from ui.layer_columns import build_columns
from ui.report_data import build_report_data
from ui.summary_card import io_html, problems_html
from ui.theme import LIGHT

HOSTILE = "<script>alert(1)</script>"


def small_report() -> Report:
    """conv (1000 MACs, 2000 FLOPs) -> relu (10 FLOPs) -> fc (500 MACs, 1000 FLOPs);
    one run: conv+relu fused in 2 ms, fc 1 ms, an inserted reorder 1 ms."""
    layers = [
        LayerCost("conv", "Conv", inputs=["x", "w"], outputs=["c"], output_shapes=[[1, 4]],
                  output_dtypes=["float32"], macs=1000, flops=2000, params=40,
                  memory_access_bytes=100),
        LayerCost("relu", "Relu", inputs=["c"], outputs=["r"], output_shapes=[[1, 4]],
                  flops=10, memory_access_bytes=32),
        LayerCost(HOSTILE, "Gemm", inputs=["r", "fc_w"], outputs=["y"], output_shapes=[[1, 2]],
                  macs=500, flops=1000, memory_access_bytes=50),
    ]
    analysis = StaticAnalysis(
        totals=AnalysisTotals(macs=1500, flops=3010, layer_count=3),
        by_op_type=[OpTypeCost("Conv", 1, 1000, 2000), OpTypeCost("Relu", 1, 0, 10),
                    OpTypeCost("Gemm", 1, 500, 1000)],
        layers=layers, unsupported_ops={HOSTILE: 2}, unknown_shape_nodes=[HOSTILE])
    profile = LayerProfile([
        RuntimeLayer("rt_conv", "Convolution", "jit_avx2", "FP32", "CPU", 2.0,
                     ["conv", "relu"], "fused"),
        RuntimeLayer("rt_fc", "FullyConnected", "gemm_ref", "BF16", "CPU", 1.0, [HOSTILE]),
        RuntimeLayer("reorder", "Reorder", "ref", "FP32", "CPU", 1.0, [], "inserted"),
    ])
    runs = [Run("ov:CPU", "openvino", latency=latency([1.0, 2.0, 3.0, 4.0]),
                layer_profile=profile),
            Run("ov:GPU", "openvino", error=RunError("compile", "no GPU"))]
    model = ModelInfo(path="/m/x.onnx", name="x.onnx", format="onnx",
                      inputs=[TensorSpec(HOSTILE, "float32", [1, 4], ["N", 4], "default")])
    return Report(model=model, analysis=analysis, runs=runs)


@pytest.fixture
def data():
    return build_report_data(small_report())


def test_node_times_split_fused_layers_by_flops(data) -> None:
    run = data.profiled_runs[0]
    conv, relu = run.nodes["conv"], run.nodes["relu"]
    assert conv.time_ms == pytest.approx(2.0 * 2000 / 2010)
    assert relu.time_ms == pytest.approx(2.0 * 10 / 2010)
    assert conv.share == pytest.approx(conv.time_ms / 4.0)
    assert conv.gflops_per_s == pytest.approx(2000 / (conv.time_ms * 1e6))
    assert run.nodes[HOSTILE].precision_kernel == "BF16 gemm_ref"
    assert [layer.name for layer in relu.runtime_layers] == ["rt_conv"]
    assert run.total_layer_ms == 4.0


def test_columns_hold_raw_values_per_layer(data) -> None:
    columns = {c.header: c for c in build_columns(data)}
    assert list(columns["MACs"].values) == [1000, 0, 500]
    assert columns["MACs"].display(1500) == "1.500 k"
    assert columns["ov:CPU/fp32 %"].display(0.5) == "50.0"
    assert columns["ov:CPU/fp32 device"].values[2] == "CPU"
    assert "ov:GPU/fp32 ms" not in columns  # no layer profile
    assert columns["FLOP/B"].values[0] == 20.0


def test_top_layers_by_static_metric_and_by_time(data) -> None:
    run = data.profiled_runs[0]
    macs = chart_data.top_layers(data, "macs", None)
    assert [(b.layer, b.value) for b in macs] == [(0, 1000.0), (2, 500.0)]  # relu: 0 MACs
    assert "66.7 % of the model" in macs[0].tooltip
    by_time = chart_data.top_layers(data, "time", run)
    assert [b.layer for b in by_time] == [0, 2, 1]
    assert chart_data.top_layers(data, "time", None) == []


def test_op_type_bars(data) -> None:
    run = data.profiled_runs[0]
    assert [(b.group, b.value) for b in chart_data.op_type_bars(data, "macs", None)] == [
        ("Conv", 1000.0), ("Gemm", 500.0)]
    by_time = chart_data.op_type_bars(data, "time", run)
    assert [(b.group, b.value) for b in by_time] == [
        ("Convolution", 2.0), ("FullyConnected", 1.0), ("Reorder", 1.0)]


def test_latency_histogram_devices_and_failures(data) -> None:
    edges, counts = chart_data.histogram([1.0, 2.0, 3.0, 4.0], bins=3)
    assert edges == [1.0, 2.0, 3.0, 4.0] and counts == [1, 1, 2]
    lat = chart_data.latency_data(data.runs[0])
    assert lat is not None and sum(lat.bin_counts) == 4 and lat.p50_ms == 3.0
    assert chart_data.latency_data(data.runs[1]) is None
    bars = chart_data.device_bars(data.runs)
    assert [(b.label, b.p50_ms, b.p99_ms) for b in bars] == [("ov:CPU/fp32", 3.0, 4.0)]
    assert chart_data.failed_runs(data.runs) == ["ov:GPU/fp32 failed at compile: no GPU"]


def test_roofline_points(data) -> None:
    points = chart_data.roofline_points(data, data.profiled_runs[0])
    conv = next(p for p in points if p.layer == 0)
    assert conv.intensity == 20.0
    assert conv.gflops_per_s == pytest.approx(2000 / (2.0 * 2000 / 2010 * 1e6))
    assert {p.layer for p in points} == {0, 1, 2}


def test_op_colours_rank_by_macs_then_count(data) -> None:
    assert chart_data.op_colour_ranks(data) == {"Conv": 0, "Gemm": 1, "Relu": 2}


def test_details_escape_names_and_link_producers(data) -> None:
    html = layer_details_html(data, 2, LIGHT.muted)
    assert HOSTILE not in html and "&lt;script&gt;" in html
    assert '<a href="layer:1">relu</a>' in html
    assert "rt_fc" in html and "BF16 gemm_ref" in html
    relu = layer_details_html(data, 1, LIGHT.muted)
    assert "with conv" in relu  # fused with


def test_summary_card_text_escapes_names() -> None:
    report = small_report()
    io = io_html(report)
    assert HOSTILE not in io and "&lt;script&gt;" in io
    assert "dynamic dims set by default" in io and "declared Nx4" in io
    problems = problems_html(report, LIGHT)
    assert HOSTILE not in problems and "2 unsupported" in problems
