"""File › Export writes valid files of every format, and a saved JSON reopens the same."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from profiler.records.report import load_report
from tests.ui.test_main_window import drop_and_wait
from tests.ui.test_selection_and_charts import runs_report  # noqa: F401 - fixture
from ui.export_dialog import ExportDialog
from ui.main_window import MainWindow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def window(qtbot, make_window, runs_report: Path) -> MainWindow:  # noqa: F811
    window = make_window()
    drop_and_wait(qtbot, window, [runs_report])
    return window


def export(qtbot, window: MainWindow, tmp_path: Path, extension: str,
           chart: str = "") -> Path:
    window.export_current()
    dialog = window.export_dialog
    assert isinstance(dialog, ExportDialog) and dialog.isVisible()
    dialog.set_format(extension)
    if chart:
        dialog.chart.setCurrentText(chart)
    target = tmp_path / f"out{extension}"
    dialog.path.setText(str(target))
    with qtbot.waitSignal(dialog.exported, timeout=30_000) as exported:
        dialog.export()
    assert exported.args == [str(target)]
    assert not dialog.isVisible()
    return target


def test_json_export_loads_back_equal(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = export(qtbot, window, tmp_path, ".json")
    report = window.current_view().document.report
    assert load_report(str(path)).to_dict() == report.to_dict()
    assert window.settings.export_folder() == str(tmp_path)
    assert f"Exported {path}" == window.statusBar().currentMessage()


def test_html_export_has_inline_svg_charts(qtbot, window: MainWindow, tmp_path: Path) -> None:
    text = export(qtbot, window, tmp_path, ".html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<svg" in text and "ov:CPU/fp32" in text


def test_csv_export_parses_one_row_per_layer(qtbot, window: MainWindow, tmp_path: Path) -> None:
    path = export(qtbot, window, tmp_path, ".csv")
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    layers = window.current_view().document.data.layers
    assert rows[0][:2] == ["name", "op_type"] and "time_ms[ov:CPU/fp32]" in rows[0]
    assert [row[0] for row in rows[1:]] == [layer.name for layer in layers]


def test_markdown_export(qtbot, window: MainWindow, tmp_path: Path) -> None:
    text = export(qtbot, window, tmp_path, ".md").read_text(encoding="utf-8")
    assert text.startswith("#") and "mobilenetv2.onnx" in text


def test_chart_png_and_svg_images(qtbot, window: MainWindow, tmp_path: Path) -> None:
    png = export(qtbot, window, tmp_path, ".png", chart="Latency")
    assert png.read_bytes()[:8] == PNG_SIGNATURE
    assert png.name == "out.png"
    svg = export(qtbot, window, tmp_path, ".svg", chart="Top layers")
    text = svg.read_text(encoding="utf-8")
    assert "<svg" in text and "conv_" in text  # the bar labels are in the image


def test_a_missing_folder_is_reported_in_the_dialog(qtbot, window: MainWindow,
                                                    tmp_path: Path) -> None:
    window.export_current()
    dialog = window.export_dialog
    dialog.path.setText(str(tmp_path / "nowhere" / "x.html"))
    dialog.export()
    assert "no such folder" in dialog.message.text() and dialog.isVisible()
    dialog.reject()


def test_default_names_follow_the_model_and_chart(window: MainWindow) -> None:
    window.export_current()
    dialog = window.export_dialog
    dialog.set_format(".html")
    assert Path(dialog.path.text()).name == "mobilenetv2.html"
    dialog.set_format(".png")
    dialog.chart.setCurrentText("By op type")
    assert Path(dialog.path.text()).name == "mobilenetv2-by-op-type.png"
    dialog.reject()


def test_saved_json_reopens_showing_the_same(qtbot, window: MainWindow, tmp_path: Path) -> None:
    original = window.current_view()
    path = export(qtbot, window, tmp_path, ".json")
    drop_and_wait(qtbot, window, [path])
    reopened = window.current_view()
    assert reopened is not original and window.tabs.count() == 2
    assert reopened.document.read_only

    def table_text(view) -> list[list[str]]:
        proxy = view.table.proxy
        return [[proxy.data(proxy.index(r, c)) for c in range(proxy.columnCount())]
                for r in range(proxy.rowCount())]

    assert table_text(reopened) == table_text(original)
    assert [c.header for c in reopened.document.columns] == \
        [c.header for c in original.document.columns]
    assert reopened.card.runs.text() == original.card.runs.text()
    assert {t: v.text() for t, v in reopened.card.values.items()} == \
        {t: v.text() for t, v in original.card.values.items()}
    assert reopened.charts.visible_charts() == original.charts.visible_charts()
    assert [b.value for b in reopened.charts.top_layers.bars] == \
        [b.value for b in original.charts.top_layers.bars]
    assert json.loads(path.read_text(encoding="utf-8"))["schema"] == "edgeprof.report"


def test_a_chart_never_shown_exports_with_its_labels(qtbot, window: MainWindow,
                                                     tmp_path: Path) -> None:
    """A chart in a tab the user never opened was never laid out on screen: the export lays
    it out at the export size, so its names and values are in the image."""
    charts = window.current_view().charts
    assert charts.current_chart() != "By op type"
    svg = export(qtbot, window, tmp_path, ".svg", chart="By op type")
    text = svg.read_text(encoding="utf-8")
    assert "Conv" in text
