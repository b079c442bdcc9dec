"""The document as a workspace: runs accumulate in the Runs pane (a second profile and a later
quantize keep the earlier runs), Cancel reads cancelled/skipped, the warnings strip leads to
the control that addresses a warning, hidden runs leave the charts, Compare opens two runs,
progress rows say what is left."""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import pytest

from profiler.bench.wire import ProgressEvent
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.runtime.devices import DeviceInfo
from tests.conftest import REPO_ROOT
from tests.ui.factory import make_runs
from tests.ui.test_profile_panel import FAKE_FACTORY, open_model, tiny_model
from ui.main_window import MainWindow
from ui.runs_data import CANCELLED, OK, SKIPPED
from ui.runs_pane import DEVICE
from ui.state import DocumentState


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "edgeprof-cache"))
    monkeypatch.chdir(REPO_ROOT)  # the fake backend is imported from tests/ by the worker


def fake_devices(window: MainWindow, *names: str) -> None:
    panel = window.profile_panel
    panel.set_devices([DeviceInfo(f"fake:{name}", "fake", name) for name in names])
    panel.backend_factory = FAKE_FACTORY
    panel.check_devices([f"fake:{name}" for name in names])
    panel.stop_rule.setCurrentText("iterations")
    panel.iterations.setValue(3)


def profile(qtbot, window: MainWindow) -> None:
    panel = window.profile_panel
    assert panel.run_button.isEnabled(), panel.run_button.toolTip()
    with qtbot.waitSignal(panel.run_finished, timeout=120_000):
        panel.run_button.click()


def current(window: MainWindow) -> DocumentState:
    doc = window.state.current()
    assert doc is not None
    return doc


def statuses(doc: DocumentState) -> list[tuple[str, str]]:
    return [(e.key.device, e.status) for e in doc.run_list.entries]


def with_runs(qtbot, window: MainWindow, runs: list[Run]) -> DocumentState:
    """Hand-made runs joined to the current document (as reopened history runs are)."""
    doc = current(window)
    window.state.add_runs(doc.id, Report(model=doc.report.model, runs=runs), source="history")
    qtbot.waitUntil(lambda: len(window.current_view().document.data.runs)
                    == len([r for r in runs if r.error is None]), timeout=30_000)
    return doc


