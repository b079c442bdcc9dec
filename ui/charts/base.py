"""Shared chart pieces: themed plot widgets, formatted axes, hover tooltips, and a horizontal
bar chart with category labels that can be clicked and highlighted."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QCursor, QFont, QFontMetrics
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from profiler.units import si_compact
from ui.chart_data import BarDatum, elide_middle, labelled_rows, value_axis_max
from ui.theme import LIGHT, Theme

Formatter = Callable[[float], str]
MAX_LABEL_CHARS = 36
MAX_VALUE_LABELS = 40
MIN_ROWS = 8
LABEL_SHARE = 0.45
"""At most this share of the chart's width goes to the bar names."""
AXIS_PX = 56
"""Height of the value axis and its title under the bars."""
VALUE_PAD_PX = 10


def truncate(text: str, max_chars: int = MAX_LABEL_CHARS) -> str:
    return elide_middle(text, max_chars)


class FormatAxis(pg.AxisItem):
    """An axis whose tick labels go through ``formatter`` (SI prefixes, milliseconds, log)."""

    def __init__(self, orientation: str, formatter: Formatter = si_compact) -> None:
        super().__init__(orientation)
        self.formatter = formatter
        self.enableAutoSIPrefix(False)  # the formatter picks units; no "(x0.001)" in the title

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if self.logMode:
            return log_tick_labels(values, self.formatter)
        return [self.formatter(value * scale) for value in values]


def log_tick_labels(exponents: list[float], formatter: Formatter) -> list[str]:
    """Labels for log-axis ticks: decades always; 2 and 5 only when the axis spans at most two
    decades (else the minor labels run into each other)."""
    span = max(exponents, default=0.0) - min(exponents, default=0.0)
    labels = []
    for exponent in exponents:
        value = 10 ** exponent
        mantissa = round(value / 10 ** math.floor(exponent + 1e-9), 6)
        keep = mantissa == 1 or (span <= 2 and mantissa in (2, 5))
        labels.append(formatter(value) if keep else "")
    return labels


def style_plot(plot: pg.PlotItem, theme: Theme) -> None:
    for name in ("left", "bottom", "right", "top"):
        axis = plot.getAxis(name)
        axis.setZValue(-1)  # grid lines under the data, not across the bars
        axis.setPen(pg.mkPen(theme.line))
        axis.setTextPen(pg.mkPen(theme.text))
        axis.setStyle(tickFont=QFont(), tickTextOffset=4)
    plot.titleLabel.setAttr("color", theme.text)
    for axis_name in ("left", "bottom"):
        plot.getAxis(axis_name).label.setDefaultTextColor(QColor(theme.muted))


