"""Quantization trade-off: latency p50 (x) against drift (y: SQNR dB, higher is better) per
variant and device; marker size follows the file size, the Pareto front is a line, hovering
names a point and clicking one shows that variant's details beside the chart."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import QSplitter, QTextBrowser, QVBoxLayout, QWidget

from profiler.report.model import Report
from profiler.report.units import size_bytes
from ui.charts.base import FormatAxis, ThemedPlot, side_legend
from ui.theme import LIGHT, Theme

HOVER_RADIUS_PX = 12.0
MIN_MARKER_PX, MAX_MARKER_PX = 8.0, 26.0
REFERENCE_GAP_DB = 10.0


@dataclass(frozen=True)
class TradeoffPoint:
    variant: str
    device: str
    latency_ms: float
    sqnr_db: float
    file_bytes: int
    on_front: bool

    @property
    def tooltip(self) -> str:
        return (f"{self.variant} @ {self.device}\np50 {self.latency_ms:.3f} ms\n"
                f"SQNR {self.sqnr_db:.1f} dB\nsize {size_bytes(self.file_bytes)}"
                + ("\non the Pareto front" if self.on_front else ""))


def tradeoff_points(report: Report) -> list[TradeoffPoint]:
    """The core's Pareto points (the FP32 reference counts as no drift)."""
    from profiler.quant.pareto import pareto_points

    points = pareto_points(report.variants, report.runs)
    return [TradeoffPoint(p.variant, p.device, p.latency_ms, p.sqnr_db, p.file_bytes,
                          p.on_front) for device in points for p in points[device]]


def display_sqnr(points: list[TradeoffPoint]) -> list[float]:
    """The FP32 reference has no drift (MAX_SQNR_DB): drawn just above the best variant, so
    it does not squash the variants into one line; its tooltip keeps the true value."""
    from profiler.quant.drift import MAX_SQNR_DB

    finite = [p.sqnr_db for p in points if p.sqnr_db < MAX_SQNR_DB]
    ceiling = max(finite, default=0.0) + REFERENCE_GAP_DB
    return [min(p.sqnr_db, ceiling) for p in points]


def marker_sizes(points: list[TradeoffPoint]) -> list[float]:
    """Marker diameter grows with the square root of the file size (area ~ bytes)."""
    largest = max((p.file_bytes for p in points), default=0)
    return [MIN_MARKER_PX + (MAX_MARKER_PX - MIN_MARKER_PX)
            * math.sqrt(p.file_bytes / largest) if largest else MIN_MARKER_PX for p in points]


def variant_details(report: Report, variant_id: str, device: str) -> str:
    """Diagnostics hints and the layers with the largest drift, as rich text."""
    from html import escape

    variant = next((v for v in report.variants if v.id == variant_id), None)
    if variant is None:
        return ""
    lines = [f"<b>{escape(variant.id)}</b> @ {escape(device)}"
             + (f" — {escape(variant.description)}" if variant.description else "")]
    diagnostics = variant.diagnostics.get(device)
    for hint in (diagnostics.hints if diagnostics else []):
        lines.append(f"• {escape(hint)}")
    layers = variant.layer_drift.worst[:5] if variant.layer_drift else []
    if layers:
        lines.append("<b>Largest drift</b>")
        lines += [f"{escape(layer.node)} ({escape(layer.op_type)}): {layer.sqnr_db:.1f} dB"
                  for layer in layers]
    if variant.excluded_nodes:
        lines.append(f"kept in float: {escape(', '.join(variant.excluded_nodes))}")
    return "<br>".join(lines)


class TradeoffPlot(ThemedPlot):
    point_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__({"bottom": FormatAxis("bottom", lambda v: f"{v:g}"),
                          "left": FormatAxis("left", lambda v: f"{v:g}")}, parent)
        self.points: list[TradeoffPoint] = []
        self.xy = np.zeros((0, 2))
        self.plotItem.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "latency p50 (ms)")
        self.setLabel("left", "SQNR (dB, higher: less drift)")
        self.legend = side_legend(self.plotItem)

    def set_points(self, points: list[TradeoffPoint]) -> None:
        self.points = points
        self.xy = np.array([[p.latency_ms, y] for p, y in zip(points, display_sqnr(points),
                                                               strict=True)],
                           dtype=float).reshape(-1, 2)
        self._draw()

    def _draw(self) -> None:
        self.clear()
        self.legend.clear()
        devices = list(dict.fromkeys(p.device for p in self.points))
        for index, device in enumerate(devices):
            colour = self.theme.series[index % len(self.theme.series)]
            chosen = [i for i, p in enumerate(self.points) if p.device == device]
            group = [self.points[i] for i in chosen]
            y = {id(self.points[i]): float(self.xy[i, 1]) for i in chosen}
            scatter = pg.ScatterPlotItem(
                [p.latency_ms for p in group], [y[id(p)] for p in group],
                size=marker_sizes(group), brush=pg.mkBrush(colour + "bb"),
                pen=pg.mkPen(self.theme.text, width=0.8))
            self.addItem(scatter)
            self.legend.addItem(scatter, device)
            front = sorted((p for p in group if p.on_front), key=lambda p: p.latency_ms)
            if len(front) > 1:
                self.addItem(pg.PlotDataItem([p.latency_ms for p in front],
                                             [y[id(p)] for p in front],
                                             pen=pg.mkPen(colour, width=1.5,
                                                          style=Qt.PenStyle.DashLine)))
            for point in group:
                text = point.variant
                label = pg.TextItem(text, color=self.theme.muted, anchor=(0, 1))
                label.setPos(point.latency_ms, y[id(point)])
                self.addItem(label)
        if self.points:
            self.autoRange(padding=0.15)

    def nearest(self, point: QPointF) -> TradeoffPoint | None:
        index = self.nearest_index(self.xy, point, HOVER_RADIUS_PX) if self.points else None
        return self.points[index] if index is not None else None

    def point_scene_pos(self, index: int) -> QPointF:
        x, y = self.xy[index]
        return self.plotItem.vb.mapViewToScene(QPointF(float(x), float(y)))

    def hover_text(self, point: QPointF) -> str:
        found = self.nearest(point)
        return found.tooltip if found else ""

    def clicked_at(self, point: QPointF) -> None:
        found = self.nearest(point)
        if found is not None:
            self.point_clicked.emit(found)

    def reset_view(self) -> None:
        if self.points:
            self.autoRange(padding=0.15)

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.legend.setLabelTextColor(theme.text)
        self._draw()


class TradeoffChart(QWidget):
    """The plot with a details pane for the clicked variant."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.report: Report | None = None
        self.plot = TradeoffPlot()
        self.details = QTextBrowser()
        self.details.setPlaceholderText("Click a point for that variant's details")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.plot)
        splitter.addWidget(self.details)
        splitter.setSizes([400, 120])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.plot.point_clicked.connect(self.show_point)
        self.theme = LIGHT

    def set_report(self, report: Report) -> None:
        self.report = report
        self.plot.set_points(tradeoff_points(report) if report.variants else [])
        self.details.clear()

    def show_point(self, point: TradeoffPoint) -> None:
        if self.report is not None:
            self.details.setHtml(variant_details(self.report, point.variant, point.device))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.plot.apply_theme(theme)
