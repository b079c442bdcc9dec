"""Reports keep each layer's small attributes, so views can show them without the model."""

from __future__ import annotations

import json

from profiler.analysis.analyze import report_attributes
from profiler.api import analyze_model
from profiler.records.report import report_from_dict
from profiler.report.exporters import render
from tests.conftest import ZOO_DIR


def test_conv_attributes_reach_the_report_and_survive_json() -> None:
    report = analyze_model(str(ZOO_DIR / "light_resnet50.onnx"))
    assert report.analysis is not None
    first_conv = next(layer for layer in report.analysis.layers if layer.op_type == "Conv")
    assert first_conv.attributes["kernel_shape"] == [7, 7]
    assert first_conv.attributes["strides"] == [2, 2]
    reloaded = report_from_dict(json.loads(render(report, ".json")))
    assert reloaded.analysis is not None
    assert reloaded.analysis.layers[0].attributes == first_conv.attributes


def test_only_small_plain_values_are_kept() -> None:
    kept = report_attributes({
        "axis": 1, "mode": "x" * 500, "pads": list(range(40)), "alpha": 0.5,
        "value": object(), "mixed": [1, object()],
    })
    assert kept["axis"] == 1 and kept["alpha"] == 0.5
    assert len(kept["mode"]) == 200 and len(kept["pads"]) == 16
    assert "value" not in kept and "mixed" not in kept
