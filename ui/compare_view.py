"""A comparison of two runs (or two reports) as a sortable table of per-device and per-layer
deltas beside a bar chart of the same rows: one bar per row shown, in the table's order, so
sorting or filtering the table re-draws the chart. Renders profiler.report.compare's rows."""

from __future__ import annotations

from collections.abc import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from profiler.report.compare import (
    DELTA_COLUMNS,
    NUMERIC_COLUMNS,
    Comparison,
    DeltaRow,
    delta_rows,
)
from ui.chart_data import elide_middle, labelled_rows
from ui.charts.base import FormatAxis, ThemedPlot
from ui.theme import LIGHT, Theme

Index = QModelIndex | QPersistentModelIndex
SCOPES = {"Devices and layers": "", "Devices": "device", "Layers": "layer"}
DELTA_COLUMN = DELTA_COLUMNS.index("delta ms")
FASTER_COLOUR = "#1a7f37"
"""B faster than A (negative delta); slower uses the theme's 'bad' red."""
MAX_BAR_LABEL_CHARS = 28
BAR_HEIGHT = 0.7
ROW_PAD_PX = 6


def sorted_rows(rows: Sequence[DeltaRow], column: int, descending: bool) -> list[DeltaRow]:
    """Rows by one column; a missing figure sorts last in either direction."""
    present = [row for row in rows if row.values()[column] is not None]
    empty = [row for row in rows if row.values()[column] is None]
    if column in NUMERIC_COLUMNS:
        present.sort(key=lambda row: float(row.values()[column] or 0.0), reverse=descending)
    else:
        present.sort(key=lambda row: str(row.values()[column]).casefold(), reverse=descending)
    return present + empty


def bar_label(row: DeltaRow) -> str:
    """What names a bar: the device pair for device rows, the layer group for layer rows."""
    name = row.device if row.scope == "device" else row.name
    return elide_middle(name, MAX_BAR_LABEL_CHARS)


def delta_tooltip(row: DeltaRow) -> str:
    cells = dict(zip(DELTA_COLUMNS, row.cells(), strict=True))
    return (f"{row.device} · {row.name}\nA {cells['A ms']} ms → B {cells['B ms']} ms\n"
            f"{cells['delta ms']} ({cells['delta %']})")


