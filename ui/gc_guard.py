"""Python's cyclic garbage collector runs in whichever thread happens to allocate. When that is
a loader thread and the garbage holds Qt objects (a closed tab's widgets, chart items), Qt
objects are destroyed off the GUI thread and the process can crash. So while the app runs,
automatic collection is off and this collector runs it on the GUI thread, on a timer, with
CPython's own generation thresholds (the approach pyqtgraph documents for threaded apps)."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.was_enabled = gc.isenabled()
        self.timer = QTimer(self)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self.check)
        gc.disable()
        self.timer.start()

    def check(self) -> None:
        """Collect the oldest generation whose allocation count passed its threshold."""
        thresholds, counts = gc.get_threshold(), gc.get_count()
        for generation in (2, 1, 0):
            if counts[generation] > thresholds[generation]:
                gc.collect(generation)
                return

    def stop(self) -> None:
        self.timer.stop()
        gc.collect()
        if self.was_enabled:
            gc.enable()
