"""The main window: open a model (menu, command line, drag and drop) and show its summary."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel, QMainWindow, QVBoxLayout, QWidget

from profiler.api import analyze_model
from profiler.errors import ProfilerError
from profiler.report.summary import summary_text

OPEN_FILTER = "Models (*.onnx *.xml *.tflite);;All files (*)"


class MainWindow(QMainWindow):
    def __init__(self) -> None:
        super().__init__()
        self.setWindowTitle("Edge Model Profiler")
        self.resize(1100, 720)
        self.setAcceptDrops(True)
        self.summary = QLabel("Drop a model (.onnx, .xml, .tflite) here, or use File › Open.")
        self.summary.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_banner = QLabel()
        self.error_banner.setWordWrap(True)
        self.error_banner.setStyleSheet(
            "background: #fdecea; color: #8a1c13; padding: 8px; border: 1px solid #f5c2bd;"
        )
        self.error_banner.hide()
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addWidget(self.error_banner)
        layout.addWidget(self.summary, 1)
        self.setCentralWidget(central)
        open_action = QAction("&Open…", self)
        open_action.setShortcut(QKeySequence.StandardKey.Open)
        open_action.triggered.connect(self._choose_file)
        self.menuBar().addMenu("&File").addAction(open_action)
        self.statusBar().showMessage("Ready")

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", "", OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_path(self, path: str) -> bool:
        """Analyse ``path`` and show its summary; a bad file shows a message instead."""
        try:
            report = analyze_model(path)
        except ProfilerError as error:
            self.show_error(str(error))
            return False
        self.error_banner.hide()
        self.summary.setText(summary_text(report, top=15))
        self.summary.setStyleSheet("font-family: monospace;")
        self.summary.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.statusBar().showMessage(f"Analysed {path}")
        return True

    def show_error(self, message: str) -> None:
        """Errors appear in the window (never a traceback, never a blocking dialog)."""
        self.error_banner.setText(f"Cannot open: {message}")
        self.error_banner.show()
        self.statusBar().showMessage("Could not open the file; see the message above")

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # Qt override
        for url in event.mimeData().urls():
            if url.isLocalFile():
                self.open_path(url.toLocalFile())
        event.acceptProposedAction()
