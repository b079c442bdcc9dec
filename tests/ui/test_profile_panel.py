"""The profile dock runs real devices off the GUI thread, shows each finished device, cancels a
slow run quickly without leaving a child, and keeps going when one device's worker crashes."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.runtime.devices import DeviceInfo
from tests.conftest import REPO_ROOT
from tests.helpers import leftover_children
from ui.main_window import MainWindow

FAKE_FACTORY = "tests.core.test_protocol:fake_backend"


def tiny_model(path: Path) -> Path:
    """Conv 3->4 (3x3, pad 1) + Relu on 1x3x16x16."""
    weight = numpy_helper.from_array(
        np.random.RandomState(0).randn(4, 3, 3, 3).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y"], name="relu1")]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 16, 16])], [weight])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "edgeprof-cache"))
    monkeypatch.chdir(REPO_ROOT)  # the fake backend is imported from tests/ by the worker


def open_model(qtbot, make_window, path: Path) -> MainWindow:
    window = make_window()
    panel = window.profile_panel
    qtbot.waitUntil(lambda: bool(panel.devices), timeout=60_000)
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        window.open_paths([str(path)])
    return window


def run_and_wait(qtbot, window: MainWindow) -> None:
    panel = window.profile_panel
    assert panel.run_button.isEnabled(), panel.run_button.toolTip()
    with qtbot.waitSignal(panel.run_finished, timeout=120_000):
        panel.run_button.click()


def test_profiles_two_real_devices_and_saves_history(qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    panel = window.profile_panel
    view = window.current_view()
    assert view is not None
    columns_before = view.table.model.columnCount()
    ids = [d.id for d in panel.devices]
    assert "ov:CPU" in ids and "ort:cpu" in ids
    panel.check_devices(["ov:CPU", "ort:cpu"])
    panel.stop_rule.setCurrentText("iterations")
    panel.iterations.setValue(5)
    run_and_wait(qtbot, window)
    report = window.current_view().document.report
    assert [run.device for run in report.runs] == ["ov:CPU", "ort:cpu"]
    assert all(run.error is None and run.latency.count == 5 for run in report.runs)
    assert window.current_view().table.model.columnCount() > columns_before
    assert panel.status_text("ort:cpu").startswith("ok: p50")
    assert "Saved 2 run(s) to the history" in window.statusBar().currentMessage()
    from profiler.history.store import HistoryStore

    assert [e.device for e in HistoryStore().list_runs()] == ["ort:cpu", "ov:CPU"]
    assert window.settings.store.value("profile/iterations") in (5, "5")


def test_read_only_report_without_model_cannot_run(qtbot, make_window, tmp_path) -> None:
    from profiler.report.exporters import write_report
    from tests.ui.factory import synthetic_report

    saved = tmp_path / "saved.json"
    write_report(synthetic_report(5), str(saved))
    window = open_model(qtbot, make_window, saved)
    panel = window.profile_panel
    assert not panel.run_button.isEnabled()
    assert "not on disk" in panel.run_button.toolTip()


def test_cancel_stops_a_slow_run_quickly(qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    panel = window.profile_panel
    panel.set_devices([DeviceInfo("fake:hang-compile", "fake", "hang-compile")])
    panel.backend_factory = FAKE_FACTORY
    panel.check_devices(["fake:hang-compile"])
    with qtbot.waitSignal(panel.job.progress, timeout=60_000,
                          check_params_cb=lambda e: getattr(e, "stage", None) == "compile"):
        panel.run_button.click()
    cancelled_at = time.monotonic()
    with qtbot.waitSignal(panel.run_finished, timeout=30_000):
        panel.cancel_action.trigger()
    assert time.monotonic() - cancelled_at < 10.0  # generous: the supervisor aims under 1 s
    run = panel.last_report.runs[0]
    assert run.error is not None and run.error.message.startswith("cancelled while compiling")
    assert panel.status_text("fake:hang-compile").startswith("cancelled: cancelled while")
    assert leftover_children() == []


def test_a_crashing_device_shows_its_error_and_the_other_finishes(qtbot, make_window,
                                                                  tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    panel = window.profile_panel
    panel.set_devices([DeviceInfo("fake:crash-compile", "fake", "crash-compile"),
                       DeviceInfo("fake:cpu", "fake", "cpu")])
    panel.backend_factory = FAKE_FACTORY
    panel.check_devices(["fake:crash-compile", "fake:cpu"])
    panel.stop_rule.setCurrentText("iterations")
    panel.iterations.setValue(5)
    run_and_wait(qtbot, window)
    crashed, good = window.current_view().document.report.runs
    assert crashed.error is not None and "crashed" in crashed.error.message
    assert "crashed" in panel.status_text("fake:crash-compile")
    assert good.error is None and good.latency is not None and good.latency.count == 5
    assert panel.status_text("fake:cpu").startswith("ok: p50")


def test_devices_that_cannot_read_the_model_are_greyed_out_with_the_reason(
        qtbot, make_window, tmp_path) -> None:
    import openvino as ov
    import openvino.opset13 as ops
    from PySide6.QtCore import Qt

    x = ops.parameter([1, 8], ov.Type.f32, name="x")
    ir = ov.Model([ops.result(ops.relu(x), name="y")], [x], "m")
    ov.save_model(ir, str(tmp_path / "m.xml"))
    window = open_model(qtbot, make_window, tmp_path / "m.xml")
    panel = window.profile_panel
    panel.check_devices(["ov:CPU", "ort:cpu"])
    items = {panel.device_list.item(i).data(Qt.ItemDataRole.UserRole): panel.device_list.item(i)
             for i in range(panel.device_list.count())}
    assert not items["ort:cpu"].flags() & Qt.ItemFlag.ItemIsEnabled
    assert "ONNX Runtime reads only .onnx files" in items["ort:cpu"].toolTip()
    assert items["ov:CPU"].flags() & Qt.ItemFlag.ItemIsEnabled
    assert panel.checked_devices() == ["ov:CPU"]
