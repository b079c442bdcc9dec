"""The trade-off chart: the FP32 reference is a dashed line at its latency with a legend entry
saying what it is (never a point at a made-up SQNR); labels do not overlap; the exported image
carries a title and, for drift from random data, the caveat."""

from __future__ import annotations

from pathlib import Path

import pyqtgraph as pg
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QVBoxLayout, QWidget

from profiler.bench.stats import latency_stats
from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.records.variants import MAX_SQNR_DB, DriftMetrics, Variant
from ui.charts.tradeoff import FRONT_LEGEND, REFERENCE_LEGEND, TradeoffChart, is_reference
from ui.export_dialog import (
    CAVEAT_TEXT,
    EXPORT_MIN_SIZE_PX,
    PNG_SCALE,
    export_chart,
    figure_text,
)
from ui.label_placement import any_overlap

DEVICES = ("ort:cpu", "ov:CPU")


def tradeoff_report(random_data: bool = True) -> Report:
    """FP32 and three variants on two devices; the variants' latencies and drifts close
    together, so their labels compete for room."""
    def variant(name: str, size: int, db: float) -> Variant:
        return Variant(id=name, file_bytes=size, size_reference_bytes=4000, drift={
            d: DriftMetrics(sqnr_db=db + i, indicative_only=random_data)
            for i, d in enumerate(DEVICES)})

    variants = [Variant(id="fp32", file_bytes=4000, size_reference_bytes=4000),
                variant("int8-dynamic", 1100, 31.0), variant("int8-static", 1000, 30.0),
                variant("fp16", 2000, 48.0)]
    latencies = {"fp32": 10.0, "int8-dynamic": 7.2, "int8-static": 7.0, "fp16": 9.5}
    runs = [Run(device=d, variant=v, latency=latency_stats([ms + j] * 3))
            for j, d in enumerate(DEVICES) for v, ms in latencies.items()]
    model = ModelInfo(path="/m/net.onnx", name="net.onnx", format="onnx")
    return Report(model=model, variants=variants, runs=runs)


def shown_chart(qtbot, report: Report) -> tuple[QWidget, TradeoffChart]:
    host = QWidget()
    qtbot.addWidget(host)
    chart = TradeoffChart()
    chart.set_report(report)
    QVBoxLayout(host).addWidget(chart)
    # a fixed minimum first: offscreen platforms warn when a shown window's limits change
    host.setMinimumSize(host.minimumSizeHint())
    host.resize(900, 600)
    host.show()
    qtbot.waitExposed(host)
    qtbot.wait(50)  # labels are placed once the view settles
    return host, chart


def test_reference_is_a_line_with_its_meaning(qtbot) -> None:
    _host, chart = shown_chart(qtbot, tradeoff_report())
    plot = chart.plot
    scattered = [y for item in plot.plotItem.items if isinstance(item, pg.ScatterPlotItem)
                 for y in item.getData()[1]]
    assert sorted(scattered) == [30.0, 31.0, 31.0, 32.0, 48.0, 49.0]  # no FP32 at some dB
    lines = sorted(item.value() for item in plot.plotItem.items
                   if isinstance(item, pg.InfiniteLine))
    assert lines == [10.0, 11.0]  # each device's FP32 latency
    legend = [label.text for _sample, label in plot.legend.items]
    assert legend == ["ort:cpu", "ov:CPU", REFERENCE_LEGEND, FRONT_LEGEND]
    assert MAX_SQNR_DB > plot.viewRange()[1][1] > 49.0  # the y axis spans the variants only
    references = [p for p in plot.points if is_reference(p)]
    assert [p.device for p in references] == list(DEVICES)


def test_labels_do_not_overlap(qtbot) -> None:
    _host, chart = shown_chart(qtbot, tradeoff_report())
    boxes = chart.plot.label_boxes()
    assert len(boxes) == 8 and not any_overlap(boxes)
    texts = [label.toPlainText() for _p, label in chart.plot.labels]
    assert sorted(t for t in texts if t.startswith("FP32")) == ["FP32 10 ms", "FP32 11 ms"]


def test_details_pane_is_resizable_and_readable(qtbot) -> None:
    _host, chart = shown_chart(qtbot, tradeoff_report())
    lines = chart.details.height() / chart.details.fontMetrics().lineSpacing()
    assert lines >= 6 and not chart.splitter.childrenCollapsible()


def test_exported_png_has_title_and_caveat(qtbot, tmp_path: Path) -> None:
    report = tradeoff_report()
    text = figure_text(report, "Trade-off")
    assert text.title == "Trade-off: net.onnx" and text.caveat == CAVEAT_TEXT
    assert figure_text(tradeoff_report(random_data=False), "Trade-off").caveat == ""
    assert figure_text(report, "Latency").caveat == ""
    _host, chart = shown_chart(qtbot, report)
    path = tmp_path / "tradeoff.png"
    export_chart(chart.plot, str(path), text)
    image = QImage(str(path))
    # a chart narrower on screen than the export minimum is drawn at the minimum, then restored
    width_px, height_px = EXPORT_MIN_SIZE_PX
    assert chart.plot.width() < width_px
    assert image.width() == width_px * PNG_SCALE
    assert image.height() > max(chart.plot.height(), height_px) * PNG_SCALE  # title, caveat
    assert chart.plot.width() < width_px
    svg = tmp_path / "tradeoff.svg"
    export_chart(chart.plot, str(svg), text)
    content = svg.read_text(encoding="utf-8")
    assert "Trade-off: net.onnx" in content and "indicative only" in content
    assert REFERENCE_LEGEND in content
