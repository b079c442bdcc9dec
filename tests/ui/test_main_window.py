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

SQUEEZENET = ZOO_DIR / "light_squeezenet.onnx"


def drop(window: MainWindow, paths: list[Path]) -> None:
    """A real drop event carrying file URLs, as the window receives it from the desktop."""
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    window.dropEvent(event)


def drop_and_wait(qtbot, window: MainWindow, paths: list[Path]) -> None:
    """Drop, then wait until the loader has delivered every result (no sleeps)."""
    with qtbot.waitSignal(window.loader.busy_changed, timeout=60_000,
                          check_params_cb=lambda busy: not busy):
        drop(window, paths)


def test_dropping_a_model_shows_its_summary(qtbot, make_window) -> None:
    window = make_window()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000) as loaded:
        drop(window, [SQUEEZENET])
    assert loaded.args[0] == str(SQUEEZENET)
    view = window.current_view()
    assert view is not None and window.tabs.count() == 1
    assert window.tabs.tabText(0) == "light_squeezenet.onnx"
    assert view.card.title.text() == "light_squeezenet.onnx"
    assert view.card.values["MACs"].text() == "349.152 M"
    assert view.card.values["MACs"].toolTip() == "349,151,936"
    assert view.table.proxy.rowCount() == view.document.report.analysis.totals.layer_count
    assert window.banner.isHidden()


def test_dropping_a_bad_file_shows_a_message_and_stays_usable(qtbot, make_window,
                                                              tmp_path: Path) -> None:
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"\x00garbage" * 10)
    window = make_window()
    with qtbot.waitSignal(window.loader.failed, timeout=60_000):
        drop(window, [bad])
    assert not window.banner.isHidden()
    assert "broken.onnx" in window.banner.text()
    assert "Traceback" not in window.banner.text()
    assert window.tabs.count() == 0
    drop_and_wait(qtbot, window, [SQUEEZENET])
    assert window.banner.isHidden()
    assert window.tabs.count() == 1


def test_edgeprof_starts_and_quits_without_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "ui.app", "--quit-after-ms", "500", str(SQUEEZENET)],
        capture_output=True, text=True, timeout=60, env=env, cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "Fatal Python error" not in result.stderr


def test_the_next_tab_is_built_while_the_model_is_analysed(qtbot, make_window) -> None:
    """The tab's widgets are made while the file is analysed (the GUI thread is idle then);
    opening fills them and freezes the new objects for the collector (no long GUI stall)."""
    import gc

    window = make_window()
    with qtbot.waitSignal(window.loader.started, timeout=60_000):
        drop(window, [SQUEEZENET])
    qtbot.waitUntil(lambda: window._spare_view is not None, timeout=10_000)
    spare = window._spare_view
    assert spare is not None and spare.isHidden() and spare.strip is not None
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        pass
    assert window.current_view() is spare and window._spare_view is None
    assert spare.card.title.text() == "light_squeezenet.onnx"
    assert window.workspace.strip(spare.doc_id) is spare.strip
    assert gc.get_freeze_count() > 0
