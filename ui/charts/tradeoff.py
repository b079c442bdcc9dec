"""Quantization trade-off: latency p50 (x) against drift (y: SQNR dB, higher is better) per
variant and device; marker size follows the file size, the Pareto front is a dash-dot line,
each device's FP32 reference is a dashed vertical line at its latency (no drift: it has no
SQNR to plot), labels never overlap, hovering names a point and clicking one shows that
variant's details in a resizable pane under the chart."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QTextBrowser, QVBoxLayout, QWidget

from profiler.records.report import Report
from profiler.units import size_bytes
from ui.charts.base import FormatAxis, ThemedPlot, side_legend
from ui.label_placement import Box, place_labels
from ui.theme import LIGHT, Theme

HOVER_RADIUS_PX = 12.0
MIN_MARKER_PX, MAX_MARKER_PX = 8.0, 26.0
TEXT_PAD_PX = 6.0
DETAILS_MIN_LINES = 6
PLOT_MIN_HEIGHT_PX = 260
LABEL_DROP_PX = 14.0
"""A reference's label sits this far below the top of the plot, beside its line."""
REFERENCE_LEGEND = "FP32 latency (no drift)"
"""The dashed lines: the reference has no SQNR to plot, so it is its latency alone."""
FRONT_LEGEND = "Pareto front"
LEGEND_TEXT_SIZE = "10pt"


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


def is_reference(point: TradeoffPoint) -> bool:
    """The FP32 model: no drift by definition, so it has no place on the SQNR axis."""
    from profiler.records.variants import REFERENCE_ID

    return point.variant == REFERENCE_ID


def reference_label(point: TradeoffPoint) -> str:
    """Short, in the device's colour: the legend says what the dashed line is."""
    return f"FP32 {point.latency_ms:.3g} ms"


