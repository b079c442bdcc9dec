"""The history dock (View › History): saved runs read off the GUI thread from the history
store, each with the time it finished, a filter, Compare for two selected runs (the figures of
`edgeprof-cli history compare`, as a sortable table and a delta chart), and Open to show a
run's report in a tab."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ui.compare_view import CompareView
from ui.jobs import BackgroundJob, Sink
from ui.state import AppState
from ui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from profiler.history.store import HistoryEntry
    from profiler.report.compare import Comparison
    from ui.loader import Document

HEADERS = ["id", "finished (UTC)", "model", "device", "variant", "precision", "p50 ms", "error"]
LIST_LIMIT = 500
PREFERRED_HEIGHT_PX = 340
CRAMPED_HEIGHT_PX = 240
COMPARE_TOP_LAYERS = 500
"""Layer rows a comparison keeps (the table sorts and filters them; the CLI shows 10)."""


def entry_cells(entry: HistoryEntry) -> list[str]:
    p50 = f"{entry.p50_ms:.3f}" if entry.p50_ms is not None else "-"
    return [str(entry.id), entry.created.replace("T", " ")[:19], entry.model_name,
            entry.device, entry.variant, entry.precision or "-", p50, entry.error]


def list_entries(_progress: Sink, _cancel: threading.Event, _partial: Sink) -> list[Any]:
    from profiler.history.store import HistoryStore

    return HistoryStore().list_runs(limit=LIST_LIMIT)


def compare_runs(a_id: int, b_id: int) -> Comparison:
    """Run B against run A: per-device delta, then per-layer deltas (same model only)."""
    from profiler.history.store import HistoryStore

    return HistoryStore().compare_runs(a_id, b_id, top=COMPARE_TOP_LAYERS)


def open_run(run_id: int) -> object:
    """A saved run's report as a Document (view data built off the GUI thread)."""
    from profiler.history.store import HistoryStore
    from ui.loader import prepare_document

    report = HistoryStore().get_run(run_id).report
    return prepare_document(report, report.model.path if report.model else "")


