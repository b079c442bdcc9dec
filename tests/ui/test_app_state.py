"""Panels follow the document in front: Profile and Quantize settings, inputs and results
belong to a document; a run finishing for a document in the background is kept for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.runtime.devices import DeviceInfo
from tests.conftest import REPO_ROOT
from tests.ui.test_profile_panel import FAKE_FACTORY, tiny_model
from ui.inputs_editor import SETTING
from ui.main_window import MainWindow


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "edgeprof-cache"))
    monkeypatch.chdir(REPO_ROOT)  # the fake backend is imported from tests/ by the worker


def open_two(qtbot, make_window, tmp_path: Path) -> tuple[MainWindow, int, int]:
    window = make_window()
    qtbot.waitUntil(lambda: bool(window.profile_panel.devices), timeout=60_000)
    for name in ("first.onnx", "second.onnx"):
        with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
            window.open_paths([str(tiny_model(tmp_path / name))])
    first, second = (window.state.find_source(str(tmp_path / name))
                     for name in ("first.onnx", "second.onnx"))
    assert first is not None and second is not None
    return window, first.id, second.id


def show(window: MainWindow, doc_id: int) -> None:
    view = window.view_of(doc_id)
    assert view is not None
    window.tabs.setCurrentWidget(view)
    assert window.state.current_id == doc_id


def use_fake_device(window: MainWindow) -> None:
    panel = window.profile_panel
    panel.set_devices([DeviceInfo("fake:cpu", "fake", "cpu")])
    panel.backend_factory = FAKE_FACTORY
    panel.check_devices(["fake:cpu"])
    panel.stop_rule.setCurrentText("iterations")
    panel.iterations.setValue(3)


def test_profile_results_belong_to_their_document(qtbot, make_window, tmp_path) -> None:
    window, first, second = open_two(qtbot, make_window, tmp_path)
    panel = window.profile_panel
    show(window, first)
    use_fake_device(window)
    assert panel.run_button.isEnabled(), panel.run_button.toolTip()
    with qtbot.waitSignal(panel.run_finished, timeout=120_000):
        panel.run_button.click()
        show(window, second)  # the run goes on for the first model, in the background
        assert not panel.run_button.isEnabled()
    assert panel.title.text() == "Results for second.onnx"
    assert panel.progress_table.rowCount() == 0 and panel.status_text("fake:cpu") == ""
    assert window.current_view().document.report.runs == []

    show(window, first)
    assert panel.title.text() == "Results for first.onnx"
    assert panel.status_text("fake:cpu").startswith("ok: p50")
    assert [run.device for run in window.current_view().document.report.runs] == ["fake:cpu"]
    assert panel.reason.text().startswith("first.onnx: ")
    assert window.quantize_panel.title.text() == "Results for first.onnx"


def test_settings_and_inputs_are_per_document(qtbot, make_window, tmp_path) -> None:
    window, first, second = open_two(qtbot, make_window, tmp_path)
    panel, editor = window.profile_panel, window.profile_panel.inputs
    show(window, first)
    editor.set_row("x", source="value", setting="0.5")
    panel.iterations.setValue(7)
    panel.stop_rule.setCurrentText("iterations")
    window.quantize_panel.samples.setValue(3)

    show(window, second)
    assert editor.source(editor.row_of("x")) == "auto"
    assert panel.stop_rule.currentText() == "adaptive"
    assert window.quantize_panel.samples.value() == 20

    show(window, first)
    row = editor.row_of("x")
    assert editor.source(row) == "value" and editor.table.item(row, SETTING).text() == "0.5"
    assert panel.iterations.value() == 7 and panel.stop_rule.currentText() == "iterations"
    assert window.quantize_panel.samples.value() == 3
    assert window.state.get(first).inputs.values == {"x": 0.5}
    assert window.state.get(second).inputs.values == {}


def test_selected_layers_are_per_document(qtbot, make_window, tmp_path) -> None:
    window, first, second = open_two(qtbot, make_window, tmp_path)
    show(window, first)
    view = window.current_view()
    view.table.select_layer(view.document.data.index_by_name["relu1"])
    assert window.quantize_panel.selected_layer_names() == ["relu1"]
    show(window, second)
    assert window.quantize_panel.selected_layer_names() == []
    show(window, first)
    assert window.quantize_panel.selected_layer_names() == ["relu1"]


def test_closing_a_tab_drops_its_document(qtbot, make_window, tmp_path) -> None:
    window, first, second = open_two(qtbot, make_window, tmp_path)
    show(window, first)
    window.close_current_tab()
    assert window.state.get(first) is None and window.state.current_id == second
    assert window.profile_panel.title.text() == "Results for second.onnx"
