"""``edgeprof-cli analyze`` end to end, in a child process: summary, -o report, --shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.api import analyze_model
from profiler.model.shapes import parse_shape_overrides
from profiler.records.report import load_report
from tests.core import model_builders as mb

HIDDEN = 64


def _attention_macs(batch: int, seq: int) -> int:
    """Four projections + QK^T + AV of mb.attention_block (hidden 64, 4 heads)."""
    return 4 * batch * seq * HIDDEN * HIDDEN + 2 * batch * seq * seq * HIDDEN


@pytest.fixture
def attention_path(tmp_path: Path) -> str:
    return mb.save(mb.attention_block(hidden=HIDDEN), tmp_path / "attention.onnx")


def _one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_summary_has_totals_and_top_layers(attention_path: str) -> None:
    result = mb.run_cli("analyze", attention_path, "--top", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("attention.onnx  (onnx, ")
    assert "input  input_ids: int64 1x128  [dynamic dims set by default]" in result.stdout
    assert "MACs 4.194 M" in result.stdout  # 4,194,304 = 4 x 524,288 + 2 x 1,048,576
    assert "params 113.152 k" in result.stdout
    header = next(i for i, line in enumerate(lines) if line.startswith("layer "))
    assert lines[header].split() == ["layer", "op", "output", "MACs", "share"]
    rows = [line.split() for line in lines[header + 2: header + 5]]
    assert [row[0] for row in rows] == ["av_matmul", "qk_matmul", "k_proj"]
    assert rows[1][:3] == ["qk_matmul", "MatMul", "1x4x128x128"]
    assert rows[0][-2:] == ["25.0", "%"]
    assert "warning: input 'input_ids' is dynamic" in result.stdout


def test_json_report_matches_in_process_analysis(tmp_path: Path, attention_path: str) -> None:
    out = tmp_path / "report.json"
    result = mb.run_cli("analyze", attention_path, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    report = load_report(str(out))
    assert report.analysis is not None and report.model is not None
    assert report.analysis.totals.macs == _attention_macs(1, 128)
    expected = analyze_model(attention_path)
    assert report.analysis == expected.analysis
    assert report.model == expected.model


def test_shape_override_is_applied(tmp_path: Path, attention_path: str) -> None:
    out = tmp_path / "report.json"
    result = mb.run_cli("analyze", attention_path, "--shape", "input_ids=2x64", "-o", str(out))
    assert result.returncode == 0, result.stderr
    report = load_report(str(out))
    assert report.model is not None and report.analysis is not None
    spec = report.model.inputs[0]
    assert (spec.shape, spec.declared_shape, spec.shape_source) == (
        [2, 64], ["batch", "seq"], "override")
    assert report.model.warnings == []
    assert report.analysis.totals.macs == _attention_macs(2, 64)
    assert report.analysis.unknown_shape_nodes == []
    expected = analyze_model(attention_path, parse_shape_overrides(["input_ids=2x64"]))
    assert report.analysis == expected.analysis


@pytest.mark.parametrize("shape,problem", [
    ("input_ids=2xq", "expected NAME=DIMxDIM"),
    ("input_ids=1x2x3", "rank 2"),
    ("tokens=1x8", "the model's inputs are: input_ids"),
])
def test_bad_shape_is_a_usage_error(tmp_path: Path, attention_path: str, shape: str,
                                    problem: str) -> None:
    out = tmp_path / "report.json"
    result = mb.run_cli("analyze", attention_path, "--shape", shape, "-o", str(out))
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert line.startswith("edgeprof-cli: error: --shape") and problem in line
    assert not out.exists()


def test_unknown_report_extension_is_a_usage_error(tmp_path: Path, attention_path: str) -> None:
    out = tmp_path / "report.unknown"
    result = mb.run_cli("analyze", attention_path, "-o", str(out))
    assert result.returncode == 2
    line = _one_error_line(result.stderr)
    assert str(out) in line and ".json" in line
    assert not out.exists()
    assert list(Path(out).parent.iterdir()) == [Path(attention_path)]


@pytest.mark.parametrize("extension", [".md", ".csv", ".html"])
def test_other_report_formats_are_written(tmp_path: Path, attention_path: str,
                                          extension: str) -> None:
    out = tmp_path / f"report{extension}"
    result = mb.run_cli("analyze", attention_path, "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "MatMul" in text and ("qk_matmul" in text or "qk\\_matmul" in text)