def view_ranges(points: list[TradeoffPoint]) -> tuple[tuple[float, float], tuple[float, float]]:
    """x over every latency (the references too), y over the variants' SQNR only."""
    xs = [p.latency_ms for p in points] or [0.0, 1.0]
    ys = [p.sqnr_db for p in points if not is_reference(p)] or [0.0, 40.0]
    x_pad = (max(xs) - min(xs)) * 0.15 or max(xs) * 0.2 or 1.0
    y_pad = (max(ys) - min(ys)) * 0.2 or 5.0
    return (min(xs) - x_pad, max(xs) + x_pad), (min(ys) - y_pad, max(ys) + y_pad)


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
    """Variants as markers; each device's FP32 reference as a dashed vertical line at its
    latency (it has no drift to plot). Labels are re-placed whenever the view changes."""

    point_clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__({"bottom": FormatAxis("bottom", lambda v: f"{v:g}"),
                          "left": FormatAxis("left", lambda v: f"{v:g}")}, parent)
        self.points: list[TradeoffPoint] = []
        self.xy = np.zeros((0, 2))
        self.xy_points: list[int] = []
        """Index into ``points`` of each row of ``xy`` (the variants: references have no y)."""
        self.labels: list[tuple[TradeoffPoint, pg.TextItem]] = []
        self.plotItem.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "latency p50 (ms)")
        self.setLabel("left", "SQNR (dB, higher: less drift)")
        self.legend = side_legend(self.plotItem)
        self.legend.opts["labelTextSize"] = LEGEND_TEXT_SIZE
        # placed once the view settles: a zoom or resize sends several changes at once
        self.label_timer = QTimer(self)
        self.label_timer.setSingleShot(True)
        self.label_timer.setInterval(0)
        self.label_timer.timeout.connect(self._place_labels)
        self.plotItem.vb.sigRangeChanged.connect(self.label_timer.start)
        self.plotItem.vb.sigResized.connect(self.label_timer.start)

    def set_points(self, points: list[TradeoffPoint]) -> None:
        self.points = points
        self.xy_points = [i for i, p in enumerate(points) if not is_reference(p)]
        self.xy = np.array([[points[i].latency_ms, points[i].sqnr_db] for i in self.xy_points],
                           dtype=float).reshape(-1, 2)
        self._draw()

    def _draw(self) -> None:
        self.clear()
        self.legend.clear()
        self.labels = []
        devices = list(dict.fromkeys(p.device for p in self.points))
        for index, device in enumerate(devices):
            colour = self.theme.series[index % len(self.theme.series)]
            self._draw_device([p for p in self.points if p.device == device], device, colour)
        for style, name in ((Qt.PenStyle.DashLine, REFERENCE_LEGEND),
                            (Qt.PenStyle.DashDotLine, FRONT_LEGEND)):
            if self.points:
                sample = pg.PlotDataItem([], [], pen=pg.mkPen(self.theme.text, width=1.5,
                                                              style=style))
                self.legend.addItem(sample, name)
        self.reset_view()

    def _draw_device(self, group: list[TradeoffPoint], device: str, colour: str) -> None:
        variants = [p for p in group if not is_reference(p)]
        scatter = pg.ScatterPlotItem(
            [p.latency_ms for p in variants], [p.sqnr_db for p in variants],
            size=marker_sizes(variants), brush=pg.mkBrush(colour + "bb"),
            pen=pg.mkPen(self.theme.text, width=0.8))
        self.addItem(scatter)
        self.legend.addItem(scatter, device)
        front = sorted((p for p in variants if p.on_front), key=lambda p: p.latency_ms)
        if len(front) > 1:
            self.addItem(pg.PlotDataItem([p.latency_ms for p in front],
                                         [p.sqnr_db for p in front],
                                         pen=pg.mkPen(colour, width=1.5,
                                                      style=Qt.PenStyle.DashDotLine)))
        for point in group:
            if is_reference(point):
                line = pg.InfiniteLine(point.latency_ms, angle=90,
                                       pen=pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine))
                self.addItem(line, ignoreBounds=True)
            text = reference_label(point) if is_reference(point) else point.variant
            label = pg.TextItem(text, color=colour if is_reference(point)
                                else self.theme.muted, anchor=(0, 0))
            self.addItem(label, ignoreBounds=True)
            self.labels.append((point, label))

    def _anchor_px(self, point: TradeoffPoint) -> QPointF:
        """Where a label's point is on screen: a reference's at the top of its line."""
        box = self.plotItem.vb
        y = box.viewRange()[1][1] if is_reference(point) else point.sqnr_db
        return box.mapViewToScene(QPointF(point.latency_ms, y))

    def label_boxes(self) -> list[Box]:
        """Each label's place in scene pixels, none overlapping another (references first:
        their spot at the top edge is the scarcer)."""
        order = sorted(range(len(self.labels)), key=lambda i: not is_reference(self.labels[i][0]))
        anchors, sizes = [], []
        metrics = self.fontMetrics()
        for i in order:
            point, label = self.labels[i]
            anchor = self._anchor_px(point)
            anchors.append((anchor.x(), anchor.y() + (LABEL_DROP_PX if is_reference(point)
                                                      else 0.0)))
            sizes.append((metrics.horizontalAdvance(label.toPlainText()) + TEXT_PAD_PX,
                          metrics.height() + TEXT_PAD_PX / 2))
        area = self.plotItem.vb.sceneBoundingRect()
        bounds = Box(area.left(), area.top(), area.width(), area.height())
        boxes = place_labels(anchors, sizes, bounds, MAX_MARKER_PX)
        placed = [Box(0, 0, 0, 0)] * len(self.labels)
        for i, box in zip(order, boxes, strict=True):
            placed[i] = box
        return placed

    def _place_labels(self) -> None:
        self.label_timer.stop()  # when called directly (export): nothing left pending
        if not self.labels or self.plotItem.vb.width() <= 0:
            return
        box = self.plotItem.vb
        for (_, label), place in zip(self.labels, self.label_boxes(), strict=True):
            label.setPos(box.mapSceneToView(QPointF(place.left, place.top)))

    def prepare_export(self) -> None:
        """Re-place the labels now, for a size set just before rendering."""
        self._place_labels()

    def nearest(self, point: QPointF) -> TradeoffPoint | None:
        index = self.nearest_index(self.xy, point, HOVER_RADIUS_PX) if len(self.xy) else None
        return self.points[self.xy_points[index]] if index is not None else None

    def point_scene_pos(self, index: int) -> QPointF:
        """Scene position of ``points[index]`` (a reference: the top of its line)."""
        return self._anchor_px(self.points[index])

    def hover_text(self, point: QPointF) -> str:
        found = self.nearest(point)
        return found.tooltip if found else ""

    def clicked_at(self, point: QPointF) -> None:
        found = self.nearest(point)
        if found is not None:
            self.point_clicked.emit(found)

    def reset_view(self) -> None:
        if self.points:
            x_range, y_range = view_ranges(self.points)
            self.setRange(xRange=x_range, yRange=y_range, padding=0)

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
        # the details pane keeps a few readable lines; the splitter handle resizes it and the
        # chart's page scrolls rather than squeezing either below its minimum
        line_px = self.details.fontMetrics().lineSpacing()
        self.details.setMinimumHeight(DETAILS_MIN_LINES * line_px)
        self.plot.setMinimumHeight(PLOT_MIN_HEIGHT_PX)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(self.plot)
        self.splitter.addWidget(self.details)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([PLOT_MIN_HEIGHT_PX + 120, DETAILS_MIN_LINES * line_px + 60])
        splitter = self.splitter
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
