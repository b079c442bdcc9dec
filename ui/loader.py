"""Opening files off the GUI thread: request (``Loader.load``) -> execute (``load_document`` in
a pool thread) -> apply (``loaded``/``failed`` delivered on the GUI thread).

``load_document`` and ``prepare_document`` are plain functions with no Qt, so the core's heavy
imports (onnx, the analysis) happen in the worker the first time a model is opened, never at
startup.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot

if TYPE_CHECKING:
    from profiler.report.model import Report
    from ui.layer_columns import ColumnSpec
    from ui.report_data import ReportData

REPORT_EXTENSIONS = (".json",)
MODEL_EXTENSIONS = (".onnx", ".xml", ".tflite")
log = logging.getLogger(__name__)


@dataclass
class Document:
    """One tab's content: a report and the tables and joins its views read."""

    source_path: str
    """The file opened (model or report JSON); '' for a report handed over in memory."""
    report: Report
    data: ReportData
    columns: list[ColumnSpec]
    read_only: bool
    """A saved report: shown as saved, no model needed."""


def prepare_document(report: Report, source_path: str = "", read_only: bool = False) -> Document:
    from ui.layer_columns import build_columns
    from ui.report_data import build_report_data

    data = build_report_data(report)
    return Document(source_path, report, data, build_columns(data), read_only)


def load_document(path: str) -> Document:
    """Analyse a model, or read a saved report (by extension). Raises ProfilerError."""
    if path.lower().endswith(REPORT_EXTENSIONS):
        from profiler.report.model import load_report

        return prepare_document(load_report(path), path, read_only=True)
    from profiler.api import analyze_model

    return prepare_document(analyze_model(path), path)


def _warm_chart_imports() -> None:
    """Import pyqtgraph here so the GUI thread does not stall on it when the tab appears.
    Importing defines classes only; every widget is still created on the GUI thread."""
    import ui.charts  # noqa: F401


def _failure_message(path: str, error: BaseException) -> str:
    from profiler.errors import ProfilerError

    if isinstance(error, ProfilerError):
        return str(error)
    # A bug or an unexpected library error: one line for the user, the traceback in the log.
    log.debug("loading %s failed", path, exc_info=error)
    name = os.path.basename(path)
    return f"{name}: could not be read ({type(error).__name__}: {error}); is it a valid model?"


class Loader(QObject):
    """Loads one file at a time in its own pool thread; ``pending`` counts requests not yet
    delivered. Signals arrive on the GUI thread."""

    started = Signal(str)
    loaded = Signal(str, object)
    """(path, Document)"""
    failed = Signal(str, str)
    """(path, one-line message)"""
    busy_changed = Signal(bool)
    _finished = Signal(str, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(1)  # analysis is pure Python: a second thread only adds GIL
        self.pending = 0
        self.closed = False
        self._finished.connect(self._deliver)

    def load(self, path: str) -> None:
        self.pending += 1
        if self.pending == 1:
            self.busy_changed.emit(True)
        self.started.emit(path)
        self.pool.start(lambda: self._work(path))

    def _work(self, path: str) -> None:
        """Runs in the pool thread: only the private signal crosses back."""
        try:
            document = load_document(path)
            _warm_chart_imports()
        except Exception as error:
            self._finished.emit(path, None, _failure_message(path, error))
            return
        self._finished.emit(path, document, "")

    @Slot(str, object, str)
    def _deliver(self, path: str, document: object, message: str) -> None:
        self.pending -= 1
        if self.closed:
            return
        if document is None:
            self.failed.emit(path, message)
        else:
            self.loaded.emit(path, document)
        if self.pending == 0:
            self.busy_changed.emit(False)

    def shutdown(self) -> None:
        """Drop queued loads and wait for the running one (the window is closing)."""
        self.closed = True
        self.pool.clear()
        self.pool.waitForDone()
