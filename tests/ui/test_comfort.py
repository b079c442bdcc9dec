"""Settings that persist, themes, shortcuts, the About box, tabs and the welcome page."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence, QPalette
from PySide6.QtWidgets import QApplication

from tests.ui.test_main_window import SQUEEZENET, drop_and_wait
from ui.about import AboutDialog, about_rows
from ui.main_window import MainWindow
from ui.settings import AppSettings
from ui.theme import DARK, LIGHT


def window_colour() -> str:
    return QApplication.instance().palette().color(QPalette.ColorRole.Window).name()


def test_theme_switches_palette_and_charts_and_persists(qtbot, make_window,
                                                       settings: AppSettings) -> None:
    window = make_window()
    assert window_colour() == LIGHT.window
    drop_and_wait(qtbot, window, [SQUEEZENET])
    window.set_theme("dark")
    assert window_colour() == DARK.window
    chart = window.current_view().charts.top_layers
    assert chart.backgroundBrush().color().name() == DARK.base
    assert settings.theme() == "dark"
    checked = [a.data() for a in window.theme_group.actions() if a.isChecked()]
    assert checked == ["dark"]
    window.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert again.theme.name == "dark" and window_colour() == DARK.window
    again.set_theme("light")


def test_window_geometry_is_restored(qtbot, make_window, settings: AppSettings) -> None:
    window = make_window()
    window.resize(760, 540)  # within the offscreen screen, which restoreGeometry clamps to
    window.close()
    again = MainWindow(settings)
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (760, 540)


def test_shortcuts(make_window) -> None:
    window = make_window()
    shortcuts = {action.text(): action.shortcut().toString()
                 for menu in window.menuBar().findChildren(type(window.recent_menu))
                 for action in menu.actions()}
    assert shortcuts["&Open…"] == QKeySequence("Ctrl+O").toString()
    assert shortcuts["&Export…"] == QKeySequence("Ctrl+E").toString()
    assert shortcuts["&Close Tab"] == QKeySequence("Ctrl+W").toString()
    assert shortcuts["&Quit"] == QKeySequence("Ctrl+Q").toString()


def test_close_tab_returns_to_the_welcome_page(qtbot, make_window) -> None:
    window = make_window()
    assert window.stack.currentWidget() is window.welcome
    assert not window.export_action.isEnabled()
    drop_and_wait(qtbot, window, [SQUEEZENET])
    assert window.stack.currentWidget() is window.tabs and window.export_action.isEnabled()
    with qtbot.waitSignal(window.current_report_changed) as changed:
        window.close_current_tab()
    assert changed.args == [None]
    assert window.tabs.count() == 0 and window.stack.currentWidget() is window.welcome
    assert not window.close_action.isEnabled()


def test_welcome_page_lists_recent_files(qtbot, make_window, settings: AppSettings) -> None:
    settings.add_recent_file(str(SQUEEZENET))
    window = make_window()
    assert "light_squeezenet.onnx" in window.welcome.recent.text()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        window.welcome.path_requested.emit(str(SQUEEZENET))
    assert window.tabs.count() == 1


def test_about_box_names_versions_and_cpu(qtbot) -> None:
    rows = dict(about_rows())
    assert rows["Version"] == "0.1.0"
    assert "onnxruntime" in rows and "openvino" in rows and "Qt" in rows
    assert rows["CPU"] and "cores" in rows["CPU"]
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    assert "onnxruntime" in dialog.label.text()
    assert "still being discovered" in dialog.label.text()


def test_about_box_lists_the_discovered_devices(qtbot) -> None:
    from profiler.runtime.devices import DeviceInfo

    gpu = DeviceInfo(id="ov:GPU.0", backend="openvino", device="GPU.0",
                     name="Intel(R) Arc(TM) A770 <GPU>", type="discrete",
                     runtime_version="2026.4.1")
    rows = dict(about_rows([gpu]))
    assert rows["ov:GPU.0"] == "Intel(R) Arc(TM) A770 <GPU> (2026.4.1)"
    dialog = AboutDialog(devices=[gpu])
    qtbot.addWidget(dialog)
    assert "Arc(TM) A770 &lt;GPU&gt;" in dialog.label.text()


def test_panels_dock_and_appear_in_the_view_menu(make_window) -> None:
    from PySide6.QtWidgets import QLabel

    window = make_window()
    dock = window.add_panel("Profile", QLabel("devices"))
    assert dock.objectName() == "panel-profile"
    assert dock.toggleViewAction() in window.view_menu.actions()


def test_status_bar_says_what_happens(qtbot, make_window) -> None:
    window = make_window()
    messages: list[str] = []
    window.statusBar().messageChanged.connect(messages.append)
    drop_and_wait(qtbot, window, [SQUEEZENET])
    assert "Loading light_squeezenet.onnx…" in messages
    assert window.statusBar().currentMessage().startswith("Opened light_squeezenet.onnx")
    assert window.busy.isHidden()
