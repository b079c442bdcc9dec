"""The PySide6 + pyqtgraph desktop app. Depends on ``profiler``; never the reverse."""