class HistoryView(QWidget):
    message = Signal(str)
    error = Signal(str)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.theme: Theme = LIGHT
        self.entries: list[HistoryEntry] = []
        self.loader = BackgroundJob(self)
        self.worker = BackgroundJob(self)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter runs (model, device, variant…)")
        self.filter.setClearButtonEnabled(True)
        self.refresh_button = QPushButton("Refresh")
        self.compare_button = QPushButton("Compare")
        self.open_button = QPushButton("Open report")
        self.status = QLabel()
        self.status.setObjectName("muted")
        self.table = QTableWidget(0, len(HEADERS))
        self.table.setHorizontalHeaderLabels(HEADERS)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(7, QHeaderView.ResizeMode.Stretch)
        self.comparison = CompareView()
        self._layout()
        self._connect()
        self._update_buttons()
        self.refresh()

    def sizeHint(self) -> QSize:  # Qt override: the dock opens tall enough for a comparison
        return QSize(super().sizeHint().width(), PREFERRED_HEIGHT_PX)

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        """A docked history opened cramped (the window gives new docks little room) grows to
        show a comparison; a height the user chose is kept."""
        super().showEvent(event)
        QTimer.singleShot(0, self._grow_if_cramped)  # once the window has laid the dock out

    def _grow_if_cramped(self) -> None:
        dock = self.parentWidget()
        if (isinstance(dock, QDockWidget) and not dock.isFloating()
                and dock.height() < CRAMPED_HEIGHT_PX):
            window = dock.parentWidget()
            if isinstance(window, QMainWindow):
                window.resizeDocks([dock], [PREFERRED_HEIGHT_PX], Qt.Orientation.Vertical)

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.addWidget(self.filter, 1)
        for button in (self.refresh_button, self.compare_button, self.open_button):
            bar.addWidget(button)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.table)
        splitter.addWidget(self.comparison)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.status)

    def _connect(self) -> None:
        self.refresh_button.clicked.connect(self.refresh)
        self.compare_button.clicked.connect(self.compare)
        self.open_button.clicked.connect(self.open_selected)
        self.filter.textChanged.connect(self._apply_filter)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.loader.finished.connect(self._listed)
        self.loader.failed.connect(lambda message: self.status.setText(message))
        self.worker.finished.connect(self._worked)
        self.worker.failed.connect(lambda message: self.status.setText(message))
        self.worker.running_changed.connect(lambda _running: self._update_buttons())
        self.state.history_changed.connect(self.refresh)

    # Listing
    def refresh(self) -> None:
        if not self.loader.is_running():
            self.status.setText("Loading the history…")
            self.loader.start(list_entries)

    def _listed(self, entries: list[HistoryEntry]) -> None:
        self.entries = entries
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            for column, text in enumerate(entry_cells(entry)):
                item = QTableWidgetItem(text)
                item.setData(Qt.ItemDataRole.UserRole, entry.id)
                if column == 7 and text:
                    item.setToolTip(text)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        self._apply_filter(self.filter.text())
        self.status.setText(f"{len(entries):,} saved run(s)")

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for row, entry in enumerate(self.entries):
            haystack = " ".join(entry_cells(entry)).lower()
            self.table.setRowHidden(row, bool(needle) and needle not in haystack)

    def visible_ids(self) -> list[int]:
        return [entry.id for row, entry in enumerate(self.entries)
                if not self.table.isRowHidden(row)]

    def selected_ids(self) -> list[int]:
        rows = sorted({index.row() for index in self.table.selectionModel().selectedRows()})
        return [self.entries[row].id for row in rows]

    def select_ids(self, ids: list[int]) -> None:
        self.table.clearSelection()
        mode = self.table.selectionMode()
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row, entry in enumerate(self.entries):
            if entry.id in ids:
                self.table.selectRow(row)
        self.table.setSelectionMode(mode)

    def _update_buttons(self) -> None:
        count, busy = len(self.selected_ids()), self.worker.is_running()
        self.compare_button.setEnabled(count == 2 and not busy)
        self.open_button.setEnabled(count == 1 and not busy)

    # Compare and open (store reads off the GUI thread)
    def compare(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 2 or self.worker.is_running():
            return
        b_id, a_id = ids  # newest first: the lower (older) row is A
        self.status.setText(f"Comparing run {b_id} with run {a_id}…")
        self.worker.start(lambda _p, _c, _r: ("compare", compare_runs(a_id, b_id)))

    def open_selected(self) -> None:
        ids = self.selected_ids()
        if len(ids) != 1 or self.worker.is_running():
            return
        run_id = ids[0]
        self.worker.start(lambda _p, _c, _r: ("open", open_run(run_id)))

    def _worked(self, result: tuple[str, Any]) -> None:
        kind, value = result
        if kind == "compare":
            self.comparison.apply_theme(self.theme)
            self.comparison.set_comparison(value)
            self.status.setText(f"Compared (B − A): {len(value.layers):,} layer(s) timed on "
                                "both sides" + (f"; {value.model_note}" if value.model_note
                                                else ""))
        else:
            self._open_document(value)

    def _open_document(self, document: Document) -> None:
        """A saved run joins the open document of the same model (by content) as a history
        run; otherwise it opens in a tab of its own."""
        from ui.workspace_data import HISTORY

        model = document.report.model
        doc = self.state.find_sha256(model.sha256 if model else "")
        if doc is None:
            self.state.set_current(self.state.open(document, HISTORY))
            self.status.setText("Opened the run's report in a tab")
            return
        self.state.add_runs(doc.id, document.report, source=HISTORY)
        self.state.set_current(doc.id)
        self.status.setText(f"Added the run to the runs of {doc.name}")

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme

    def shutdown(self) -> None:
        self.loader.shutdown()
        self.worker.shutdown()
