"""``edgeprof [MODEL ...]``: the desktop app's entry point.

Startup imports Qt and the light parts of the app only; the core's analysis, onnx and the
charts (pyqtgraph, numpy) load with the first model, in the loader's worker thread.
Set EDGEPROF_STARTUP_PROBE=1 to print when the first window is on screen
(benchmarks/startup_time.py reads it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from profiler import __version__

if TYPE_CHECKING:
    from PySide6.QtCore import QObject

    from ui.main_window import MainWindow

PROBE_ENV = "EDGEPROF_STARTUP_PROBE"
PROBE_PREFIX = "edgeprof-startup first_window_epoch="
NEVER_SHOWN_MS = 20_000
"""--quit-after-ms counts from the first expose; this quits anyway where none ever comes."""


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="edgeprof", description="Edge Model Profiler desktop app. Opens the models given."
    )
    parser.add_argument("models", nargs="*",
                        help="model files (.onnx, .xml, .tflite) or saved reports (.json)")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="print full tracebacks of unexpected errors to stderr")
    parser.add_argument("--quit-after-ms", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(list(argv))


def _first_shown_filter(window: MainWindow, on_shown: list[object]) -> QObject:
    """An event filter that runs ``on_shown`` callables once, when the window is first exposed
    (really on screen, not just asked to show)."""
    from PySide6.QtCore import QEvent, QObject

    class FirstExpose(QObject):
        done = False

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if (not self.done and event.type() == QEvent.Type.Expose
                    and window.windowHandle() is not None and window.windowHandle().isExposed()):
                self.done = True
                for callback in on_shown:
                    callback()  # type: ignore[operator]
            return False

    probe = FirstExpose(window)
    handle = window.windowHandle()
    if handle is not None:
        handle.installEventFilter(probe)
    return probe


def _install_excepthook(window: MainWindow, debug: bool) -> None:
    """An unexpected error in a slot becomes a line in the window; the traceback goes to
    stderr only with --debug."""

    def hook(kind: type[BaseException], error: BaseException,
             tb: TracebackType | None) -> None:
        if debug:
            traceback.print_exception(kind, error, tb)
        window.banner.add_error(f"Unexpected error: {kind.__name__}: {error}. "
                                "Run edgeprof --debug for details.")

    sys.excepthook = hook


APP_PACKAGES = ("PySide6", "pyqtgraph")
APP_EXTRA_HINT = ("edgeprof: the desktop app needs the app extra: "
                  "pip install 'edge-model-profiler[app]'")


def missing_app_packages() -> list[str]:
    """The app's packages not installed (a board's install has the headless core only)."""
    from importlib.util import find_spec

    def installed(name: str) -> bool:
        try:
            return find_spec(name) is not None
        except (ImportError, ValueError):  # a broken install counts as none
            return False

    return [name for name in APP_PACKAGES if not installed(name)]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    if missing_app_packages():
        print(f"{APP_EXTRA_HINT} ({', '.join(missing_app_packages())} missing)",
              file=sys.stderr)
        return 1
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Edge Model Profiler")
    app.setOrganizationName("edgeprof")
    app.setApplicationVersion(__version__)
    window = MainWindow()
    _install_excepthook(window, args.debug)
    on_shown: list[object] = []
    if os.environ.get(PROBE_ENV):
        on_shown.append(lambda: print(f"{PROBE_PREFIX}{time.time():.6f}", flush=True))
    if args.quit_after_ms is not None:
        on_shown.append(lambda: QTimer.singleShot(args.quit_after_ms, app.quit))
        QTimer.singleShot(args.quit_after_ms + NEVER_SHOWN_MS, app.quit)
    window.winId()  # creates the native window now, so the probe sees its very first expose
    probe = _first_shown_filter(window, on_shown)
    window.show()
    window.open_paths(args.models)
    exit_code = int(app.exec())
    del probe
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
