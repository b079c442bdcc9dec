"""Comparing two reports: per-device p50 deltas and per-layer deltas, by hand-made runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.bench.stats import latency_stats
from profiler.cli import main
from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, Run, RunError, RuntimeLayer
from profiler.report.compare import (
    compare_reports,
    compare_runs,
    comparison_markdown,
    comparison_text,
    delta_rows,
    layer_deltas,
    match_runs,
    model_difference,
)
from profiler.report.exporters.json_export import render


def _run(device: str, p50_ms: float | None, layers: dict[str, float] | None = None,
         variant: str = "fp32") -> Run:
    profile = LayerProfile(layers=[RuntimeLayer(name=name, layer_type=name.title(), time_ms=ms)
                                   for name, ms in (layers or {}).items()])
    return Run(device=device, variant=variant,
               latency=latency_stats([p50_ms] * 3) if p50_ms is not None else None,
               layer_profile=profile if layers else None)


def _reports() -> tuple[Report, Report]:
    a = Report(runs=[_run("ov:CPU", 10.0, {"conv": 4.0, "relu": 1.0}),
                     _run("ort:cpu", 6.0), _run("ov:CPU", 5.0, variant="int8")])
    b = Report(runs=[_run("ov:CPU", 8.0, {"conv": 2.5, "relu": 1.2, "add": 0.3}),
                     _run("ov:GPU", 3.0), _run("ov:CPU", 4.0, variant="int8")])
    return a, b


def test_runs_match_by_device_and_variant() -> None:
    a, b = _reports()
    pairs = [(x.device if x else None, x.variant if x else None, y.device if y else None)
             for x, y in match_runs(a.runs, b.runs)]
    assert pairs == [("ov:CPU", "fp32", "ov:CPU"), ("ort:cpu", "fp32", None),
                     ("ov:CPU", "int8", "ov:CPU"), (None, None, "ov:GPU")]


def test_device_deltas_by_hand() -> None:
    comparison = compare_reports(*_reports())
    cpu, ort, int8, gpu = comparison.devices
    assert (cpu.a_p50_ms, cpu.b_p50_ms) == (10.0, 8.0)
    assert cpu.delta_ms == pytest.approx(-2.0) and cpu.delta_percent == pytest.approx(-20.0)
    assert int8.delta_ms == pytest.approx(-1.0) and int8.delta_percent == pytest.approx(-20.0)
    assert ort.b_p50_ms is None and ort.delta_ms is None and ort.note == "only in A"
    assert gpu.a_p50_ms is None and gpu.note == "only in B"


def test_layer_deltas_by_hand() -> None:
    a, b = _reports()
    deltas = {d.layer: d for d in layer_deltas(a.runs[0], b.runs[0])}
    assert deltas["conv"].delta_ms == pytest.approx(-1.5)
    assert deltas["conv"].delta_percent == pytest.approx(-37.5)
    assert deltas["relu"].delta_ms == pytest.approx(0.2)
    assert deltas["relu"].delta_percent == pytest.approx(20.0)
    assert "add" not in deltas  # only B timed it: no counterpart, so no delta


def test_top_layer_changes_sorted_by_size() -> None:
    comparison = compare_reports(*_reports(), top=2)
    assert [d.layer for d in comparison.layers] == ["conv", "relu"]


def test_error_runs_are_noted() -> None:
    failed = _run("ov:CPU", None)
    failed.error = RunError("compile", "unsupported op")
    comparison = compare_reports(Report(runs=[_run("ov:CPU", 2.0)]), Report(runs=[failed]))
    assert comparison.devices[0].delta_ms is None
    assert comparison.devices[0].note == "B: unsupported op"


def test_text_and_markdown() -> None:
    comparison = compare_reports(*_reports(), a_name="a.json", b_name="b.json")
    text = comparison_text(comparison)
    cpu_line = next(line for line in text.splitlines() if line.split()[:2] == ["ov:CPU", "fp32"])
    assert "10.000" in cpu_line and "8.000" in cpu_line
    assert "-2.000 ms" in cpu_line and "-20.0 %" in cpu_line
    assert "conv" in text and "-1.500 ms" in text and "-37.5 %" in text
    markdown = comparison_markdown(comparison)
    assert "| ov:CPU | fp32 | 10.000 | 8.000 | -2.000 ms | -20.0 % |" in markdown


def test_compare_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = _reports()
    path_a, path_b = tmp_path / "a.json", tmp_path / "b.json"
    path_a.write_text(render(a), encoding="utf-8")
    path_b.write_text(render(b), encoding="utf-8")
    out_md, out_json = tmp_path / "cmp.md", tmp_path / "cmp.json"
    assert main(["compare", str(path_a), str(path_b), "-o", str(out_md)]) == 0
    assert "-20.0 %" in capsys.readouterr().out
    assert "## Largest per-layer changes" in out_md.read_text(encoding="utf-8")
    assert main(["compare", str(path_a), str(path_b), "-o", str(out_json)]) == 0
    data = json.loads(out_json.read_text(encoding="utf-8"))
    assert data["schema"] == "edgeprof.comparison"
    assert data["devices"][0]["delta_ms"] == pytest.approx(-2.0)
    assert main(["compare", str(path_a), str(path_b), "-o", str(tmp_path / "x.pdf")]) == 2
    assert main(["compare", str(path_a), str(tmp_path / "missing.json")]) == 1


# Comparability: one model, layers matched by model node -----------------------------------

def _layer(name: str, ms: float, nodes: list[str], kind: str = "compute",
           layer_type: str = "Conv") -> RuntimeLayer:
    return RuntimeLayer(name=name, layer_type=layer_type, time_ms=ms, model_nodes=nodes,
                        kind=kind)


def _profiled(device: str, p50_ms: float, layers: list[RuntimeLayer]) -> Run:
    return Run(device=device, latency=latency_stats([p50_ms] * 3),
               layer_profile=LayerProfile(layers=layers))


def _model(name: str, sha256: str = "") -> ModelInfo:
    return ModelInfo(path=f"/m/{name}", name=name, format="onnx", sha256=sha256)


def test_same_model_by_sha256_or_by_name() -> None:
    assert model_difference(_model("a.onnx", "11"), _model("b.onnx", "11")) == ""
    assert model_difference(_model("a.onnx"), _model("a.onnx", "22")) == ""
    assert "different models (a.onnx vs b.onnx)" in model_difference(_model("a.onnx"),
                                                                       _model("b.onnx"))
    changed = model_difference(_model("a.onnx", "11"), _model("a.onnx", "22"))
    assert "a.onnx changed between A and B" in changed
    assert model_difference(None, None) == ""
    assert model_difference(_model("a.onnx"), None) != ""


def test_layers_pair_by_model_node_across_devices() -> None:
    """OpenVINO names its layers differently and fuses conv+relu; ONNX Runtime runs them
    apart. The group is compared as a whole; a reorder (no model node) and a node only one
    side timed are left out instead of showing their own time as a 'delta'."""
    ov = _profiled("ov:CPU", 5.0, [_layer("reorder0", 0.4, [], "reorder", "Reorder"),
                                   _layer("conv_fused", 3.0, ["conv", "relu"], "fused"),
                                   _layer("fc", 1.0, ["fc"], layer_type="FullyConnected")])
    ort = _profiled("ort:cpu", 6.0, [_layer("conv", 2.0, ["conv"]),
                                     _layer("relu", 0.5, ["relu"], layer_type="Relu"),
                                     _layer("fc", 1.5, ["fc"], layer_type="Gemm"),
                                     _layer("softmax", 0.7, ["softmax"], layer_type="Softmax")])
    deltas = layer_deltas(ov, ort)
    assert [d.layer for d in deltas] == ["conv (+1 fused)", "fc"]
    conv, fc = deltas
    assert (conv.a_ms, conv.b_ms, conv.nodes) == (3.0, 2.5, ["conv", "relu"])
    assert conv.delta_ms == pytest.approx(-0.5) and conv.layer_type == "Conv -> Conv+Relu"
    assert fc.delta_ms == pytest.approx(0.5) and fc.delta_percent == pytest.approx(50.0)
    assert {d.device for d in deltas} == {"ov:CPU -> ort:cpu"}


def test_no_layer_is_paired_with_itself_across_devices() -> None:
    """Two devices whose layers share no model node: no layer deltas at all."""
    a = _profiled("ov:CPU", 5.0, [_layer("x", 3.0, ["x"])])
    b = _profiled("ort:cpu", 6.0, [_layer("y", 2.0, ["y"])])
    assert layer_deltas(a, b) == []


def test_runs_of_different_models_compare_latency_only() -> None:
    a = _profiled("ov:CPU", 5.0, [_layer("conv", 3.0, ["conv"])])
    b = _profiled("ov:CPU", 4.0, [_layer("conv", 2.0, ["conv"])])
    comparison = compare_runs(a, b, _model("a.onnx"), _model("b.onnx"))
    assert comparison.devices[0].delta_ms == pytest.approx(-1.0)
    assert comparison.layers == [] and "different models" in comparison.model_note
    assert "different models" in comparison_text(comparison)
    same = compare_runs(a, b, _model("a.onnx", "11"), _model("a.onnx", "11"))
    assert [d.delta_ms for d in same.layers] == [pytest.approx(-1.0)]
    reports = compare_reports(Report(model=_model("a.onnx"), runs=[a]),
                              Report(model=_model("b.onnx"), runs=[b]))
    assert reports.layers == [] and reports.model_note


def test_delta_rows_for_a_table() -> None:
    comparison = compare_reports(*_reports())
    rows = delta_rows(comparison)
    assert [r.scope for r in rows] == ["device"] * 4 + ["layer"] * 2
    cpu = rows[0]
    assert (cpu.device, cpu.name, cpu.delta_ms) == ("ov:CPU", "fp32", pytest.approx(-2.0))
    assert cpu.cells()[6:8] == ["-2.000 ms", "-20.0 %"]
    assert rows[1].values()[6] is None  # only in A: nothing to subtract
