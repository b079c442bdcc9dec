"""The run history: every profiled run and its report in one SQLite file (see store.py)."""

from profiler.history.store import (
    HistoryEntry,
    HistoryError,
    HistoryStore,
    StoredRun,
    UnknownRunError,
)

__all__ = ["HistoryEntry", "HistoryError", "HistoryStore", "StoredRun", "UnknownRunError"]
