"""The main window: one tab per open document, the message banner, menus, status bar.

The window owns the application state (ui.state) and the tabs: a document opened in the state
gets a tab, a tab brought to the front makes its document current. Opening follows request ->
worker -> apply: ``open_paths`` asks the loader (analysis and view data off the GUI thread);
the result is opened in the state. The panels (profiling, quantization, history) are docks
given the state and the runner; they never reach into this window.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMenu,
    QProgressBar,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

import ui.qt_compat  # noqa: F401 - before any signal is emitted
from ui.banner import MessageBanner
from ui.gc_guard import GuiThreadCollector
from ui.loader import Document, Loader, prepare_document
from ui.runner import Runner
from ui.settings import AppSettings
from ui.state import AppState
from ui.theme import THEMES, apply_theme, theme_named
from ui.welcome import WelcomePage

if TYPE_CHECKING:
    from profiler.records.report import Report
    from profiler.runtime.devices import DeviceInfo
    from ui.model_view import ReportView

SCREEN_SHARE = 0.85
"""A first window takes this much of the screen (later ones restore the saved geometry)."""
MAX_FIRST_SIZE = (1800, 1100)
MIN_SIZE = (720, 480)


def first_window_size(available_width: int, available_height: int) -> tuple[int, int]:
    """Most of the screen, not so large that a 4K screen gets a sheet, never below MIN_SIZE."""
    width = min(int(available_width * SCREEN_SHARE), MAX_FIRST_SIZE[0])
    height = min(int(available_height * SCREEN_SHARE), MAX_FIRST_SIZE[1])
    return max(width, MIN_SIZE[0]), max(height, MIN_SIZE[1])


OPEN_FILTER = ("Models and reports (*.onnx *.xml *.tflite *.json);;ONNX (*.onnx);;"
               "OpenVINO IR (*.xml);;TensorFlow Lite (*.tflite);;Saved reports (*.json);;"
               "All files (*)")


class MainWindow(QMainWindow):
    current_report_changed = Signal(object)
    """The Report of the current tab (None when no tab): panels follow it."""

    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.theme = theme_named(self.settings.theme())
        self.setWindowTitle("Edge Model Profiler")
        self.setObjectName("MainWindow")
        self._size_from_screen()
        # A fixed minimum keeps the layouts from resizing the native window's limits later
        # (the offscreen platform warns on every such change).
        self.setMinimumSize(*MIN_SIZE)
        self.setAcceptDrops(True)
        self._spare_view: ReportView | None = None
        self.state = AppState(self.settings.prefs.profile, self.settings.prefs.quantize, self)
        self.runner = Runner(self)
        self.banner = MessageBanner()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.setTabsClosable(True)
        self.tabs.setMovable(True)
        self.tabs.tabCloseRequested.connect(self.close_tab)
        self.tabs.currentChanged.connect(self._current_tab_changed)
        self.welcome = WelcomePage()
        self.welcome.open_requested.connect(self.choose_files)
        self.welcome.path_requested.connect(lambda path: self.open_paths([path]))
        self.stack = QStackedWidget()
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.tabs)
        self._central()
        self.collector = GuiThreadCollector(self)  # before any worker thread exists
        self.loader = Loader(self)
        self.loader.started.connect(self._loading)
        self.loader.loaded.connect(self._loaded)
        self.loader.failed.connect(self._failed)
        self.loader.busy_changed.connect(self._busy)
        self._follow_state()
        self._status_bar()
        self._menus()
        self._add_panels()
        from ui.workspace import Workspace

        self.workspace = Workspace(self)
        self._restore_layout()
        self.set_theme(self.theme.name)
        self._refresh_recent()

    def _size_from_screen(self) -> None:
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            self.resize(1280, 820)
            return
        available = screen.availableGeometry()
        self.resize(*first_window_size(available.width(), available.height()))

    def _follow_state(self) -> None:
        self.state.document_opened.connect(self._document_opened)
        self.state.document_changed.connect(self._document_changed)
        self.state.document_closed.connect(self._document_closed)
        self.state.current_changed.connect(self._current_document_changed)

    def _central(self) -> None:
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(6, 6, 6, 0)
        layout.setSpacing(6)
        layout.addWidget(self.banner)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)

    def _status_bar(self) -> None:
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)  # indeterminate: loading has no meaningful percentage
        self.busy.setMaximumWidth(140)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.hide()
        self.statusBar().addPermanentWidget(self.busy)
        self.statusBar().showMessage("Ready")

    def _action(self, menu: QMenu, text: str, slot: object, shortcut: str = "") -> QAction:
        action = menu.addAction(text)
        action.triggered.connect(slot)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        return action

    def _menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self._action(file_menu, "&Open…", self.choose_files, "Ctrl+O")
        self.recent_menu = file_menu.addMenu("Open &Recent")
        self.recent_menu.aboutToShow.connect(self._refresh_recent)
        file_menu.addSeparator()
        self.export_action = self._action(file_menu, "&Export…", self.export_current, "Ctrl+E")
        file_menu.addSeparator()
        self.close_action = self._action(file_menu, "&Close Tab", self.close_current_tab,
                                         "Ctrl+W")
        self._action(file_menu, "&Quit", self.close, "Ctrl+Q")
        self.view_menu = bar.addMenu("&View")
        self.theme_group = QActionGroup(self)
        for name in THEMES:
            action = self._action(self.view_menu, f"{name.title()} theme",
                                  lambda _=False, n=name: self.set_theme(n))
            action.setCheckable(True)
            action.setData(name)
            self.theme_group.addAction(action)
        self.view_menu.addSeparator()
        self._action(bar.addMenu("&Settings"), "&Targets…", self.show_targets)
        self._action(bar.addMenu("&Help"), "&About Edge Model Profiler", self.show_about)
        self._update_actions()

    # Opening
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open models or reports",
                                                self.settings.open_folder(), OPEN_FILTER)
        if paths:
            self.settings.set_open_folder(os.path.dirname(paths[0]))
            self.open_paths(paths)

    def open_paths(self, paths: list[str]) -> None:
        """Load each file off the GUI thread; results arrive as tabs or banner messages."""
        if paths:
            self.banner.clear()  # messages belong to the batch being opened
        for path in paths:
            self.loader.load(os.path.abspath(path))

    def open_path(self, path: str) -> None:
        self.open_paths([path])

    def _loading(self, path: str) -> None:
        self.statusBar().showMessage(f"Loading {os.path.basename(path)}…")
        QTimer.singleShot(0, self._prepare_spare_view)

    def _prepare_spare_view(self) -> None:
        """Build the next tab's widgets while the file is analysed (the GUI thread is idle
        then): opening it costs only filling them, in one short slot."""
        if self._spare_view is None:
            from ui.model_view import ReportView

            # A hidden child of the tab widget's page stack, sized and polished as a page:
            # adding it as a tab then neither reparents its widgets (10-15 ms: fonts and
            # palettes resolved again down the whole tree) nor resizes every chart.
            pages = self.tabs.findChild(QStackedWidget, "qt_tabwidget_stackedwidget")
            view = ReportView(None, self.theme, parent=pages or self.tabs)
            view.hide()
            self.workspace.furnish(view)
            view.resize(self.tabs.currentWidget().size() if self.tabs.count() else self.size())
            view.ensurePolished()
            view.sizeHint()  # the layouts' size hints, computed now and kept
            self._spare_view = view

    def _new_view(self) -> ReportView:
        from ui.model_view import ReportView

        view, self._spare_view = self._spare_view, None
        if view is None:
            view = ReportView(None, self.theme)
        return view

    def _busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)

    def _loaded(self, path: str, document: Document) -> None:
        doc_id = self.state.open(document)
        self.state.set_current(doc_id)
        self.collector.keep()
        self.settings.add_recent_file(path)
        self._refresh_recent()
        totals = document.report.analysis.totals if document.report.analysis else None
        summary = f": {totals.layer_count:,} layers" if totals else ""
        self.statusBar().showMessage(f"Opened {os.path.basename(path)}{summary}"
                                     + (" (saved report, read-only)" if document.read_only
                                        else ""), 8000)

    def _failed(self, path: str, message: str) -> None:
        self.banner.add_error(f"Cannot open {message}" if os.path.basename(path) in message
                              else f"Cannot open {path}: {message}")
        self.statusBar().showMessage(f"Could not open {os.path.basename(path)}; see the "
                                     "message above", 8000)

    # Tabs
    def views(self) -> list[ReportView]:
        return [self.tabs.widget(i) for i in range(self.tabs.count())]  # type: ignore[misc]

    def current_view(self) -> ReportView | None:
        return self.tabs.currentWidget()  # type: ignore[return-value]

    def view_of(self, doc_id: int) -> ReportView | None:
        return next((v for v in self.views() if v.doc_id == doc_id), None)

    def _document_opened(self, doc_id: int) -> None:
        state = self.state.get(doc_id)
        assert state is not None
        view = self._new_view()
        view.set_document(state.document)
        view.doc_id = doc_id
        view.layers_selected.connect(lambda layers: self.state.select_layers(doc_id, layers))
        self.workspace.attach(view, doc_id)
        index = self.tabs.addTab(view, self._tab_title(state.document))
        self.tabs.setTabToolTip(index, state.document.source_path
                                or self._tab_title(state.document))
        self.stack.setCurrentWidget(self.tabs)
        self._update_actions()
        if self.state.current_id is None:
            self.state.set_current(doc_id)

    def _document_changed(self, doc_id: int) -> None:
        state, view = self.state.get(doc_id), self.view_of(doc_id)
        if state is None or view is None:
            return
        view.set_document(state.document)
        self.tabs.setTabText(self.tabs.indexOf(view), self._tab_title(state.document))
        if doc_id == self.state.current_id:
            self.current_report_changed.emit(state.report)

    def _document_closed(self, doc_id: int) -> None:
        view = self.view_of(doc_id)
        if view is not None:
            self.tabs.removeTab(self.tabs.indexOf(view))
            view.deleteLater()
        if not self.tabs.count():
            self.stack.setCurrentWidget(self.welcome)
        self._update_actions()

    def _current_document_changed(self, doc_id: int | None) -> None:
        view = self.view_of(doc_id) if doc_id is not None else None
        if view is not None and view is not self.current_view():
            self.tabs.setCurrentWidget(view)
        state = self.state.current()
        self.current_report_changed.emit(state.report if state else None)
        self._update_actions()

    @staticmethod
    def _tab_title(document: Document) -> str:
        model = document.report.model
        name = model.name if model else os.path.basename(document.source_path) or "report"
        return f"{name} · report" if document.read_only else name

    def show_report(self, report: Report) -> ReportView:
        """Show ``report`` (runs included) in the tab of its model, else in a new tab; the view
        data is built here, on the calling thread (panels hand over documents built off the
        GUI thread instead, through the state)."""
        state = next((d for d in self.state.documents.values() if d.report is report), None)
        if state is None and report.model is not None:
            state = self.state.find_model(report.model.path)
        source = state.document.source_path if state else (report.model.path if report.model
                                                           else "")
        if state is not None:
            from ui.workspace import show_now

            self.state.add_runs(state.id, report, source="report")
            show_now(self.state, state.id)
            doc_id = state.id
        else:
            doc_id = self.state.open(replace(prepare_document(report, source), read_only=False))
        view = self.view_of(doc_id)
        assert view is not None
        return view

    def close_tab(self, index: int) -> None:
        view = self.tabs.widget(index)
        if view is not None:
            self.state.close(view.doc_id)  # type: ignore[attr-defined]
            self.collector.release()

    def close_current_tab(self) -> None:
        if self.tabs.count():
            self.close_tab(self.tabs.currentIndex())

    def _current_tab_changed(self, _index: int) -> None:
        view = self.current_view()
        self.state.set_current(view.doc_id if view is not None else None)
        self._update_actions()

    def _update_actions(self) -> None:
        has_tab = self.tabs.count() > 0
        for action in (getattr(self, "export_action", None), getattr(self, "close_action", None)):
            if action is not None:
                action.setEnabled(has_tab)

    def show_panel(self, widget: QWidget) -> None:
        """Show and raise the dock holding ``widget`` (a warning's action leads there)."""
        dock = widget.parentWidget()
        while dock is not None and not isinstance(dock, QDockWidget):
            dock = dock.parentWidget()
        if dock is not None:
            dock.show()
            dock.raise_()

    # Panels added by later features (profile, quantize, history)
    def add_panel(self, title: str, widget: QWidget,
                  area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea) -> QDockWidget:
        """Dock ``widget``; its show/hide toggle goes to the View menu, and its place is saved
        with the window layout (by object name)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"panel-{title.lower().replace(' ', '-')}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        self.view_menu.addAction(dock.toggleViewAction())
        state = self.settings.window_state()
        if state is not None:
            self.restoreDockWidget(dock)
        return dock

    def _add_panels(self) -> None:
        from ui.history_view import HistoryView
        from ui.profile_panel import ProfilePanel
        from ui.quantize_panel import QuantizePanel

        self.profile_panel = ProfilePanel(self.state, self.settings, self.runner)
        self.quantize_panel = QuantizePanel(self.state, self.settings, self.runner)
        self.profile_panel.devices_found.connect(self.quantize_panel.set_devices)
        self.history_view = HistoryView(self.state)
        self.addActions(self.profile_panel.window_actions())
        for panel in (self.profile_panel, self.quantize_panel, self.history_view):
            panel.message.connect(lambda text: self.statusBar().showMessage(text, 8000))
            panel.error.connect(self.banner.add_error)
        profile_dock = self.add_panel("Profile", self.profile_panel)
        self.tabifyDockWidget(profile_dock, self.add_panel("Quantize", self.quantize_panel))
        profile_dock.raise_()
        self.add_panel("History", self.history_view,
                       Qt.DockWidgetArea.BottomDockWidgetArea).hide()

    # Recent files
    def _refresh_recent(self) -> None:
        missing = self.settings.prune_recent_files()
        if missing:
            names = ", ".join(os.path.basename(p) for p in missing)
            self.statusBar().showMessage(f"Removed from recent files (no longer found): {names}",
                                         8000)
        self.recent_menu.clear()
        recent = self.settings.recent_files()
        for path in recent:
            action = self.recent_menu.addAction(os.path.basename(path))
            action.setToolTip(path)
            action.setStatusTip(path)
            action.triggered.connect(lambda _=False, p=path: self._open_recent(p))
        self.recent_menu.setEnabled(bool(recent))
        self.welcome.set_recent(recent)

    def _open_recent(self, path: str) -> None:
        if not os.path.exists(path):
            self.banner.clear()
            self.banner.add_error(f"{path}: no longer exists; removed from recent files")
            self._refresh_recent()
            return
        self.open_paths([path])

    # Comfort
    def set_theme(self, name: str) -> None:
        self.theme = theme_named(name)
        app = QApplication.instance()
        if isinstance(app, QApplication):
            apply_theme(app, self.theme)
        self.settings.set_theme(self.theme.name)
        for action in self.theme_group.actions():
            action.setChecked(action.data() == self.theme.name)
        self.banner.apply_theme(self.theme)
        if hasattr(self, "history_view"):
            self.history_view.apply_theme(self.theme)
        for view in self.views():
            view.apply_theme(self.theme)
        if hasattr(self, "workspace"):
            self.workspace.apply_theme()
        self._drop_spare_view()  # built in the former theme

    def _drop_spare_view(self) -> None:
        view, self._spare_view = self._spare_view, None
        if view is not None:
            view.deleteLater()

    def export_current(self) -> None:
        from ui.export_dialog import ExportDialog

        view = self.current_view()
        if view is None:
            self.statusBar().showMessage("Open a model or report first", 5000)
            return
        dialog = ExportDialog(view.document.report, view.charts, self.settings, self)
        dialog.exported.connect(lambda path: self.statusBar().showMessage(f"Exported {path}",
                                                                          8000))
        dialog.open()
        self.export_dialog = dialog

    def show_targets(self) -> None:
        """Settings › Targets; saving it (or its Refresh) asks the targets for devices."""
        from ui.targets_dialog import TargetsDialog

        if getattr(self, "targets_dialog", None) is None:
            self.targets_dialog = TargetsDialog(self.runner, parent=self)
            self.targets_dialog.devices_requested.connect(self.refresh_target_devices)
        self.targets_dialog.reload()
        self.targets_dialog.open()

    def refresh_target_devices(self) -> None:
        from ui.targets_dialog import target_devices

        def apply(found: tuple[list[DeviceInfo], list[str]]) -> None:
            devices, problems = found
            self.target_devices = devices
            self._keep_target_devices(self.profile_panel.devices)
            self.statusBar().showMessage("; ".join(problems) or
                                         f"{len(devices)} target device(s) found", 8000)

        if not hasattr(self, "target_devices"):  # a later local discovery keeps them too
            self.profile_panel.devices_found.connect(self._keep_target_devices)

        self.statusBar().showMessage("asking the targets for their devices…")
        self.runner.start(target_devices, on_done=apply,
                          on_error=lambda text: self.statusBar().showMessage(text, 8000))

    def _keep_target_devices(self, devices: list[DeviceInfo]) -> None:
        from ui.targets_dialog import merge_devices

        merged = merge_devices(devices, getattr(self, "target_devices", []))
        if [d.id for d in merged] != [d.id for d in devices]:
            self.profile_panel.set_devices(merged)

    def show_about(self) -> None:
        from ui.about import AboutDialog

        self.about_dialog = AboutDialog(self, self.profile_panel.devices)
        self.about_dialog.open()

    def _restore_layout(self) -> None:
        geometry, state = self.settings.window_geometry(), self.settings.window_state()
        if geometry is not None:
            self.restoreGeometry(geometry)
        if state is not None:
            self.restoreState(state)

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        self.loader.shutdown()
        for panel in (self.profile_panel, self.quantize_panel, self.history_view):
            panel.shutdown()
        self.runner.shutdown()
        self.collector.stop()
        self.settings.set_window_layout(self.saveGeometry(), self.saveState())
        self.settings.sync()
        super().closeEvent(event)

    # Drag and drop
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt override
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # Qt override
        paths = [url.toLocalFile() for url in event.mimeData().urls() if url.isLocalFile()]
        self.open_paths(paths)
        event.acceptProposedAction()
