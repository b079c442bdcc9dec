"""Latency charts: one run's distribution (histogram + per-iteration trace, p50/p99 marked) and
the device comparison (p50 bars with p90/p99 markers, one per successful run)."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from profiler.units import milliseconds
from ui.chart_data import DeviceBar, LatencyData
from ui.charts.base import (
    FormatAxis,
    ThemedPlot,
    show_tooltip,
    side_legend,
    style_plot,
    truncate,
)
from ui.theme import LIGHT, Theme


def ms_tick(value: float) -> str:
    return f"{value:.4g}"


class LatencyChart(pg.GraphicsLayoutWidget):
    """Histogram on top, per-iteration trace below; both share the p50/p99 lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent=parent)
        self.theme = LIGHT
        self.data: LatencyData | None = None
        self.histogram_plot = self.addPlot(row=0, col=0, enableMenu=False,
                                           axisItems={"bottom": FormatAxis("bottom", ms_tick)})
        self.trace_plot = self.addPlot(row=1, col=0, enableMenu=False,
                                       axisItems={"left": FormatAxis("left", ms_tick)})
        for plot in (self.histogram_plot, self.trace_plot):
            plot.hideButtons()
            plot.showGrid(x=True, y=True, alpha=0.2)
        self.histogram_plot.setLabel("bottom", "latency (ms)")
        self.histogram_plot.setLabel("left", "samples")
        self.trace_plot.setLabel("bottom", "iteration")
        self.trace_plot.setLabel("left", "latency (ms)")
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)

    def _clicked(self, event: object) -> None:
        if event.double():  # type: ignore[attr-defined]
            self.reset_view()

    def reset_view(self) -> None:
        for plot in (self.histogram_plot, self.trace_plot):
            plot.autoRange()

    def set_data(self, data: LatencyData | None) -> None:
        self.data = data
        self._draw()

    def _draw(self) -> None:
        for plot in (self.histogram_plot, self.trace_plot):
            plot.clear()
        data = self.data
        if data is None:
            self.histogram_plot.setTitle("No latency samples in this run")
            self.trace_plot.setTitle("")
            return
        accent = self.theme.series[0]
        self.histogram_plot.setTitle(f"{data.label}: {data.count:,} samples, "
                                     f"stop: {data.stop_reason or '-'}")
        self.histogram_plot.plot(data.bin_edges_ms, data.bin_counts, stepMode="center",
                                 fillLevel=0, brush=pg.mkBrush(accent + "aa"),
                                 pen=pg.mkPen(accent))
        self.trace_plot.plot(list(range(len(data.samples_ms))), data.samples_ms,
                             pen=pg.mkPen(accent, width=1))
        self._markers(data)

    def _markers(self, data: LatencyData) -> None:
        for name, value, colour in (("p50", data.p50_ms, self.theme.series[2]),
                                    ("p99", data.p99_ms, self.theme.series[3])):
            pen = pg.mkPen(colour, width=2, style=pg.QtCore.Qt.PenStyle.DashLine)
            label = f"{name} {milliseconds(value)}"
            opts = {"color": colour, "fill": pg.mkBrush(self.theme.base + "cc")}
            self.histogram_plot.addItem(pg.InfiniteLine(
                value, angle=90, pen=pen, label=label,
                labelOpts={**opts, "position": 0.92 if name == "p50" else 0.78}))
            self.trace_plot.addItem(pg.InfiniteLine(
                value, angle=0, pen=pen, label=label,
                labelOpts={**opts, "position": 0.06 if name == "p50" else 0.2}))

    def hover_text(self, plot: pg.PlotItem, point: QPointF) -> str:
        data = self.data
        if data is None:
            return ""
        if plot is self.trace_plot:
            index = round(point.x())
            if 0 <= index < len(data.samples_ms):
                return f"iteration {index:,}: {milliseconds(data.samples_ms[index])}"
            return ""
        edges = data.bin_edges_ms
        for index, count in enumerate(data.bin_counts):
            if edges[index] <= point.x() < edges[index + 1]:
                return (f"{edges[index]:.4f}–{edges[index + 1]:.4f} ms: {count:,} samples "
                        f"({100 * count / max(sum(data.bin_counts), 1):.1f} %)")
        return ""

    def _moved(self, scene_pos: QPointF) -> None:
        for plot in (self.histogram_plot, self.trace_plot):
            if plot.vb.sceneBoundingRect().contains(scene_pos):
                show_tooltip(self, self.hover_text(plot, plot.vb.mapSceneToView(scene_pos)))
                return
        show_tooltip(self, "")

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.base)
        style_plot(self.histogram_plot, theme)
        style_plot(self.trace_plot, theme)
        self._draw()