def test_profiling_twice_keeps_both_runs_and_says_the_reference_was_measured_again(
        qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    fake_devices(window, "cpu")
    profile(qtbot, window)
    profile(qtbot, window)
    doc = current(window)
    assert statuses(doc) == [("fake:cpu", OK), ("fake:cpu", OK)]
    pane = window.workspace.pane(doc.id)
    assert pane is not None and pane.model.rowCount() == 2
    assert "fake:cpu fp32 #2" in doc.run_list.label(doc.run_list.entries[1])
    assert "measured again" in pane.note.text() and pane.note.isVisibleTo(pane)
    strip = window.workspace.strip(doc.id)
    assert strip is not None and any("measured again" in w.text for w in strip.warnings)
    assert len(window.current_view().document.report.runs) == 2
    labels = [run.label for run in window.current_view().document.data.profiled_runs]
    assert labels == ["fake:cpu/fp32", "fake:cpu/fp32 #2"]  # two series, two names


def test_cancel_mid_batch_reads_cancelled_and_skipped(qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    panel = window.profile_panel
    fake_devices(window, "hang-compile", "cpu")
    with qtbot.waitSignal(panel.job.progress, timeout=60_000,
                          check_params_cb=lambda e: getattr(e, "stage", None) == "compile"):
        panel.run_button.click()
    assert statuses(current(window)) == [("fake:hang-compile", "running"),
                                         ("fake:cpu", "waiting")]
    with qtbot.waitSignal(panel.run_finished, timeout=30_000):
        panel.cancel_action.trigger()
    assert statuses(current(window)) == [("fake:hang-compile", CANCELLED),
                                         ("fake:cpu", SKIPPED)]
    assert panel.status_text("fake:cpu").startswith("skipped")
    assert panel.status_text("fake:hang-compile").startswith("cancelled")
    assert "1 cancelled, 1 skipped" in panel.reason.text()
    assert "failed" not in panel.reason.text()


def test_a_quantize_after_a_profile_keeps_the_profile_runs(qtbot, make_window,
                                                           tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    real = list(window.profile_panel.devices)
    fake_devices(window, "cpu")
    profile(qtbot, window)
    window.profile_panel.set_devices(real)  # the quantize panel is offered them too
    panel = window.quantize_panel
    panel.check(["int8-dynamic"], ["ort:cpu"])
    panel.samples.setValue(4)
    assert panel.run_button.isEnabled(), panel.reason.text()
    with qtbot.waitSignal(panel.run_finished, timeout=300_000):
        panel.run_button.click()
    doc = current(window)
    pairs = [(e.key.device, e.key.variant, e.status) for e in doc.run_list.entries]
    assert pairs[0] == ("fake:cpu", "fp32", OK)
    assert ("ort:cpu", "fp32", OK) in pairs and ("ort:cpu", "int8-dynamic", OK) in pairs
    devices = [run.device for run in window.current_view().document.report.runs]
    assert devices[0] == "fake:cpu" and "ort:cpu" in devices
    assert "runs 2 ok" in panel.reason.text()


def test_the_noisy_run_warning_leads_to_the_cpu_field(qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    doc = current(window)
    run = make_runs(doc.report.analysis)[0]
    run.warnings = ["noisy run: the median's CI is ±16 % (CV 24 %); pin the run with --cpus"]
    with_runs(qtbot, window, [run])
    strip = window.workspace.strip(doc.id)
    assert strip is not None and strip.isVisibleTo(window)
    row = next(r for r in strip.row_widgets() if r.warning.kind == "noisy_run")
    assert row.button is not None and row.button.text() == "Pin CPUs"
    assert "Profile panel: CPUs" in row.warning.text  # app words, not a flag
    window.activateWindow()
    row.button.click()
    qtbot.waitUntil(lambda: window.profile_panel.cpus.hasFocus(), timeout=5_000)


def test_hiding_a_run_removes_its_chart_series(qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    doc = current(window)
    first = make_runs(doc.report.analysis)[0]
    second = replace(copy.deepcopy(first), finished="2030-01-01T00:00:00+00:00")
    first.finished = "2029-01-01T00:00:00+00:00"
    with_runs(qtbot, window, [first, second])
    charts = window.current_view().charts
    assert [bar.label for bar in charts.devices.plot.bars] == ["ov:CPU/fp32", "ov:CPU/fp32 #2"]
    pane = window.workspace.pane(doc.id)
    assert pane is not None
    from PySide6.QtCore import Qt

    pane.model.setData(pane.model.index(0, DEVICE), Qt.CheckState.Unchecked,
                       Qt.ItemDataRole.CheckStateRole)
    qtbot.waitUntil(lambda: [bar.label for bar in window.current_view().charts.devices.plot.bars]
                    == ["ov:CPU/fp32 #2"], timeout=30_000)
    assert len(window.current_view().document.report.runs) == 2  # hidden, not dropped


def test_two_rows_compare_in_the_compare_view(qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    doc = current(window)
    with_runs(qtbot, window, make_runs(doc.report.analysis)[:2])
    pane = window.workspace.pane(doc.id)
    assert pane is not None
    keys = [e.key for e in doc.run_list.entries]
    pane.select_keys(keys)
    assert pane.compare_button.isEnabled()
    with qtbot.waitSignal(pane.compare_requested) as blocker:
        pane.compare_button.click()
    assert list(blocker.args) == keys
    assert pane.compare_view() is not None and pane.dialog is not None
    title = pane.dialog.windowTitle()
    assert "ov:CPU fp32" in title and "ort:cpu fp32" in title
    pane.dialog.close()


def test_progress_rows_show_the_ci_and_time_left(qtbot, make_window, tmp_path) -> None:
    window = open_model(qtbot, make_window, tiny_model(tmp_path / "tiny.onnx"))
    panel, doc = window.profile_panel, current(window)
    panel.job_id = doc.id
    panel.batch = window.state.start_batch(doc.id, [("ov:CPU", "fp32")], "profile")
    panel._progress(ProgressEvent("latency", 0.4, eta_s=12.0, ci_rel=0.018, ci_target_rel=0.01,
                                  samples=80, device="ov:CPU", overall=0.55))
    text = panel.status_text("ov:CPU")
    assert "~12 s left" in text and "CI ±1.8 %" in text and "target ±1 %" in text
    assert panel.progress_table.cellWidget(0, 1).value() == 55
    assert statuses(doc) == [("ov:CPU", "running")]
    panel.job_id = None
