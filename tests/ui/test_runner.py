"""The runner delivers every outcome on the GUI thread, cancels work not started, and the
settings migrate from the raw keys of version 1."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from ui.runner import Runner
from ui.settings import SETTINGS_VERSION, VERSION_KEY, AppSettings


def test_any_exception_is_delivered_as_one_line(qtbot) -> None:
    runner = Runner()
    errors: list[str] = []

    def broken(_p: Any, _c: threading.Event, _r: Any) -> None:
        raise KeyError("missing")

    handle = runner.start(broken, on_error=errors.append)
    with qtbot.waitSignal(handle.finished, timeout=10_000):
        pass
    assert errors == ["KeyError: 'missing'"]
    assert not runner.busy()
    runner.shutdown()


def test_progress_partial_and_result_arrive_on_the_gui_thread(qtbot) -> None:
    runner = Runner()
    seen: list[tuple[str, object, bool]] = []
    gui = threading.current_thread()

    def work(progress: Any, _cancel: threading.Event, partial: Any) -> int:
        progress(1)
        partial(2)
        return 3

    def note(kind: str) -> Any:
        return lambda value: seen.append((kind, value, threading.current_thread() is gui))

    handle = runner.start(work, note("progress"), note("partial"), note("done"))
    with qtbot.waitSignal(handle.finished, timeout=10_000):
        pass
    assert seen == [("progress", 1, True), ("partial", 2, True), ("done", 3, True)]
    runner.shutdown()


def test_cancel_before_start_never_runs_the_work(qtbot) -> None:
    runner = Runner(max_threads=1)
    gate, ran = threading.Event(), []
    first = runner.start(lambda _p, _c, _r: gate.wait(10))
    second = runner.start(lambda _p, _c, _r: ran.append(1), on_error=lambda _m: None)
    second.cancel()
    gate.set()
    with qtbot.waitSignal(second.finished, timeout=10_000):
        pass
    assert ran == [] and not first.running
    runner.shutdown()


def test_version_1_settings_migrate(tmp_path: Path) -> None:
    path = str(tmp_path / "old.ini")
    old = QSettings(path, QSettings.Format.IniFormat)
    old.setValue("profile/devices", "ort:cpu")  # a one-item list read back as a string
    old.setValue("profile/iterations", "42")
    old.setValue("profile/mode", "nonsense")
    old.setValue("view/theme", "dark")
    old.sync()
    settings = AppSettings(path)
    assert settings.prefs.profile.devices == ["ort:cpu"]
    assert settings.prefs.profile.iterations == 42
    assert settings.prefs.profile.mode == "latency"  # an unknown value falls back
    assert settings.theme() == "dark"
    assert settings.prefs.quantize.variants == ["int8-dynamic"]
    assert int(settings.store.value(VERSION_KEY)) == SETTINGS_VERSION
