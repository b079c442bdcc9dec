"""A report written as JSON loads back equal; newer schemas and wrong field types are refused
with a message naming the problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from profiler.api import analyze_model
from profiler.errors import ReportError
from profiler.records.report import SCHEMA_VERSION, Report, load_report
from profiler.report.exporters import write_report
from tests.core import model_builders as mb


def _report(tmp_path: Path, model: Any, name: str) -> tuple[Report, Path]:
    report = analyze_model(mb.save(model, tmp_path / f"{name}.onnx"))
    out = tmp_path / f"{name}.json"
    write_report(report, str(out))
    return report, out


@pytest.mark.parametrize("name", ["attention", "loop", "if"])
def test_report_round_trips_equal(tmp_path: Path, name: str) -> None:
    model = {"attention": mb.attention_block(), "loop": mb.loop_model(5),
             "if": mb.if_model()}[name]
    report, out = _report(tmp_path, model, name)
    loaded = load_report(str(out))
    assert loaded == report
    assert loaded.analysis is not None and loaded.analysis.totals.macs > 0


def test_the_json_text_holds_to_dict_laid_out_one_row_per_line(tmp_path: Path) -> None:
    """The writer encodes records as it meets them: its text must hold exactly what
    ``to_dict`` makes, NaN written as null, each layer on one line of its own."""
    from profiler.records.serialize import to_dict
    from profiler.report.exporters.json_export import render

    report, _ = _report(tmp_path, mb.attention_block(), "attention")
    assert report.analysis is not None
    report.analysis.layers[0].multiplier = float("nan")
    text = render(report)
    expected = to_dict(report)
    expected["analysis"]["layers"][0]["multiplier"] = None
    assert json.loads(text) == expected
    layer_lines = [line for line in text.splitlines()
                   if line.lstrip().startswith('{"name"') and '"op_type"' in line]
    assert len(layer_lines) == len(report.analysis.layers)


def _edited(tmp_path: Path, edit: Any) -> Path:
    _, out = _report(tmp_path, mb.matmul_chain(), "chain")
    data = json.loads(out.read_text(encoding="utf-8"))
    edit(data)
    out.write_text(json.dumps(data), encoding="utf-8")
    return out


def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    def bump(data: dict[str, Any]) -> None:
        data["schema_version"] = SCHEMA_VERSION + 1

    out = _edited(tmp_path, bump)
    with pytest.raises(ReportError) as error:
        load_report(str(out))
    message = str(error.value)
    assert message.startswith(f"{out}: written by a newer edgeprof")
    assert f"schema_version {SCHEMA_VERSION + 1}" in message and "update edgeprof" in message


def test_wrong_field_type_is_refused_naming_the_field(tmp_path: Path) -> None:
    def corrupt(data: dict[str, Any]) -> None:
        data["analysis"]["totals"]["macs"] = "many"

    out = _edited(tmp_path, corrupt)
    with pytest.raises(ReportError) as error:
        load_report(str(out))
    assert "analysis.totals.macs" in str(error.value)
    assert "expected int, found str" in str(error.value)


def test_wrong_type_inside_a_layer_names_its_position(tmp_path: Path) -> None:
    def corrupt(data: dict[str, Any]) -> None:
        data["analysis"]["layers"][1]["params"] = [1, 2]

    out = _edited(tmp_path, corrupt)
    with pytest.raises(ReportError, match=r"analysis\.layers\[1\]\.params"):
        load_report(str(out))


def test_not_a_report_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"schema": "something.else"}', encoding="utf-8")
    with pytest.raises(ReportError, match="not an edgeprof report"):
        load_report(str(path))
