"""pyqtgraph charts of a report. Importing this package imports pyqtgraph (and numpy): the app
does it when the first report is shown, never at startup."""

import ui.qt_compat  # noqa: F401 - pyqtgraph emits signals on every mouse move
from ui.charts.panel import ChartPanel

__all__ = ["ChartPanel"]
