"""GUI tests run offscreen; Qt warnings fail them (pytest-qt qt_log_level_fail)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import ui.qt_compat  # noqa: F401 - before any signal is emitted
from ui.main_window import MainWindow
from ui.settings import AppSettings


@pytest.fixture
def settings(tmp_path: Path) -> AppSettings:
    """Settings in a temporary INI file: tests never read or write the user's preferences."""
    return AppSettings(str(tmp_path / "edgeprof-test.ini"))


@pytest.fixture
def make_window(qtbot, settings: AppSettings) -> Iterator[Callable[[], MainWindow]]:
    def make() -> MainWindow:
        window = MainWindow(settings)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
