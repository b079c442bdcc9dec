"""The quantize dock builds int8-dynamic of a tiny model, measures it on ort:cpu, lists the
variant and draws the trade-off chart; excluding the selected layer runs again with it kept
in float."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF

from tests.ui.test_profile_panel import open_model, tiny_model


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "edgeprof-cache"))


def quantize_and_wait(qtbot, panel, button) -> None:
    assert button.isEnabled(), panel.reason.text()
    with qtbot.waitSignal(panel.run_finished, timeout=300_000):
        button.click()


def test_int8_dynamic_gives_a_variant_row_and_tradeoff_points(qtbot, make_window,
                                                              tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    panel = window.quantize_panel
    assert panel.indicative.isVisibleTo(panel)  # random data is the default
    panel.check(["int8-dynamic"], ["ort:cpu"])
    panel.samples.setValue(4)
    quantize_and_wait(qtbot, panel, panel.run_button)
    rows = [[panel.results.item(r, c).text() for c in range(panel.results.columnCount())]
            for r in range(panel.results.rowCount())]
    assert [row[:2] for row in rows] == [["fp32", "ort:cpu"], ["int8-dynamic", "ort:cpu"]]
    report = window.current_view().document.report
    assert [v.id for v in report.variants] == ["fp32", "int8-dynamic"]
    charts = window.current_view().charts
    assert "Trade-off" in charts.visible_charts()
    plot = charts.tradeoff.plot
    assert sorted(p.variant for p in plot.points) == ["fp32", "int8-dynamic"]
    int8 = next(i for i, p in enumerate(plot.points) if p.variant == "int8-dynamic")
    titles = [charts.tabs.tabText(i) for i in range(charts.tabs.count())]
    charts.tabs.setCurrentIndex(titles.index("Trade-off"))
    view_pos = plot.plotItem.vb.mapSceneToView(plot.point_scene_pos(int8))
    plot.clicked_at(QPointF(view_pos))
    assert "int8-dynamic" in charts.tradeoff.details.toPlainText()


def test_exclude_selected_layer_requantizes_with_it_in_float(qtbot, make_window,
                                                             tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    panel = window.quantize_panel
    panel.check(["int8-dynamic"], ["ort:cpu"])
    panel.samples.setValue(4)
    view = window.current_view()
    view.table.select_layer(view.document.data.index_by_name["conv1"])
    assert panel.selected_layer_names() == ["conv1"]
    quantize_and_wait(qtbot, panel, panel.exclude_button)
    variant = next(v for v in panel.last_report.variants if v.id == "int8-dynamic")
    assert variant.excluded_nodes == ["conv1"]
