"""Opening files off the GUI thread: request (``Loader.load``) -> execute (``load_document`` on
the app's runner, view data included) -> apply (``loaded``/``failed`` on the GUI thread).

``load_document`` and ``prepare_document`` are plain functions with no Qt, so the core's heavy
imports (onnx, the analysis) happen in the worker the first time a model is opened, never at
startup.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ui.runner import Handle, Runner, UserMessage

if TYPE_CHECKING:
    from profiler.records.report import Report
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


def load_document(path: str, cancel: threading.Event | None = None) -> Document:
    """Analyse a model, or read a saved report (by extension); the view data too, so the
    GUI thread only creates widgets. Raises ProfilerError, or Cancelled once cancelled."""
    if path.lower().endswith(REPORT_EXTENSIONS):
        from profiler.records.report import load_report

        report, read_only = load_report(path), True
    else:
        from profiler.api import analyze_model
        from profiler.errors import Cancelled as AnalysisStopped

        try:  # cancelling (a closed window) stops the analysis' child at once
            report, read_only = analyze_model(path, cancel=cancel), False
        except AnalysisStopped:
            raise Cancelled(f"{os.path.basename(path)}: opening cancelled") from None
    if cancel is not None and cancel.is_set():
        raise Cancelled(f"{os.path.basename(path)}: opening cancelled")
    return prepare_document(report, path, read_only=read_only)


class Cancelled(UserMessage):
    """The request was cancelled before its result was complete."""


def _warm_chart_imports() -> None:
    """Import pyqtgraph here so the GUI thread does not stall on it when the tab appears.
    Importing defines classes only; every widget is still created on the GUI thread."""
    import ui.charts  # noqa: F401


def _start_sandbox_helper() -> None:
    """The fork server that sandboxed parsing starts from: this process has Qt's threads, so
    a child is never forked from it directly (profiler.sandbox)."""
    from profiler.sandbox import start_helper

    try:
        start_helper()
    except OSError:  # the first file then starts it, and says why if it cannot
        log.debug("the sandbox helper did not start", exc_info=True)


def _failure_message(path: str, error: BaseException) -> str:
    from profiler.errors import ProfilerError

    if isinstance(error, (ProfilerError, Cancelled)):
        return str(error)
    # A bug or an unexpected library error: one line for the user, the traceback in the log.
    log.debug("loading %s failed", path, exc_info=error)
    name = os.path.basename(path)
    return f"{name}: could not be read ({type(error).__name__}: {error}); is it a valid model?"


class Loader(QObject):
    """Loads one file at a time (a one-thread runner); ``pending`` counts requests not yet
    delivered. Signals arrive on the GUI thread."""

    started = Signal(str)
    loaded = Signal(str, object)
    """(path, Document)"""
    failed = Signal(str, str)
    """(path, one-line message)"""
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = Runner(self, max_threads=1)
        self.pending = 0
        self.closed = False
        self.runner.start(lambda *_: _start_sandbox_helper())  # warm before the first file

    def load(self, path: str) -> Handle:
        self.pending += 1
        if self.pending == 1:
            self.busy_changed.emit(True)
        self.started.emit(path)
        return self.runner.start(lambda _progress, cancel, _partial: _work(path, cancel),
                                 on_done=lambda document: self._deliver(path, document, ""),
                                 on_error=lambda message: self._deliver(path, None, message))

    def _deliver(self, path: str, document: object, message: str) -> None:
        self.pending -= 1
        if self.closed:
            return
        if document is None:
            self.failed.emit(path, message if message != "cancelled"
                             else f"{os.path.basename(path)}: opening cancelled")
        else:
            self.loaded.emit(path, document)
        if self.pending == 0:
            self.busy_changed.emit(False)

    def shutdown(self) -> None:
        """Drop queued loads and wait for the running one (the window is closing)."""
        self.closed = True
        self.runner.shutdown()


def _work(path: str, cancel: threading.Event) -> Document:
    """In the runner's thread; a load cancelled before its view data is built stops there."""
    try:
        document = load_document(path, cancel)
        _warm_chart_imports()
    except Exception as error:
        raise LoadFailed(_failure_message(path, error)) from error
    return document


class LoadFailed(UserMessage):
    """Carries the one-line message the user sees (the runner names other errors' types)."""
