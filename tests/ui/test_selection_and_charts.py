"""Selecting a layer anywhere selects it everywhere: table, details, chart highlights. Charts
hover and click like a user would."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt

from profiler.api import analyze_model
from profiler.report.exporters import write_report
from tests.ui.factory import make_runs
from tests.ui.test_main_window import drop_and_wait
from tests.ui.test_open_files import SAMPLE
from ui.model_view import ReportView


@pytest.fixture(scope="module")
def runs_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    report = analyze_model(str(SAMPLE))
    report.runs = make_runs(report.analysis)
    path = tmp_path_factory.mktemp("sel") / "runs.json"
    write_report(report, str(path))
    return path


@pytest.fixture
def view(qtbot, make_window, runs_report: Path) -> ReportView:
    window = make_window()
    drop_and_wait(qtbot, window, [runs_report])
    current = window.current_view()
    assert current is not None
    return current


def layer_index(view: ReportView, name: str) -> int:
    return view.document.data.index_by_name[name]


def click_scene(qtbot, plot, scene_pos) -> None:
    point = plot.mapFromScene(scene_pos)
    qtbot.mouseClick(plot.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(point.x(), point.y()))


def test_selecting_a_row_updates_details_and_chart_highlights(qtbot, view: ReportView) -> None:
    charts = view.charts
    top = charts.top_layers.bars[0]  # the slowest layer on ov:CPU
    view.table.select_layer(top.layer)
    html = view.details.toHtml()
    name = view.document.data.layers[top.layer].name
    assert name in html and "ov:CPU/fp32" in html and "ort:cpu/fp32" in html
    assert f"rt_{name}" in html  # the runtime layer it ran as
    assert charts.top_layers.highlighted == {0}
    assert charts.roofline.highlighted == top.layer
    # a Clip fused into its Conv's runtime layer: the time view lights the runtime type
    clip = layer_index(view, "conv_1.relu6")
    view.select_layer(clip)
    assert {charts.by_op.bars[i].group for i in charts.by_op.highlighted} == {"Conv"}
    charts.rank_by.setCurrentIndex(charts.rank_by.findData("macs"))
    assert {charts.by_op.bars[i].group for i in charts.by_op.highlighted} == set()  # 0 MACs
    charts.rank_by.setCurrentIndex(charts.rank_by.findData("flops"))
    assert {charts.by_op.bars[i].group for i in charts.by_op.highlighted} == {"Clip"}


def test_details_show_input_producers_and_fused_nodes(view: ReportView) -> None:
    relu = layer_index(view, "conv_1.relu6")
    view.select_layer(relu)
    html = view.details.toHtml()
    assert "conv_1.out" in html and "1x32x112x112" in html
    assert f"layer:{layer_index(view, 'conv_1')}" in html  # link to the producer
    assert "rt_conv_1" in html  # fused into conv_1's runtime layer


def test_details_show_the_node_attributes(view: ReportView) -> None:
    view.select_layer(layer_index(view, "conv_4"))
    html = view.details.toHtml()
    assert "Attributes" in html and "kernel_shape" in html and "[1, 1]" in html


def test_clicking_a_bar_selects_the_layer_in_the_table(qtbot, view: ReportView) -> None:
    chart = view.charts.top_layers
    view.charts.tabs.setCurrentWidget(chart)
    qtbot.waitUntil(lambda: chart.isVisible() and chart.width() > 100)
    target = chart.bars[3]
    with qtbot.waitSignal(view.layer_selected, timeout=5000) as selected:
        click_scene(qtbot, chart, chart.bar_centre(3))
    assert selected.args == [target.layer]
    assert view.table.selected_layer() == target.layer
    assert chart.highlighted == {3}


def test_clicking_a_roofline_point_selects_its_layer(qtbot, view: ReportView) -> None:
    chart = view.charts.roofline
    view.charts.tabs.setCurrentWidget(chart)
    qtbot.waitUntil(lambda: chart.isVisible() and chart.width() > 100)
    chart.autoRange()
    target = max(chart.points, key=lambda p: p.gflops_per_s)  # on the edge: nothing overlaps
    with qtbot.waitSignal(view.layer_selected, timeout=5000) as selected:
        click_scene(qtbot, chart, chart.point_scene_pos(target.layer))
    assert selected.args == [target.layer]
    assert chart.highlighted == target.layer


def test_clicking_an_op_type_bar_filters_the_table(qtbot, view: ReportView) -> None:
    charts = view.charts
    charts.rank_by.setCurrentIndex(charts.rank_by.findData("macs"))
    charts.tabs.setCurrentWidget(charts.by_op)
    qtbot.waitUntil(lambda: charts.by_op.isVisible() and charts.by_op.width() > 100)
    assert charts.by_op.bars[0].group == "Conv"
    click_scene(qtbot, charts.by_op, charts.by_op.bar_centre(0))
    assert view.table.op_filter.currentData() == "Conv"
    assert view.table.proxy.rowCount() == dict(view.document.data.op_counts)["Conv"]


def test_hover_text_names_the_bar_and_the_point(view: ReportView) -> None:
    chart = view.charts.top_layers
    bar = chart.bars[0]
    name = view.document.data.layers[bar.layer].name
    point = chart.plotItem.vb.mapSceneToView(chart.bar_centre(0))
    assert chart.hover_text(point).startswith(f"{name}\n")
    assert "ms" in chart.hover_text(point)
    latency = view.charts.latency
    trace_point = latency.trace_plot.vb.mapSceneToView(
        latency.trace_plot.vb.mapViewToScene(latency.trace_plot.vb.viewRect().center()))
    assert latency.hover_text(latency.trace_plot, trace_point).startswith("iteration ")


def test_run_picker_switches_time_charts_and_device_click_selects_run(
        qtbot, view: ReportView) -> None:
    charts = view.charts
    before = [bar.value for bar in charts.top_layers.bars]
    charts.select_run("ort:cpu/fp32")
    assert charts.latency.data.label == "ort:cpu/fp32" and charts.latency.data.count == 200
    assert [bar.value for bar in charts.top_layers.bars] != before
    charts.select_run("ov:GPU.0/fp32")  # failed run: empty charts with a message, no error
    assert charts.latency.data is None and charts.top_layers.bars == []
    assert charts.roofline.points == []
    devices = charts.devices.plot
    devices.clicked_at(QPointF(0, devices.bars[0].p50_ms / 2))  # the ov:CPU column
    assert charts.run.currentText() == "ov:CPU/fp32"
    assert charts.latency.data.label == "ov:CPU/fp32"
    assert "p90" in devices.hover_text(QPointF(1, devices.bars[1].p50_ms / 2))


def test_latency_chart_marks_p50_and_p99(view: ReportView) -> None:
    data = view.charts.latency.data
    run = view.document.report.runs[0]
    assert (data.p50_ms, data.p99_ms) == (run.latency.p50, run.latency.p99)
    assert sum(data.bin_counts) == run.latency.count
    lines = [item for item in view.charts.latency.histogram_plot.items
             if item.__class__.__name__ == "InfiniteLine"]
    assert sorted(line.value() for line in lines) == sorted([data.p50_ms, data.p99_ms])


def test_zoom_then_double_click_resets_the_view(qtbot, view: ReportView) -> None:
    chart = view.charts.top_layers
    view.charts.tabs.setCurrentWidget(chart)
    qtbot.waitUntil(lambda: chart.isVisible() and chart.width() > 100)
    full = chart.plotItem.vb.viewRange()
    chart.plotItem.vb.scaleBy((0.5, 0.5))  # what the mouse wheel does
    assert chart.plotItem.vb.viewRange() != full
    point = chart.mapFromScene(chart.bar_centre(2))
    at = QPoint(point.x(), point.y())
    # what a double-click delivers: press, release, double-click, release
    qtbot.mouseClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseDClick(chart.viewport(), Qt.MouseButton.LeftButton, pos=at)
    qtbot.mouseRelease(chart.viewport(), Qt.MouseButton.LeftButton, pos=at)
    (x0, x1), (y0, y1) = chart.plotItem.vb.viewRange()
    assert [x0, x1, y0, y1] == pytest.approx([*full[0], *full[1]])
