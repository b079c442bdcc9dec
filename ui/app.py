"""``edgeprof``: the desktop app's entry point."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from PySide6.QtWidgets import QApplication

from ui.main_window import MainWindow


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv if argv is None else argv)
    app = QApplication.instance() or QApplication(args)
    app.setApplicationName("Edge Model Profiler")
    app.setOrganizationName("edgeprof")
    window = MainWindow()
    window.show()
    for path in args[1:]:
        if not path.startswith("-"):
            window.open_path(path)
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
