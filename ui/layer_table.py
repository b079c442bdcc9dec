"""The per-layer table: a QAbstractTableModel over prebuilt columns, a filtering proxy, and the
widget with the op-type filter and name search.

Sorting happens in the source model (Python's sort over precomputed keys: tens of ms for
20,000 rows) rather than in the proxy, whose per-comparison callbacks into Python would take
seconds. The proxy only filters, from a set of accepted layers computed once per change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ui.layer_columns import PROBLEM_STATUSES, ColumnSpec, widest_text
from ui.report_data import ReportData

LAYER_INDEX_ROLE = Qt.ItemDataRole.UserRole + 1
# plain ints: comparing against Qt's enum members costs a microsecond each, per cell and role
DISPLAY_ROLE = int(Qt.ItemDataRole.DisplayRole)
ALIGNMENT_ROLE = int(Qt.ItemDataRole.TextAlignmentRole)
TOOLTIP_ROLE = int(Qt.ItemDataRole.ToolTipRole)
FOREGROUND_ROLE = int(Qt.ItemDataRole.ForegroundRole)
FILTER_ROLE = int(Qt.ItemDataRole.UserRole) + 2
"""ACCEPTED where the layer passes the filter (what the proxy's pattern matches)."""
ACCEPTED, REJECTED, ACCEPTED_PATTERN = "1", "0", "^1$"
ANSWERED_ROLES = frozenset({DISPLAY_ROLE, ALIGNMENT_ROLE, TOOLTIP_ROLE, FOREGROUND_ROLE,
                            int(LAYER_INDEX_ROLE), FILTER_ROLE})
Index = QModelIndex | QPersistentModelIndex
ALIGN_NUMBER = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
ALIGN_TEXT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
MAX_NAME_WIDTH_PX = 240
"""Names elide in the middle past this (their distinguishing tail stays); full name in the
tooltip. Wider would leave room for only two or three columns in a half-window table."""
MAX_TEXT_WIDTH_PX = 180
MAX_NUMBER_WIDTH_PX = 140
CELL_PADDING_PX = 14
"""A cell's margins and grid line around its text."""
ASCENDING_FIRST = ("#",)
"""Numeric columns whose first click sorts ascending (execution order); the others sort
largest first, which is what a user looks for."""


class LayerTableModel(QAbstractTableModel):
    """Rows are layers; ``order`` maps a row to a layer index (execution order until sorted)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.columns: list[ColumnSpec] = []
        self.layer_count = 0
        self.order: list[int] = []
        self.row_of: list[int] = []
        self.status_column = -1
        self.warn_colour = QColor("#9a6700")
        self.accepted: set[int] | None = None
        """Layers the filter lets through (None: all); set by the proxy."""

    def set_columns(self, columns: list[ColumnSpec], layer_count: int) -> None:
        self.beginResetModel()
        self.columns = columns
        self.layer_count = layer_count
        self.order = list(range(layer_count))
        self.row_of = list(range(layer_count))
        headers = [column.header for column in columns]
        self.status_column = headers.index("Status") if "Status" in headers else -1
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else self.layer_count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Painting asks for about ten roles per cell; the ones not answered return first.
        if role not in ANSWERED_ROLES:
            return None
        column = self.columns[index.column()]
        layer = self.order[index.row()]
        if role == DISPLAY_ROLE:
            return column.display(column.values[layer])
        if role == ALIGNMENT_ROLE:
            return ALIGN_NUMBER if column.numeric else ALIGN_TEXT
        if role == TOOLTIP_ROLE and column.exact is not None:
            value = column.values[layer]
            return column.exact(value) if value not in (None, "") else None
        if role == LAYER_INDEX_ROLE:
            return layer
        if role == FILTER_ROLE:
            return ACCEPTED if self.accepted is None or layer in self.accepted else REJECTED
        if (role == FOREGROUND_ROLE and index.column() == self.status_column
                and column.values[layer] in PROBLEM_STATUSES):
            return self.warn_colour
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        column = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.title or column.header
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.description or None
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return ALIGN_NUMBER if column.numeric else ALIGN_TEXT
        if role == Qt.ItemDataRole.InitialSortOrderRole:
            return first_sort_order(column)
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self.columns):
            return
        new_order = sorted_layers(self.columns[column], self.layer_count,
                                  order == Qt.SortOrder.DescendingOrder)
        if new_order == self.order:  # e.g. '#' ascending after a reset: nothing to re-map
            return
        self.layoutAboutToBeChanged.emit()
        old_order, self.order = self.order, new_order
        self.row_of = [0] * self.layer_count
        for row, layer in enumerate(self.order):
            self.row_of[layer] = row
        persistent = self.persistentIndexList()
        moved = [self.index(self.row_of[old_order[i.row()]], i.column()) for i in persistent]
        self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()


def first_sort_order(column: ColumnSpec) -> Qt.SortOrder:
    """Numbers largest first, text A to Z (the header's first click on a column)."""
    if column.numeric and column.header not in ASCENDING_FIRST:
        return Qt.SortOrder.DescendingOrder
    return Qt.SortOrder.AscendingOrder


def sorted_layers(column: ColumnSpec, count: int, descending: bool) -> list[int]:
    """Layer indexes ordered by ``column``; empty values last either way, ties in execution
    order."""
    values = column.values
    if column.numeric and not descending and _ascending(values, count):
        return list(range(count))  # the '#' column: execution order as it is
    empty = [i for i in range(count) if values[i] is None]
    present = [i for i in range(count) if values[i] is not None]
    # sort(reverse=True) keeps equal keys in input order, so ties stay in execution order
    if column.numeric:
        present.sort(key=values.__getitem__, reverse=descending)
    else:
        present.sort(key=lambda i: str(values[i]).casefold(), reverse=descending)
    return present + empty


def _ascending(values: Sequence[Any], count: int) -> bool:
    """Every value present and none smaller than the one before (a quick scan that saves
    sorting 10,000 rows into the order they already have)."""
    previous = None
    for value in values[:count]:
        if value is None or (previous is not None and value < previous):
            return False
        previous = value
    return True


def column_limit_px(column: ColumnSpec) -> int:
    if column.header in ("Layer", "Note"):
        return MAX_NAME_WIDTH_PX
    return MAX_NUMBER_WIDTH_PX if column.numeric else MAX_TEXT_WIDTH_PX


class LayerFilterProxy(QSortFilterProxyModel):
    """Filters by op type and a case-insensitive name search; sorting is the source's."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.op_type = ""
        self.search = ""
        self._data: ReportData | None = None
        self.setFilterRole(FILTER_ROLE)

    def set_report_data(self, data: ReportData) -> None:
        """New layers, before the source model's reset (which re-maps every row)."""
        self._data = data
        self._apply(self._accepted_layers(), refilter=False)

    def set_filter(self, op_type: str, search: str) -> None:
        if (op_type, search.strip()) == (self.op_type, self.search):
            return
        self.op_type, self.search = op_type, search.strip()
        self._apply(self._accepted_layers(), refilter=True)

    def _apply(self, accepted: set[int] | None, refilter: bool) -> None:
        """Qt's own filter on the source's FILTER_ROLE: with no filter the pattern is empty
        and Qt accepts every row without calling into Python (a Python filterAcceptsRow
        costs a call per row on every reset and sort)."""
        model = self.sourceModel()
        assert isinstance(model, LayerTableModel)
        model.accepted = accepted
        pattern = "" if accepted is None else ACCEPTED_PATTERN
        if self.filterRegularExpression().pattern() != pattern:
            self.setFilterRegularExpression(pattern)  # refilters
        elif refilter:
            self.beginFilterChange()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def _accepted_layers(self) -> set[int] | None:
        if self._data is None or not (self.op_type or self.search):
            return None
        needle = self.search.casefold()
        return {i for i, layer in enumerate(self._data.layers)
                if (not self.op_type or layer.op_type == self.op_type)
                and needle in layer.name.casefold()}

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        model = self.sourceModel()
        if isinstance(model, LayerTableModel):
            model.sort(column, order)


class LayerTable(QWidget):
    """Filter bar and table. Emits ``layer_selected`` with the layer's index."""

    layer_selected = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = LayerTableModel(self)
        self.proxy = LayerFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.op_filter = QComboBox()
        self.op_filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search layer names…")
        self.search.setClearButtonEnabled(True)
        self.count_label = QLabel()
        self.count_label.setObjectName("muted")
        self.view = self._make_view()
        self._layout()
        self.op_filter.currentIndexChanged.connect(self._filter_changed)
        self.search.textChanged.connect(self._filter_changed)
        self.proxy.rowsInserted.connect(self._update_count)
        self.proxy.rowsRemoved.connect(self._update_count)
        self.proxy.layoutChanged.connect(self._update_count)
        self.proxy.modelReset.connect(self._update_count)

    def _make_view(self) -> QTableView:
        view = QTableView()
        view.setModel(self.proxy)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.setAlternatingRowColors(True)
        view.setWordWrap(False)
        # hierarchical names differ at the end: keep the tail ("…/unit1/body/conv2")
        view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        view.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        view.verticalHeader().hide()
        rows = view.verticalHeader()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)  # uniform rows: cheap scrolling
        rows.setDefaultSectionSize(view.fontMetrics().height() + 8)
        view.horizontalHeader().setHighlightSections(False)
        view.setSortingEnabled(True)
        view.selectionModel().currentRowChanged.connect(self._current_changed)
        return view

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("Op type"))
        bar.addWidget(self.op_filter)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.count_label)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 6, 0)
        layout.addLayout(bar)
        layout.addWidget(self.view, 1)

    def set_report_data(self, data: ReportData, columns: list[ColumnSpec]) -> None:
        """Show ``data``; keeps the filter, the sort column and the selected layer when they
        still apply (the profile panel refreshes a tab after each run)."""
        selected = self.selected_layer()
        header = self.view.horizontalHeader()
        sort_header = self._header_text(header.sortIndicatorSection())
        sort_order = header.sortIndicatorOrder()
        self.proxy.set_report_data(data)
        self.model.set_columns(columns, len(data.layers))
        self._fill_op_filter(data)
        self._restore_sort(sort_header, sort_order)
        self._size_columns()
        if selected is not None and selected < len(data.layers):
            self.select_layer(selected)
        self._update_count()

    def _header_text(self, section: int) -> str:
        columns = self.model.columns
        return columns[section].header if 0 <= section < len(columns) else ""

    def _restore_sort(self, header_text: str, order: Qt.SortOrder) -> None:
        headers = [column.header for column in self.model.columns]
        if header_text in headers:
            self.view.sortByColumn(headers.index(header_text), order)
        else:
            self.view.sortByColumn(0, Qt.SortOrder.AscendingOrder)

    def _fill_op_filter(self, data: ReportData) -> None:
        current = self.proxy.op_type
        self.op_filter.blockSignals(True)
        self.op_filter.clear()
        self.op_filter.addItem(f"All ({len(data.layers):,})", "")
        for op_type, count in data.op_counts:
            self.op_filter.addItem(f"{op_type} ({count:,})", op_type)
        found = self.op_filter.findData(current)
        self.op_filter.setCurrentIndex(max(found, 0))
        self.op_filter.blockSignals(False)
        self._filter_changed()

    def _size_columns(self) -> None:
        """Widths from each column's widest text (found off the GUI thread) and its header,
        measured once per column: Qt's resizeColumnsToContents would ask for every visible
        cell. Text columns are capped; their cells elide in the middle, tooltips show all."""
        metrics = self.view.fontMetrics()
        for section, column in enumerate(self.model.columns):
            widest = column.widest if column.widest is not None else widest_text(column)
            cell_width = metrics.horizontalAdvance(widest) + CELL_PADDING_PX
            header_width = max(metrics.horizontalAdvance(line)
                               for line in (column.title or column.header).splitlines()) + 24
            self.view.setColumnWidth(section, min(max(cell_width, header_width),
                                                  column_limit_px(column)))

    def _filter_changed(self) -> None:
        self.proxy.set_filter(self.op_filter.currentData() or "", self.search.text())
        self._update_count()

    def set_op_filter(self, op_type: str) -> None:
        self.op_filter.setCurrentIndex(max(self.op_filter.findData(op_type), 0))

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.layer_count
        self.count_label.setText(f"{total:,} layers" if shown == total
                                 else f"{shown:,} of {total:,} layers")

    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.layer_selected.emit(int(self.proxy.data(current, LAYER_INDEX_ROLE)))

    def selected_layer(self) -> int | None:
        current = self.view.currentIndex()
        return int(self.proxy.data(current, LAYER_INDEX_ROLE)) if current.isValid() else None

    def select_layer(self, layer: int) -> None:
        """Make ``layer`` current and visible; clears filters that would hide it."""
        if not 0 <= layer < self.model.layer_count or self.selected_layer() == layer:
            return
        index = self.proxy.mapFromSource(self.model.index(self.model.row_of[layer], 0))
        if not index.isValid():
            self.search.clear()
            self.set_op_filter("")
            index = self.proxy.mapFromSource(self.model.index(self.model.row_of[layer], 0))
        self.view.setCurrentIndex(index)
        self.view.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)

    def visible_layers(self) -> list[int]:
        """Layer indexes in the order the table shows them (tests, exports of the view)."""
        return [int(self.proxy.data(self.proxy.index(row, 0), LAYER_INDEX_ROLE))
                for row in range(self.proxy.rowCount())]
