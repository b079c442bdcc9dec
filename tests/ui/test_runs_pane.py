"""The Runs pane: runs accumulate (a quantize batch adds beside earlier profile runs, the
reference measured again is noted), check boxes show/hide runs in the charts, Compare needs
exactly two measured rows and opens them in a CompareView, Cancel reads cancelled/skipped."""

from __future__ import annotations

import datetime as _dt
import os

from PySide6.QtCore import Qt

from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, Run, RunError, RuntimeLayer
from tests.helpers import latency
from ui.runs_data import CANCELLED, OK, SKIPPED, RunList
from ui.runs_pane import DEVICE, P50, STATUS, TIME, RunsPane

UTC = _dt.timezone.utc
MODEL = ModelInfo(path="/m/net.onnx", name="net.onnx", format="onnx", sha256="ab" * 32)


def _run(device: str, p50_ms: float, finished: str, variant: str = "fp32") -> Run:
    layers = LayerProfile([RuntimeLayer("conv", "Conv", time_ms=p50_ms * 0.7,
                                        model_nodes=["conv"]),
                           RuntimeLayer("fc", "Gemm", time_ms=p50_ms * 0.3, model_nodes=["fc"])])
    return Run(device, variant=variant, latency=latency([p50_ms] * 5), finished=finished,
               layer_profile=layers)


def session_runs() -> RunList:
    """A profile on three devices, then a quantize batch that measured FP32 on ov:CPU again,
    int8-static on ort:cpu, and skipped int8-static on ov:CPU."""
    runs = RunList(today=_dt.date(2025, 3, 1), tz=UTC)
    runs.add_report(Report(model=MODEL, runs=[
        _run("ov:CPU", 73.1, "2025-03-01T23:30:00Z"), _run("ov:AUTO", 70.2, "2025-03-01T23:31:00Z"),
        _run("ort:cpu", 88.4, "2025-03-01T23:32:00Z")]), "profile")
    batch = runs.start_batch([("ov:CPU", "fp32"), ("ov:CPU", "int8-static"),
                              ("ort:cpu", "int8-static")], "quantize")
    runs.finish_run(batch, _run("ov:CPU", 96.0, "2025-03-01T23:41:00Z"), MODEL)
    runs.finish_run(batch, _run("ort:cpu", 41.5, "2025-03-01T23:43:00Z", "int8-static"), MODEL)
    runs.end_batch(batch, {("ov:CPU", "int8-static"): "ONNX variants are measured on ONNX "
                           "Runtime devices only; measuring them on OpenVINO devices too is off"})
    return runs


def make_pane(qtbot, runs: RunList) -> RunsPane:
    pane = RunsPane()
    qtbot.addWidget(pane)
    pane.set_runs(runs)
    # a fixed minimum first: offscreen platforms warn when a shown window's limits change
    pane.setMinimumSize(pane.minimumSizeHint())
    pane.resize(560, 320)
    pane.show()
    qtbot.waitExposed(pane)
    return pane


def cell(pane: RunsPane, row: int, column: int) -> str:
    return str(pane.model.index(row, column).data())


def status(pane: RunsPane, row: int) -> str:
    """The status word (the cell goes on with the reason after a colon)."""
    return cell(pane, row, STATUS).split(":")[0]


def test_runs_accumulate_and_the_reference_remeasure_is_noted(qtbot, tmp_path) -> None:
    pane = make_pane(qtbot, session_runs())
    model = pane.model
    assert model.rowCount() == 6
    assert [cell(pane, row, DEVICE) for row in range(6)] == [
        "ov:CPU", "ov:AUTO", "ort:cpu", "ov:CPU", "ov:CPU", "ort:cpu"]
    assert cell(pane, 3, TIME) == "#2, 23:41"
    assert [status(pane, row) for row in range(6)] == [OK, OK, OK, OK, SKIPPED, OK]
    assert cell(pane, 0, P50) == "73.100" and cell(pane, 3, P50) == "96.000"
    assert pane.note.text().startswith("FP32 on ov:CPU measured again: 73.1 -> 96.0 ms")
    assert cell(pane, 4, STATUS).startswith("skipped: ONNX variants are measured on ONNX Runtime")
    assert "OpenVINO devices too is off" in str(model.index(4, STATUS).data(
        Qt.ItemDataRole.ToolTipRole))
    pane.grab().save(os.path.join(str(tmp_path), "runs_pane.png"))


def test_check_boxes_show_and_hide_runs(qtbot) -> None:
    runs = session_runs()
    pane = make_pane(qtbot, runs)
    index = pane.model.index(1, DEVICE)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    skipped = pane.model.index(4, DEVICE)
    assert not pane.model.flags(skipped) & Qt.ItemFlag.ItemIsUserCheckable
    assert not pane.model.setData(skipped, Qt.CheckState.Checked.value,
                                  Qt.ItemDataRole.CheckStateRole)
    with qtbot.waitSignal(pane.visibility_changed) as blocker:
        pane.model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    shown = blocker.args[0]
    assert runs.entries[1].key not in shown and len(shown) == 4
    assert [run.device for run in runs.visible_runs()] == ["ov:CPU", "ort:cpu", "ov:CPU",
                                                           "ort:cpu"]


def test_compare_needs_two_measured_rows_and_opens_the_view(qtbot) -> None:
    runs = session_runs()
    pane = make_pane(qtbot, runs)
    first, remeasured, skipped = runs.entries[0], runs.entries[3], runs.entries[4]
    pane.select_keys([first.key])
    assert not pane.compare_button.isEnabled()
    pane.select_keys([first.key, skipped.key])
    assert not pane.compare_button.isEnabled()
    pane.select_keys([remeasured.key, first.key])
    assert pane.compare_button.isEnabled()
    with qtbot.waitSignal(pane.compare_requested) as blocker:
        qtbot.mouseClick(pane.compare_button, Qt.MouseButton.LeftButton)
    assert blocker.args == [first.key, remeasured.key]
    view = pane.compare_view()
    assert view is not None and view.comparison is not None
    assert view.comparison.a_name == "ov:CPU fp32, 23:30"
    assert view.comparison.b_name == "ov:CPU fp32 #2, 23:41"
    assert view.comparison.devices[0].delta_ms == 96.0 - 73.1
    assert pane.dialog is not None
    pane.dialog.close()


def test_cancel_shows_cancelled_and_skipped(qtbot) -> None:
    runs = RunList(today=_dt.date(2025, 3, 1), tz=UTC)
    batch = runs.start_batch([("ov:CPU", "fp32"), ("ort:cpu", "fp32"), ("ov:GPU.0", "fp32")],
                             "profile")
    runs.finish_run(batch, _run("ov:CPU", 6.0, "2025-03-01T10:00:00Z"), MODEL)
    runs.mark_running(batch, "ort:cpu", "fp32")
    runs.finish_run(batch, Run("ort:cpu", error=RunError(
        "latency", "cancelled while measuring latency on ort:cpu")), MODEL)
    runs.end_batch(batch, cancelled=True)
    pane = make_pane(qtbot, runs)
    assert [status(pane, row) for row in range(3)] == [OK, CANCELLED, SKIPPED]
    assert cell(pane, 2, STATUS) == "skipped: cancelled before it started"
    assert "failed" not in " ".join(cell(pane, row, STATUS) for row in range(3))
