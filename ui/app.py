"""``edgeprof [MODEL ...]``: the desktop app's entry point."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from profiler import __version__


def _parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="edgeprof", description="Edge Model Profiler desktop app. Opens the models given."
    )
    parser.add_argument("models", nargs="*", help="model files (.onnx, .xml, .tflite) to open")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--quit-after-ms", type=int, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(sys.argv[1:] if argv is None else argv)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("Edge Model Profiler")
    app.setOrganizationName("edgeprof")
    window = MainWindow()
    window.show()
    for path in args.models:
        window.open_path(path)
    if args.quit_after_ms is not None:
        QTimer.singleShot(args.quit_after_ms, app.quit)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
