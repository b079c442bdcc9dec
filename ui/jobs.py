"""One job at a time, for a widget that runs one kind of work (the inputs editor's
re-analysis, the history's reads): a thin holder of one ``ui.runner`` request, with signals a
widget connects once. The work and its guarantees are the runner's (any exception delivered,
cancel token, nothing left running after ``shutdown``)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal

from ui.runner import Handle, Runner, Sink, Work, failure_message

__all__ = ["BackgroundJob", "Sink", "Work", "failure_message"]


class BackgroundJob(QObject):
    """``cancel`` sets the token; the function decides how fast it stops (the profiling
    supervisor polls it every 50 ms and kills its child)."""

    progress = Signal(object)
    partial = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    running_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = Runner(self, max_threads=1)
        self.handle: Handle | None = None
        self.token = threading.Event()

    def is_running(self) -> bool:
        return self.handle is not None

    def start(self, work: Work) -> None:
        if self.handle is not None:
            raise RuntimeError("a job is already running")
        self.handle = self.runner.start(work, self.progress.emit, self.partial.emit,
                                        self._done, self._failed)
        self.token = self.handle.token
        self.running_changed.emit(True)

    def _done(self, result: object) -> None:
        self.handle = None
        self.running_changed.emit(False)
        self.finished.emit(result)

    def _failed(self, message: str) -> None:
        self.handle = None
        self.running_changed.emit(False)
        self.failed.emit(message)

    def cancel(self) -> None:
        self.token.set()

    def shutdown(self) -> None:
        """Cancel and wait (the window is closing): no thread outlives its QObject."""
        self.runner.shutdown()
        self.handle = None
