"""The app's one way to run work off the GUI thread: request (``Runner.start``) -> execute (a
plain function in a pool thread) -> apply (callbacks on the GUI thread).

A small runner of our own rather than superqt's workers: the work functions are core-style
(a progress sink, a ``threading.Event`` cancel token the profiling supervisor already polls,
a ``partial`` sink), so a QThreadPool with one QObject per request is all that is needed, and
the app gains no dependency. Guarantees:

- every request ends with exactly one of ``on_done`` / ``on_error`` (any exception, not only
  ProfilerError, becomes a one-line message), then ``finished``;
- ``cancel`` sets the token; work not started yet never starts; a result that arrives after a
  cancel is still delivered (the function decides what a cancelled result is);
- the pool's QRunnables are deleted by the pool, each handle is deleted once delivered;
- ``shutdown`` cancels everything and waits, so no thread outlives the window.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot

Sink = Callable[[Any], None]
Work = Callable[[Sink, threading.Event, Sink], Any]
DoneCallback = Callable[[Any], None]
ErrorCallback = Callable[[str], None]
DEFAULT_THREADS = 4
"""Profiling, quantizing and history reads mostly wait on child processes or SQLite."""
log = logging.getLogger(__name__)


class UserMessage(Exception):
    """An error whose text is already the one line the user sees."""


def failure_message(error: BaseException) -> str:
    """The project's own errors are one line already; anything else gets its type named."""
    from profiler.errors import ProfilerError

    if isinstance(error, (ProfilerError, UserMessage)):
        return str(error) or type(error).__name__
    log.debug("background work failed", exc_info=error)
    return f"{type(error).__name__}: {error}"


class Handle(QObject):
    """One request. Signals arrive on the GUI thread (the handle lives there)."""

    progress = Signal(object)
    partial = Signal(object)
    done = Signal(object)
    failed = Signal(str)
    finished = Signal()
    """After ``done`` or ``failed``: the request is over."""
    _progress = Signal(object)
    _partial = Signal(object)
    _deliver = Signal(object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.token = threading.Event()
        self.running = True
        # The worker emits the private signals only: their receiver (this handle) lives on
        # the GUI thread, so delivery is queued there whatever the callbacks are.
        self._progress.connect(self.progress)
        self._partial.connect(self.partial)
        self._deliver.connect(self._delivered)

    def cancel(self) -> None:
        self.token.set()

    def is_cancelled(self) -> bool:
        return self.token.is_set()

    def _execute(self, work: Work) -> None:
        """In the pool thread: only signals cross back."""
        if self.token.is_set():
            self._deliver.emit(None, "cancelled")
            return
        try:
            result = work(self._progress.emit, self.token, self._partial.emit)
        except BaseException as error:  # SystemExit from a library too: never stuck
            self._deliver.emit(None, failure_message(error))
            return
        self._deliver.emit(result, "")

    @Slot(object, str)
    def _delivered(self, result: object, message: str) -> None:
        self.running = False
        if message:
            self.failed.emit(message)
        else:
            self.done.emit(result)
        self.finished.emit()


class _Task(QRunnable):
    def __init__(self, handle: Handle, work: Work) -> None:
        super().__init__()
        self.handle, self.work = handle, work
        self.setAutoDelete(True)

    def run(self) -> None:  # Qt override: runs in a pool thread
        self.handle._execute(self.work)


class Runner(QObject):
    """Runs requests on its own pool; ``max_threads=1`` serialises them (the loader's
    analyses: pure Python, a second thread only adds GIL contention)."""

    def __init__(self, parent: QObject | None = None, max_threads: int = DEFAULT_THREADS) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        self.handles: set[Handle] = set()

    def start(self, work: Work, on_progress: Sink | None = None, on_partial: Sink | None = None,
              on_done: DoneCallback | None = None,
              on_error: ErrorCallback | None = None) -> Handle:
        handle = Handle()  # no parent: deleted once delivered, not with the runner
        for signal, callback in ((handle.progress, on_progress), (handle.partial, on_partial),
                                 (handle.done, on_done), (handle.failed, on_error)):
            if callback is not None:
                signal.connect(callback)
        handle.finished.connect(self._forget)
        self.handles.add(handle)
        self.pool.start(_Task(handle, work))
        return handle

    @Slot()
    def _forget(self) -> None:
        handle = self.sender()
        if isinstance(handle, Handle):
            self.handles.discard(handle)
            handle.deleteLater()

    def busy(self) -> bool:
        return bool(self.handles)

    def cancel_all(self) -> None:
        for handle in list(self.handles):
            handle.cancel()

    def shutdown(self) -> None:
        """Cancel every request, drop the queued ones and wait for the running ones."""
        self.cancel_all()
        self.pool.clear()
        self.pool.waitForDone()
        for handle in list(self.handles):
            handle.blockSignals(True)  # the window is going: nothing is applied any more
        self.handles.clear()
