"""The Runs pane: every run of the document (ui.runs_data.RunList), one row each with device,
variant, time, status and median; a check box shows or hides the run in the charts, and
Compare (exactly two measured rows selected) opens the two runs side by side."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from profiler.report.compare import compare_runs
from ui.runs_data import CANCELLED, FAILED, OK, RUNNING, SKIPPED, RunEntry, RunKey, RunList
from ui.theme import LIGHT, Theme

Index = QModelIndex | QPersistentModelIndex
COLUMNS = ["Device", "Variant", "Time", "Status", "p50 ms"]
DEVICE, VARIANT, TIME, STATUS, P50 = range(len(COLUMNS))
CHECK_AND_PADDING_PX = 48
ROW_PAD_PX = 6
DIALOG_MIN_SIZE = (560, 320)
COMPARE_HINT = "Select two measured runs to compare them."


def time_cell(runs: RunList, entry: RunEntry) -> str:
    """The label's time part, with '#2' for a repeated measurement of the same pair."""
    label = runs.label(entry)
    prefix = f"{entry.key.device} {entry.key.variant}"
    return label[len(prefix):].lstrip(" ,")


def cells(runs: RunList, entry: RunEntry) -> list[str]:
    p50 = entry.p50_ms
    status = f"{entry.status}: {entry.note}" if entry.note else entry.status  # why, in view
    return [entry.key.device, entry.key.variant, time_cell(runs, entry), status,
            "" if p50 is None else f"{p50:.3f}"]


