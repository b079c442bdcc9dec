"""Python's cyclic garbage collector runs in whichever thread happens to allocate. When that is
a loader thread and the garbage holds Qt objects (a closed tab's widgets, chart items), Qt
objects are destroyed off the GUI thread and the process can crash. So while the app runs,
automatic collection is off and this collector runs it on the GUI thread, on a timer, with
CPython's own generation thresholds (the approach pyqtgraph documents for threaded apps).

A full collection walks every object, a large report's included (70 ms with a 10k-node model
open, a visible stall): after one, the survivors are frozen (``gc.freeze``) so later full
collections skip them; closing a document unfreezes them so its objects can go."""

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
                if generation == 2:
                    gc.freeze()
                return

    def keep(self) -> None:
        """A document was opened: freeze what exists now (its report and view data, some
        hundred thousand objects for a 10k-node model), so the next young-generation
        collections skip them rather than stall the GUI thread walking them (15 ms and
        more). ``release`` lets them go again."""
        gc.freeze()

    def release(self) -> None:
        """Let the next full collection see every object again (a document was closed)."""
        gc.unfreeze()

    def stop(self) -> None:
        self.timer.stop()
        gc.unfreeze()
        gc.collect()
        if self.was_enabled:
            gc.enable()
