"""Comparing two reports: per-device p50 deltas and per-layer deltas, by hand-made runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from profiler.bench.stats import latency_stats
from profiler.bench.types import LayerProfile, Run, RunError, RuntimeLayer
from profiler.cli import main
from profiler.report.compare import (
    compare_reports,
    comparison_markdown,
    comparison_text,
    layer_deltas,
    match_runs,
)
from profiler.report.exporters.json_export import render
from profiler.report.model import Report


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
    assert deltas["add"].a_ms is None and deltas["add"].delta_ms == pytest.approx(0.3)
    assert deltas["add"].delta_percent is None


def test_top_layer_changes_sorted_by_size() -> None:
    comparison = compare_reports(*_reports(), top=2)
    assert [d.layer for d in comparison.layers] == ["conv", "add"]


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