class DeltaTableModel(QAbstractTableModel):
    """All rows, filtered by scope and sorted; ``shown`` is what the view and chart show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[DeltaRow] = []
        self.shown: list[DeltaRow] = []
        self.scope = ""
        self.sort_column: int | None = None
        self.descending = False
        self.theme = LIGHT

    def set_rows(self, rows: list[DeltaRow]) -> None:
        self.rows = rows
        self._refresh()

    def set_scope(self, scope: str) -> None:
        self.scope = scope
        self._refresh()

    def _refresh(self) -> None:
        self.beginResetModel()
        rows = [row for row in self.rows if not self.scope or row.scope == self.scope]
        if self.sort_column is not None:
            rows = sorted_rows(rows, self.sort_column, self.descending)
        self.shown = rows
        self.endResetModel()

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Column -1 (no sort indicator) keeps the comparison's own order."""
        self.sort_column = column if 0 <= column < len(DELTA_COLUMNS) else None
        self.descending = order == Qt.SortOrder.DescendingOrder
        self._refresh()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self.shown)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(DELTA_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return DELTA_COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        row, column = self.shown[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells()[column]
        if role == Qt.ItemDataRole.ToolTipRole:
            return delta_tooltip(row)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in NUMERIC_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column in (6, 7) and row.delta_ms:
            return QColor(self.theme.bad if row.delta_ms > 0 else FASTER_COLOUR)
        return None


class DeltaBarChart(ThemedPlot):
    """Horizontal bars of delta ms around a zero line; first row at the top."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__({"bottom": FormatAxis("bottom", lambda v: f"{v:+.3g}")}, parent)
        self.rows: list[DeltaRow] = []
        self.item = pg.BarGraphItem(x0=[], y=[], height=BAR_HEIGHT, width=[])
        self.addItem(self.item)
        self.zero = pg.InfiniteLine(pos=0.0, angle=90)
        self.addItem(self.zero)
        self.plotItem.invertY(True)
        self.plotItem.showGrid(x=True, y=False, alpha=0.25)
        self.setLabel("bottom", "B − A (ms): right of 0, B is slower")
        self.plotItem.vb.sigResized.connect(self._label_rows)

    def set_rows(self, rows: Sequence[DeltaRow]) -> None:
        self.rows = list(rows)
        deltas = [row.delta_ms or 0.0 for row in self.rows]
        colours = [self.theme.bad if delta > 0 else FASTER_COLOUR for delta in deltas]
        self.item.setOpts(x0=[min(delta, 0.0) for delta in deltas],
                          y=list(range(len(self.rows))), width=[abs(d) for d in deltas],
                          brushes=[pg.mkBrush(c) for c in colours] or None,
                          pens=[pg.mkPen(c) for c in colours] or None)
        self._label_rows()
        self.reset_view()

    def bar_count(self) -> int:
        return len(self.item.opts.get("y") or [])

    def _label_rows(self) -> None:
        """Names on the left axis, thinned when rows are shorter than a line of text."""
        row_px = self.plotItem.vb.height() / max(len(self.rows), 1)
        rows = labelled_rows(len(self.rows), row_px, self.fontMetrics().height())
        self.getAxis("left").setTicks([[(i, bar_label(self.rows[i])) for i in rows], []])

    def reset_view(self) -> None:
        deltas = [row.delta_ms or 0.0 for row in self.rows] or [0.0]
        span = max(max(deltas), 0.0) - min(min(deltas), 0.0) or 1.0
        self.setRange(xRange=(min(min(deltas), 0.0) - 0.05 * span,
                              max(max(deltas), 0.0) + 0.05 * span),
                      yRange=(-0.6, max(len(self.rows), 1) - 0.4), padding=0)

    def hover_text(self, point: QPointF) -> str:
        index = round(point.y())
        inside = 0 <= index < len(self.rows) and abs(point.y() - index) <= BAR_HEIGHT / 2
        return delta_tooltip(self.rows[index]) if inside else ""

    def apply_theme(self, theme: Theme) -> None:
        super().apply_theme(theme)
        self.zero.setPen(pg.mkPen(theme.muted, width=1))
        self.set_rows(self.rows)


class CompareView(QWidget):
    """Which runs are compared (each with its own time), a note when they are not one model,
    a scope filter, then the table beside its chart."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.comparison: Comparison | None = None
        self.sides = QLabel("Select two runs and press Compare (B − A: the lower row is A).")
        self.sides.setObjectName("muted")
        self.sides.setWordWrap(True)
        self.sides.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note = QLabel()
        self.note.setWordWrap(True)
        self.note.setStyleSheet(f"color: {LIGHT.warn}")
        self.note.hide()
        self.scope = QComboBox()
        self.scope.addItems(list(SCOPES))
        self.model = DeltaTableModel(self)
        self.table = self._table()
        self.chart = DeltaBarChart()
        self._layout()
        self.scope.currentTextChanged.connect(lambda text: self.model.set_scope(SCOPES[text]))
        self.model.modelReset.connect(self._redraw_chart)
        self.model.layoutChanged.connect(self._redraw_chart)

    def _table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.setSortingEnabled(True)
        table.horizontalHeader().setSortIndicatorShown(True)
        table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        table.horizontalHeader().setStretchLastSection(True)
        table.verticalHeader().hide()
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(False)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + ROW_PAD_PX)
        return table

    def _layout(self) -> None:
        bar = QHBoxLayout()  # one header row: the dock is often short
        bar.addWidget(self.sides, 1)
        bar.addWidget(QLabel("Show"), 0, Qt.AlignmentFlag.AlignTop)
        bar.addWidget(self.scope, 0, Qt.AlignmentFlag.AlignTop)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.chart)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([3000, 2000])  # scaled to the width: the table gets the larger share
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.note)
        layout.addWidget(splitter, 1)

    def set_comparison(self, comparison: Comparison) -> None:
        self.comparison = comparison
        self.sides.setText(f"A: {comparison.a_name}\nB: {comparison.b_name}")
        self.note.setText(comparison.model_note)
        self.note.setVisible(bool(comparison.model_note))
        self.model.set_rows(delta_rows(comparison))
        self.table.resizeColumnsToContents()

    def shown_rows(self) -> list[DeltaRow]:
        return list(self.model.shown)

    def _redraw_chart(self) -> None:
        self.chart.set_rows(self.model.shown)

    def apply_theme(self, theme: Theme) -> None:
        self.model.theme = theme
        self.note.setStyleSheet(f"color: {theme.warn}")
        self.chart.apply_theme(theme)