class DevicePlot(ThemedPlot):
    """p50 columns with p90 and p99 markers; clicking a column emits its run label."""

    run_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        self.label_axis = pg.AxisItem("bottom")
        super().__init__({"left": FormatAxis("left", ms_tick), "bottom": self.label_axis},
                         parent)
        self.bars: list[DeviceBar] = []
        self.plotItem.showGrid(x=False, y=True, alpha=0.25)
        self.setLabel("left", "latency (ms)")
        self.legend = side_legend(self.plotItem)

    def set_bars(self, bars: list[DeviceBar]) -> None:
        self.bars = bars
        self._draw()

    def _draw(self) -> None:
        self.clear()
        self.legend.clear()
        if not self.bars:
            return
        xs = list(range(len(self.bars)))
        series = self.theme.series
        columns = pg.BarGraphItem(x=xs, height=[b.p50_ms for b in self.bars], width=0.55,
                                  brush=pg.mkBrush(series[0]), pen=pg.mkPen(series[0]))
        self.addItem(columns)
        self.legend.addItem(columns, "p50")
        for name, values, symbol, colour in (
                ("p90", [b.p90_ms for b in self.bars], "t1", series[1]),
                ("p99", [b.p99_ms for b in self.bars], "d", series[3])):
            markers = pg.ScatterPlotItem(xs, values, symbol=symbol, size=12,
                                         brush=pg.mkBrush(colour), pen=pg.mkPen(colour))
            self.addItem(markers)
            self.legend.addItem(markers, name)
        for x, bar in zip(xs, self.bars, strict=True):
            value = pg.TextItem(f"p50 {milliseconds(bar.p50_ms)}", color=self.theme.text,
                                anchor=(0.5, 1.1))
            value.setPos(x, bar.p50_ms)
            self.addItem(value)
        self.label_axis.setTicks([[(i, truncate(b.label, 22)) for i, b in enumerate(self.bars)],
                                  []])
        self.reset_view()

    def reset_view(self) -> None:
        if self.bars:
            top = max(b.p99_ms for b in self.bars)
            self.setRange(xRange=(-0.6, len(self.bars) - 0.4), yRange=(0, top * 1.15),
                          padding=0)

    def index_at(self, point: QPointF) -> int | None:
        index = round(point.x())
        return index if 0 <= index < len(self.bars) and abs(point.x() - index) <= 0.3 else None

    def hover_text(self, point: QPointF) -> str:
        index = self.index_at(point)
        return self.bars[index].tooltip if index is not None else ""

    def clicked_at(self, point: QPointF) -> None:
        index = self.index_at(point)
        if index is not None:
            self.run_clicked.emit(self.bars[index].label)

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.legend.setLabelTextColor(theme.text)
        self._draw()


class DeviceChart(QWidget):
    """The device plot and, under it, one line per failed run (they have no latency)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = DevicePlot()
        self.failures = QLabel()
        self.failures.setWordWrap(True)
        self.failures.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.failures)

    def set_runs(self, bars: list[DeviceBar], failures: list[str]) -> None:
        self.plot.set_bars(bars)
        self.failures.setText("\n".join(failures))
        self.failures.setVisible(bool(failures))

    def apply_theme(self, theme: Theme) -> None:
        self.plot.apply_theme(theme)
        self.failures.setStyleSheet(f"color: {theme.bad}; padding: 4px;")
