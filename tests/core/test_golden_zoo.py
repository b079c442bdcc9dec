"""Golden MAC counts on real topologies against published figures (1x3x224x224)."""

from __future__ import annotations

import pytest

from profiler.api import analyze_model
from tests.conftest import ZOO_DIR

PUBLISHED_GMACS = {
    "light_resnet50.onnx": 4.089,
    "light_densenet121.onnx": 2.834,
    "light_vgg19.onnx": 19.632,
    "light_squeezenet.onnx": 0.349,
}


@pytest.mark.parametrize("file_name,gmacs", sorted(PUBLISHED_GMACS.items()))
def test_macs_match_published_within_one_percent(file_name: str, gmacs: float) -> None:
    report = analyze_model(str(ZOO_DIR / file_name))
    assert report.analysis is not None
    measured = report.analysis.totals.macs / 1e9
    assert measured == pytest.approx(gmacs, rel=0.01)
    assert report.analysis.totals.flops >= 2 * report.analysis.totals.macs