def side_legend(plot: pg.PlotItem) -> pg.LegendItem:
    """A legend in its own column right of the plot, so it never hides data. Entries are
    added with ``legend.addItem(item, name)``."""
    legend = pg.LegendItem()
    # no bigger than its entries, at the top of the row (the grid would stretch it)
    legend.setSizePolicy(QSizePolicy.Policy.Maximum, QSizePolicy.Policy.Maximum)
    plot.layout.addItem(legend, 2, 3)
    plot.layout.setAlignment(legend, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    return legend


def show_tooltip(widget: QWidget, text: str) -> None:
    if text:
        QToolTip.showText(QCursor.pos(), text, widget)
    else:
        QToolTip.hideText()


class ThemedPlot(pg.PlotWidget):
    """A PlotWidget that follows the app theme and reports hover and click positions in view
    coordinates to ``hover_text`` / ``clicked_at``."""

    def __init__(self, axes: dict[str, pg.AxisItem] | None = None,
                 parent: QWidget | None = None) -> None:
        # our own controls replace pyqtgraph's menus; never building them saves a third of
        # a chart's creation time
        super().__init__(parent=parent, axisItems=axes or {}, enableMenu=False)
        self.theme = LIGHT
        self.plotItem.hideButtons()
        self.scene().sigMouseMoved.connect(self._moved)
        self.scene().sigMouseClicked.connect(self._clicked)

    def nearest_index(self, xy: np.ndarray, point: QPointF, radius_px: float) -> int | None:
        """Row of ``xy`` (view coordinates) within ``radius_px`` screen pixels of ``point``.
        Vectorised: hovering stays smooth with tens of thousands of points."""
        if len(xy) == 0:
            return None
        pixel = self.plotItem.vb.viewPixelSize()
        distances = np.hypot((xy[:, 0] - point.x()) / pixel[0], (xy[:, 1] - point.y()) / pixel[1])
        index = int(np.argmin(distances))
        return index if distances[index] <= radius_px else None

    def view_point(self, scene_pos: QPointF) -> QPointF | None:
        box = self.plotItem.vb
        if not box.sceneBoundingRect().contains(scene_pos):
            return None
        return box.mapSceneToView(scene_pos)

    def _moved(self, scene_pos: QPointF) -> None:
        point = self.view_point(scene_pos)
        show_tooltip(self, self.hover_text(point) if point is not None else "")

    def _clicked(self, event: object) -> None:
        button = getattr(event, "button", lambda: None)()
        if button != Qt.MouseButton.LeftButton:
            return
        if event.double():  # type: ignore[attr-defined]
            self.reset_view()
            return
        point = self.view_point(event.scenePos())  # type: ignore[attr-defined]
        if point is not None:
            self.clicked_at(point)

    def reset_view(self) -> None:
        """Undo zoom and pan (double-click)."""
        self.plotItem.autoRange()

    def hover_text(self, point: QPointF) -> str:
        return ""

    def clicked_at(self, point: QPointF) -> None:
        return None

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setBackground(theme.base)
        style_plot(self.plotItem, theme)


class BarChart(ThemedPlot):
    """Horizontal bars, first datum at the top, labels on the left axis. Emits
    ``bar_clicked`` with the datum's index; ``highlight`` outlines matching bars."""

    bar_clicked = Signal(int)

    def __init__(self, value_format: Formatter = si_compact,
                 parent: QWidget | None = None) -> None:
        self.value_axis = FormatAxis("bottom", value_format)
        super().__init__({"bottom": self.value_axis}, parent)
        self.bars: list[BarDatum] = []
        self.colours: list[str] = []
        self.value_labels: list[pg.TextItem] = []
        """The labels shown, one per labelled bar (from ``label_pool``)."""
        self.label_pool: list[pg.TextItem] = []
        self.highlighted: set[int] = set()
        self.item = pg.BarGraphItem(x0=[], y=[], height=0.72, width=[])
        self.addItem(self.item)
        self.plotItem.invertY(True)
        self.plotItem.showGrid(x=True, y=False, alpha=0.25)
        self.setMouseEnabled(x=True, y=True)
        self.empty_text = pg.TextItem(anchor=(0.5, 0.5))
        self.addItem(self.empty_text, ignoreBounds=True)
        self.value_format: Formatter = value_format
        self.plotItem.vb.sigResized.connect(self._resized)

    def set_bars(self, bars: Sequence[BarDatum], colours: Sequence[str],
                 value_format: Formatter, empty_message: str = "Nothing to show") -> None:
        self.bars, self.colours = list(bars), list(colours)
        self.value_axis.formatter = value_format
        self.value_format = value_format
        self.highlighted = set()
        positions = list(range(len(self.bars)))
        self.item.setOpts(x0=[0.0] * len(self.bars), y=positions,
                          width=[bar.value for bar in self.bars])
        self._restyle()
        # a readable row height at least: the page scrolls rather than squeezing the bars
        self.setMinimumHeight(max(len(self.bars), MIN_ROWS) * self.min_row_px() + AXIS_PX)
        self.empty_text.setText("" if self.bars else empty_message)
        self.empty_text.setColor(self.theme.muted)
        self._relayout()
        self.reset_view()

    def min_row_px(self) -> int:
        return self.fontMetrics().height() + 3

    def _rows_in_view(self) -> float:
        return max(len(self.bars), MIN_ROWS) + 0.2

    def shown_rows(self) -> list[int]:
        """Rows whose name and value are drawn: thinned when rows are shorter than text."""
        row_px = self.plotItem.vb.height() / self._rows_in_view()
        return labelled_rows(len(self.bars), row_px, self.fontMetrics().height())

    def _relayout(self) -> None:
        """Names on the left axis and values past the bar ends, for the current size."""
        rows = self.shown_rows()
        label_px = self._fit_label_width()
        metrics = self.fontMetrics()
        ticks = [(i, self._fit_name(self.bars[i].label, label_px - 14, metrics)) for i in rows]
        self.getAxis("left").setTicks([ticks, []])
        self._label_values(self.value_format, rows)

    @staticmethod
    def _fit_name(label: str, width_px: int, metrics: QFontMetrics) -> str:
        chars = MAX_LABEL_CHARS
        text = elide_middle(label, chars)
        while chars > 4 and metrics.horizontalAdvance(text) > width_px:
            chars -= 2
            text = elide_middle(label, chars)
        return text

    def _label_values(self, value_format: Formatter, rows: list[int]) -> None:
        """Value texts past the bar ends; the text items are kept and reused (a resize
        relabels every bar, and creating items is what costs)."""
        shown = rows if len(self.bars) <= MAX_VALUE_LABELS else []
        while len(self.label_pool) < len(shown):
            label = pg.TextItem(color=self.theme.muted, anchor=(0, 0.5))
            self.addItem(label, ignoreBounds=True)
            self.label_pool.append(label)
        for label, index in zip(self.label_pool, shown, strict=False):
            bar = self.bars[index]
            label.setText(value_format(bar.value))
            label.setPos(bar.value, index)
            label.setVisible(True)
        for label in self.label_pool[len(shown):]:
            label.setVisible(False)
        self.value_labels = self.label_pool[:len(shown)]

    def _fit_label_width(self) -> int:
        metrics = self.fontMetrics()
        widest = max((metrics.horizontalAdvance(elide_middle(bar.label, MAX_LABEL_CHARS))
                      for bar in self.bars), default=40)
        width = int(min(widest + 14, max(80, self.width() * LABEL_SHARE)))
        axis = self.getAxis("left")
        if axis.width() != width:
            axis.setWidth(width)
        return width

    def value_range_max(self) -> float:
        """The x range end: every value's text fits past its bar (none clipped)."""
        metrics = self.fontMetrics()
        shown = {round(label.pos().y()) for label in self.value_labels}
        widths = [float(metrics.horizontalAdvance(self.value_format(bar.value)) + 8)
                  if i in shown else 0.0 for i, bar in enumerate(self.bars)]
        return value_axis_max([bar.value for bar in self.bars], widths,
                              self.plotItem.vb.width(), VALUE_PAD_PX)

    def _resized(self) -> None:
        if self.bars:
            self._relayout()
            self.reset_view()

    def prepare_export(self) -> None:
        """Names and values placed for a size set just before rendering."""
        self._resized()

    def reset_view(self) -> None:
        if not self.bars:
            self.setRange(xRange=(0, 1), yRange=(0, 1), padding=0)
            self.empty_text.setPos(0.5, 0.5)
            return
        rows = max(len(self.bars), MIN_ROWS)  # a few bars stay bars, not blocks
        self.setRange(xRange=(0, self.value_range_max()), yRange=(-0.6, rows - 0.4), padding=0)

    def _restyle(self) -> None:
        if not self.colours:  # pyqtgraph cannot take empty brush/pen lists
            return
        brushes, pens = [], []
        for index, colour in enumerate(self.colours):
            lit = index in self.highlighted
            dimmed = bool(self.highlighted) and not lit  # the selection stands out by contrast
            brushes.append(pg.mkBrush(colour + ("55" if dimmed else "")))
            pens.append(pg.mkPen(self.theme.text, width=2) if lit
                        else pg.mkPen(colour + ("55" if dimmed else "")))
        self.item.setOpts(brushes=brushes, pens=pens)

    def highlight(self, indexes: set[int]) -> None:
        if indexes != self.highlighted:
            self.highlighted = set(indexes)
            self._restyle()

    def index_at(self, point: QPointF) -> int | None:
        index = round(point.y())
        if 0 <= index < len(self.bars) and abs(point.y() - index) <= 0.36:
            return index
        return None

    def hover_text(self, point: QPointF) -> str:
        index = self.index_at(point)
        return self.bars[index].tooltip if index is not None else ""

    def clicked_at(self, point: QPointF) -> None:
        index = self.index_at(point)
        if index is not None:
            self.bar_clicked.emit(index)

    def bar_centre(self, index: int) -> QPointF:
        """Scene position of a bar's middle (tests click there)."""
        return self.plotItem.vb.mapViewToScene(QPointF(self.bars[index].value / 2, index))

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.empty_text.setColor(theme.muted)
        for label in self.label_pool:
            label.setColor(theme.muted)
        self._restyle()
