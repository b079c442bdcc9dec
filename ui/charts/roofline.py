"""Achieved GFLOP/s per layer against arithmetic intensity, log-log (a roofline without roofs:
the machine's peaks are not measured, the points show which layers are memory- or
compute-bound relative to each other)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QWidget

from profiler.units import si_compact
from ui.chart_data import RooflinePoint
from ui.charts.base import FormatAxis, ThemedPlot, side_legend
from ui.theme import Theme

HOVER_RADIUS_PX = 9.0
LEGEND_GROUPS = 7


class RooflineChart(ThemedPlot):
    layer_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__({"bottom": FormatAxis("bottom", si_compact),
                          "left": FormatAxis("left", si_compact)}, parent)
        self.points: list[RooflinePoint] = []
        self.colours: dict[str, str] = {}
        self.highlighted: int | None = None
        self.setLogMode(x=True, y=True)
        self.plotItem.showGrid(x=True, y=True, alpha=0.2)
        self.setLabel("bottom", "arithmetic intensity (FLOP/B)")
        self.setLabel("left", "achieved GFLOP/s")
        self.legend = side_legend(self.plotItem)
        self.ring = pg.ScatterPlotItem(size=18, symbol="o", brush=None)
        self.empty_text = pg.TextItem(anchor=(0.5, 0.5))
        self.empty_message = ""
        self.log_xy = np.zeros((0, 2))

    def set_points(self, points: list[RooflinePoint], colours: dict[str, str],
                   title: str, empty_message: str) -> None:
        self.points, self.colours = points, colours
        self.log_xy = np.log10(np.array([[p.intensity, p.gflops_per_s] for p in points],
                                        dtype=float).reshape(-1, 2))
        self.highlighted = None
        self.setTitle(title)
        self.empty_message = empty_message
        self._draw()

    def _groups(self) -> dict[str, list[RooflinePoint]]:
        """Op types by number of points; the rest share one 'other' group."""
        counts: dict[str, int] = {}
        for point in self.points:
            counts[point.op_type] = counts.get(point.op_type, 0) + 1
        named = sorted(counts, key=lambda op: (-counts[op], op))[:LEGEND_GROUPS]
        groups: dict[str, list[RooflinePoint]] = {op: [] for op in named}
        for point in self.points:
            groups.setdefault(point.op_type if point.op_type in named else "other",
                              []).append(point)
        return groups

    def _draw(self) -> None:
        self.clear()
        self.legend.clear()
        for op_type, group in self._groups().items():
            colour = self.colours.get(op_type, self.theme.series[-1])
            scatter = pg.ScatterPlotItem(
                [math.log10(p.intensity) for p in group],
                [math.log10(p.gflops_per_s) for p in group], size=8,
                brush=pg.mkBrush(colour + "cc"), pen=pg.mkPen(self.theme.base, width=0.5))
            self.addItem(scatter)
            self.legend.addItem(scatter, op_type)
        self.addItem(self.ring)
        self._place_ring()
        self.empty_text.setText("" if self.points else self.empty_message)
        self.empty_text.setColor(self.theme.muted)
        if not self.points:
            self.addItem(self.empty_text, ignoreBounds=True)
            self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.empty_text.setPos(0.5, 0.5)
        else:
            self.reset_view()

    def reset_view(self) -> None:
        if self.points:
            self.autoRange(padding=0.08)

    def _place_ring(self) -> None:
        point = next((p for p in self.points if p.layer == self.highlighted), None)
        if point is None:
            self.ring.setData([], [])
            return
        self.ring.setData([math.log10(point.intensity)], [math.log10(point.gflops_per_s)],
                          pen=pg.mkPen(self.theme.text, width=2.5))

    def highlight(self, layer: int | None) -> None:
        self.highlighted = layer
        self._place_ring()

    def nearest(self, point: QPointF) -> RooflinePoint | None:
        """The point within HOVER_RADIUS_PX of ``point`` (log view coordinates), if any."""
        index = self.nearest_index(self.log_xy, point, HOVER_RADIUS_PX) if self.points else None
        return self.points[index] if index is not None else None

    def point_scene_pos(self, layer: int) -> QPointF:
        point = next(p for p in self.points if p.layer == layer)
        return self.plotItem.vb.mapViewToScene(
            QPointF(math.log10(point.intensity), math.log10(point.gflops_per_s)))

    def hover_text(self, point: QPointF) -> str:
        found = self.nearest(point)
        return found.tooltip if found else ""

    def clicked_at(self, point: QPointF) -> None:
        found = self.nearest(point)
        if found is not None:
            self.layer_clicked.emit(found.layer)

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.legend.setLabelTextColor(theme.text)
        self._draw()
