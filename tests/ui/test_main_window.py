"""The main window opens models from drops and the command line, and shows bad files in-window."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent

from tests.conftest import REPO_ROOT, ZOO_DIR
from ui.main_window import MainWindow


def _drop(window: MainWindow, paths: list[Path]) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def test_dropping_a_model_shows_its_summary(qtbot) -> None:
    window = MainWindow()
    qtbot.addWidget(window)
    _drop(window, [ZOO_DIR / "light_squeezenet.onnx"])
    assert "light_squeezenet.onnx" in window.summary.text()
    assert "MACs 349.152 M" in window.summary.text()
    assert window.error_banner.isHidden()


def test_dropping_a_bad_file_shows_a_message_and_stays_usable(qtbot, tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00garbage" * 10)
    window = MainWindow()
    qtbot.addWidget(window)
    _drop(window, [bad])
    assert not window.error_banner.isHidden()
    assert "broken.onnx" in window.error_banner.text()
    _drop(window, [ZOO_DIR / "light_squeezenet.onnx"])
    assert window.error_banner.isHidden()


def test_edgeprof_starts_and_quits_without_traceback() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run(
        [sys.executable, "-m", "ui.app", "--quit-after-ms", "500",
         str(ZOO_DIR / "light_squeezenet.onnx")],
        capture_output=True, text=True, timeout=60, env=env, cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
