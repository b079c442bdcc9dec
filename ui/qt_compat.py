"""A guard against reference-count bugs in some PySide6 releases (seen in 6.12.0 on Python 3.11).

In those releases ``SignalInstance.emit()`` and ``.disconnect()`` hand back True/False, and every
empty QVariant that reaches Python (``QComboBox.currentData()``, a proxy model's ``data()``,
``QObject.property()``) hands back None, without taking the reference the caller will drop.
Each call then removes one reference from the singleton. Python 3.11's None/True/False are not
immortal: after some thousands of such calls (pyqtgraph emits on every mouse move, a table asks
for data on every repaint) the interpreter aborts with "none_dealloc" or "bool_dealloc".

The leak is measured at import. Where it exists, the three singletons get a reference count so
large that no session can exhaust it: what Python 3.12 does for them anyway (immortal objects).
Where it does not exist, nothing is changed. Import this module before any Qt object is used
(ui.app, ui.main_window, ui.charts and the GUI tests do).
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

PROBE_CALLS = 16
PINNED_REFERENCES = 1 << 40
"""At a million leaked references a second, a process would need 12 days to use them up."""


class _Probe(QObject):
    fired = Signal()


def _lost_references(target: object, call: Callable[[], object]) -> int:
    before = sys.getrefcount(target)
    results = [call() for _ in range(PROBE_CALLS)]
    return before + sum(result is target for result in results) - sys.getrefcount(target)


def _pin(singleton: object) -> None:
    """Add PINNED_REFERENCES to the object's reference count (CPython: the first field of
    every object, at its id)."""
    ctypes.c_ssize_t.from_address(id(singleton)).value += PINNED_REFERENCES


def _install() -> list[str]:
    probe = _Probe()
    leaks = {
        "SignalInstance.emit": _lost_references(True, probe.fired.emit),
        "empty QVariant": _lost_references(None, lambda: probe.property("edgeprof-absent")),
    }
    found = [name for name, lost in leaks.items() if lost > 0]
    if found and sys.implementation.name == "cpython" and sys.version_info < (3, 12):
        for singleton in (None, True, False):
            _pin(singleton)
    return found


LEAKS_FOUND = _install()
"""The leaking calls found in this PySide6 (empty where it has none)."""