class RunsTableModel(QAbstractTableModel):
    """Rows of a RunList; the Device cell's check box is the run's chart visibility."""

    visibility_changed = Signal(object)
    """list[RunKey]: the runs the charts show now."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runs = RunList()
        self.theme = LIGHT

    def set_runs(self, runs: RunList) -> None:
        self.beginResetModel()
        self.runs = runs
        self.endResetModel()

    def entry(self, row: int) -> RunEntry:
        return self.runs.entries[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(self.runs.entries)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt signature
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        flags = super().flags(index)
        if index.isValid() and index.column() == DEVICE and self.entry(index.row()).status == OK:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        elif index.isValid() and index.column() == DEVICE:  # a box that cannot be ticked
            flags &= ~Qt.ItemFlag.ItemIsEnabled
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        entry, column = self.entry(index.row()), index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return cells(self.runs, entry)[column]
        if role == Qt.ItemDataRole.CheckStateRole and column == DEVICE:
            shown = entry.visible and entry.status == OK
            return Qt.CheckState.Checked if shown else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(entry)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == P50:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS:
            return self._status_colour(entry.status)
        return None

    def setData(self, index: Index, value: object,
                role: int = Qt.ItemDataRole.EditRole) -> bool:
        if role != Qt.ItemDataRole.CheckStateRole or index.column() != DEVICE:
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value)
        if not self.runs.set_visible(self.entry(index.row()).key, checked):
            return False
        self.dataChanged.emit(index, index, [role])
        self.visibility_changed.emit(self.runs.visible_keys())
        return True

    def _tooltip(self, entry: RunEntry) -> str:
        lines = [self.runs.label(entry), f"status: {entry.status}"]
        lines += [entry.note] if entry.note else []
        lines += [f"from: {entry.source}"] if entry.source else []
        return "\n".join(lines)

    def _status_colour(self, status: str) -> QColor | None:
        colours = {FAILED: self.theme.bad, CANCELLED: self.theme.warn,
                   SKIPPED: self.theme.muted, RUNNING: self.theme.accent}
        colour = colours.get(status)
        return QColor(colour) if colour else None


class RunsPane(QWidget):
    """The table, the Compare button, and the newest note of the run list."""

    visibility_changed = Signal(object)
    """list[RunKey] shown in the charts."""
    compare_requested = Signal(object, object)
    """RunKey A (older), RunKey B."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = RunsTableModel(self)
        self.table = self._table()
        self.compare_button = QPushButton("Compare")
        self.compare_button.setToolTip(COMPARE_HINT)
        self.compare_button.setEnabled(False)
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.dialog: QDialog | None = None
        self._layout()
        self.model.visibility_changed.connect(self.visibility_changed)
        self.model.modelReset.connect(self._update_compare)
        self.compare_button.clicked.connect(self.compare_selected)

    def _table(self) -> QTableView:
        table = QTableView()
        table.setModel(self.model)
        table.verticalHeader().hide()
        table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(False)
        table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = table.horizontalHeader()
        for column in (VARIANT, TIME, P50):  # a handful of rows: fit them exactly
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(STATUS, QHeaderView.ResizeMode.Stretch)
        table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + ROW_PAD_PX)
        selection = table.selectionModel()
        selection.selectionChanged.connect(lambda *_: self._update_compare())
        return table

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Runs"))
        bar.addStretch()
        bar.addWidget(self.compare_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.note)

    # filling ------------------------------------------------------------------------------

    def set_runs(self, runs: RunList) -> None:
        """Show the run list (call again after it changed: rows are rebuilt)."""
        self.model.set_runs(runs)
        self.table.resizeColumnsToContents()
        self._fit_device_column(runs)
        self.note.setText(runs.notes[-1] if runs.notes else "")
        self.note.setVisible(bool(runs.notes))

    def _fit_device_column(self, runs: RunList) -> None:
        """The widest device id plus the check box and the style sheet's cell padding, which
        Qt's own content sizing leaves out (ids were cut to 'ov:C...')."""
        metrics = self.table.fontMetrics()
        widest = max((metrics.horizontalAdvance(e.key.device) for e in runs.entries), default=0)
        header_text = metrics.horizontalAdvance(COLUMNS[DEVICE])
        self.table.setColumnWidth(DEVICE, max(widest, header_text) + CHECK_AND_PADDING_PX)

    def apply_theme(self, theme: Theme) -> None:
        self.model.theme = theme
        self.table.viewport().update()

    # selecting and comparing --------------------------------------------------------------

    def selected_keys(self) -> list[RunKey]:
        rows = sorted(index.row() for index in self.table.selectionModel().selectedRows())
        return [self.model.entry(row).key for row in rows]

    def select_keys(self, keys: list[RunKey]) -> None:
        """Select these rows (as a user would with Ctrl+click)."""
        from PySide6.QtCore import QItemSelectionModel

        selection = self.table.selectionModel()
        selection.clearSelection()
        flags = (QItemSelectionModel.SelectionFlag.Select
                 | QItemSelectionModel.SelectionFlag.Rows)
        for row, entry in enumerate(self.model.runs.entries):
            if entry.key in keys:
                selection.select(self.model.index(row, 0), flags)

    def _update_compare(self) -> None:
        pair = self.model.runs.compare_pair(self.selected_keys())
        self.compare_button.setEnabled(pair is not None)

    def compare_selected(self) -> None:
        pair = self.model.runs.compare_pair(self.selected_keys())
        if pair is None:
            return
        a, b = pair
        self.compare_requested.emit(a.key, b.key)
        self.show_comparison(a, b)

    def show_comparison(self, a: RunEntry, b: RunEntry) -> None:
        """The two runs in a CompareView, in a window of its own beside the document."""
        from ui.compare_view import CompareView  # pyqtgraph: on first use only

        assert a.run is not None and b.run is not None
        runs = self.model.runs
        comparison = compare_runs(a.run, b.run, a.model, b.model,
                                  names=(runs.label(a), runs.label(b)))
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = QDialog(self)
        self.dialog.setWindowTitle(f"Compare {runs.label(a)} with {runs.label(b)}")
        view = CompareView(self.dialog)
        view.set_comparison(comparison)
        layout = QVBoxLayout(self.dialog)
        layout.addWidget(view)
        self.dialog.setMinimumSize(DIALOG_MIN_SIZE[0], DIALOG_MIN_SIZE[1])  # limits fixed up front
        self.dialog.resize(900, 480)
        self.dialog.show()

    def compare_view(self) -> QWidget | None:
        if self.dialog is None:
            return None
        from ui.compare_view import CompareView

        return self.dialog.findChild(CompareView)
