"""Settings › Targets: values validated as the targets file would be, a save/load round trip
through the same TOML file the CLI edits, and Check off the GUI thread (a fake board)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from profiler.errors import ProfilerError
from profiler.remote.targets import Target, load_targets, save_targets
from profiler.runtime.devices import DeviceInfo
from ui.runner import Runner
from ui.targets_dialog import TargetsDialog, merge_devices


@pytest.fixture
def runner(qtbot) -> Runner:
    made = Runner()
    yield made
    made.shutdown()


def _dialog(qtbot, runner: Runner, path: Path, checker=None) -> TargetsDialog:
    dialog = TargetsDialog(runner, str(path), **({"checker": checker} if checker else {}))
    qtbot.addWidget(dialog)
    return dialog


def _fill(dialog: TargetsDialog, name: str, destination: str, port: int = 0) -> None:
    dialog.new_target()
    dialog.name.setText(name)
    dialog.destination.setText(destination)
    dialog.port.setValue(port)


def test_invalid_values_are_refused_with_the_field_named(qtbot, runner: Runner,
                                                         tmp_path: Path) -> None:
    dialog = _dialog(qtbot, runner, tmp_path / "targets.toml")
    _fill(dialog, "pi 5", "pi@pi5.local")
    assert not dialog.keep()
    assert "'pi 5' is not a usable target name" in dialog.message.text()
    _fill(dialog, "pi5", "-oProxyCommand=x")
    assert not dialog.keep()
    assert "destination" in dialog.message.text()
    assert dialog.targets == {}


def test_save_writes_the_file_the_cli_reads_and_keeps_hidden_fields(
        qtbot, runner: Runner, tmp_path: Path) -> None:
    path = tmp_path / "targets.toml"
    save_targets({"lab": Target("lab", "lab-box", identity_file="~/.ssh/lab",
                                cache_bytes=1024**3)}, str(path))
    dialog = _dialog(qtbot, runner, path)
    assert dialog.name.text() == "lab"
    dialog.accept_new.setChecked(True)
    assert dialog.keep()
    _fill(dialog, "pi5", "pi@pi5.local", port=2222)
    dialog.python.setText("/opt/venv/bin/python")
    with qtbot.waitSignal(dialog.devices_requested):
        dialog.save()
    saved = load_targets(str(path))
    assert saved["pi5"] == Target("pi5", "pi@pi5.local", port=2222,
                                  python="/opt/venv/bin/python")
    assert saved["lab"].identity_file == "~/.ssh/lab" and saved["lab"].cache_bytes == 1024**3
    assert saved["lab"].accept_new_host_key is True
    again = _dialog(qtbot, runner, path)
    assert sorted(again.targets) == ["lab", "pi5"]


def test_check_runs_off_the_gui_thread_and_shows_the_answer(qtbot, runner: Runner,
                                                            tmp_path: Path) -> None:
    threads: list[threading.Thread] = []

    def fake_board(target: Target) -> str:
        threads.append(threading.current_thread())
        if target.name == "down":
            raise ProfilerError("down: cannot connect to 127.0.0.1 port 9 (refused)")
        return f"{target.name}: edge-model-profiler 0.1.0; {target.name}/ov:CPU"

    dialog = _dialog(qtbot, runner, tmp_path / "targets.toml", fake_board)
    _fill(dialog, "pi5", "pi@pi5.local")
    with qtbot.waitSignal(dialog.checked) as answer:
        dialog.check()
    assert answer.args == ["pi5: edge-model-profiler 0.1.0; pi5/ov:CPU"]
    assert threads[0] is not threading.main_thread()
    _fill(dialog, "down", "nobody@nowhere")
    with qtbot.waitSignal(dialog.checked):
        dialog.check()
    assert "cannot connect" in dialog.message.text()
    assert dialog.check_button.isEnabled()


def test_target_devices_replace_earlier_ones_and_local_ones_stay() -> None:
    local = DeviceInfo("ov:CPU", "openvino", "CPU")
    old = DeviceInfo("pi5/ov:CPU", "openvino", "CPU")
    new = [DeviceInfo("pi5/ort:cpu", "onnxruntime", "cpu")]
    assert [d.id for d in merge_devices([local, old], new)] == ["ov:CPU", "pi5/ort:cpu"]


def test_settings_menu_opens_targets_and_their_devices_reach_the_profile_panel(
        qtbot, make_window, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ui.targets_dialog

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    board = [DeviceInfo("pi5/ov:CPU", "openvino", "CPU", name="Cortex-A76")]
    monkeypatch.setattr(ui.targets_dialog, "target_devices",
                        lambda _p, _c, _s: (board, []))
    window = make_window()
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Settings")
    next(a for a in menu.actions() if a.text() == "&Targets…").trigger()
    dialog = window.targets_dialog
    assert dialog.isVisible() and dialog.targets == {}
    dialog.refresh_button.click()
    panel = window.profile_panel

    def listed() -> list[str]:
        return [panel.device_list.item(i).data(256) for i in range(panel.device_list.count())]

    qtbot.waitUntil(lambda: "pi5/ov:CPU" in listed() and "ort:cpu" in listed(),
                    timeout=60_000)  # the targets' devices beside this machine's
    panel.set_devices([d for d in panel.devices if "/" not in d.id])  # a later discovery
    assert "pi5/ov:CPU" in listed()
    dialog.reject()
