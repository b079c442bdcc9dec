"""Long jobs off the GUI thread: request (``BackgroundJob.start``) -> execute (a plain function in
a QThread) -> apply (signals delivered on the GUI thread).

The function is core-style: it takes a progress sink, a cancel token (``threading.Event``) and a
``partial`` sink for results that are ready before the end (a device that finished). It never
touches Qt; only the private signals of this object cross back to the GUI thread, as in
ui.loader.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal, Slot

Sink = Callable[[Any], None]
Work = Callable[[Sink, threading.Event, Sink], Any]
log = logging.getLogger(__name__)


def failure_message(error: BaseException) -> str:
    """The project's own errors are one line already; anything else gets its type named."""
    from profiler.errors import ProfilerError

    if isinstance(error, ProfilerError):
        return str(error)
    log.debug("background job failed", exc_info=error)
    return f"{type(error).__name__}: {error}"


class _Thread(QThread):
    def __init__(self, body: Callable[[], None], parent: QObject) -> None:
        super().__init__(parent)
        self.body = body

    def run(self) -> None:  # Qt override: runs in the new thread
        self.body()


class BackgroundJob(QObject):
    """One job at a time. ``cancel`` sets the token; the function decides how fast it stops
    (the profiling supervisor polls it every 50 ms and kills its child)."""

    progress = Signal(object)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    running_changed = Signal(bool)
    _progress = Signal(object)
    _partial = Signal(object)
    _done = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._worker_thread: _Thread | None = None
        self.token = threading.Event()
        self._progress.connect(self.progress)
        self._partial.connect(self.partial)
        self._done.connect(self._deliver)

    def is_running(self) -> bool:
        return self._worker_thread is not None

    def start(self, work: Work) -> None:
        if self._worker_thread is not None:
            raise RuntimeError("a job is already running")
        self.token = threading.Event()
        token = self.token
        self._worker_thread = _Thread(lambda: self._run(work, token), self)
        self._worker_thread.start()
        self.running_changed.emit(True)

    def _run(self, work: Work, token: threading.Event) -> None:
        """In the worker thread: only private signals are emitted."""
        try:
            result = work(self._progress.emit, token, self._partial.emit)
        except Exception as error:
            self._done.emit(None, failure_message(error) or type(error).__name__)
            return
        self._done.emit(result, "")

    @Slot(object, str)
    def _deliver(self, result: object, message: str) -> None:
        if self._worker_thread is not None:
            self._worker_thread.wait()
        self._worker_thread = None
        self.running_changed.emit(False)
        if message:
            self.failed.emit(message)
        else:
            self.finished.emit(result)

    def cancel(self) -> None:
        self.token.set()

    def shutdown(self) -> None:
        """Cancel and wait (the window is closing): no thread outlives its QObject."""
        self.token.set()
        if self._worker_thread is not None:
            self._worker_thread.wait()
