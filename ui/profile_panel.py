"""The profile dock: pick devices and settings, run the current tab's model on each device
(every device in its own worker process, driven from a QThread), watch per-device progress,
cancel, and see the report grow as each device finishes. The finished report goes to the
history store, as with `edgeprof-cli profile`.
"""

from __future__ import annotations

import os
import threading
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from profiler.model.input_settings import InputSettings
from ui.inputs_editor import InputsEditor
from ui.jobs import BackgroundJob, Sink

if TYPE_CHECKING:
    from profiler.bench.profile import ProfileOptions
    from profiler.report.model import Report
    from profiler.runtime.devices import DeviceInfo
    from ui.main_window import MainWindow

STAGES = ("worker", "start", "load", "compile", "inputs", "first_inference", "warmup",
          "latency", "throughput", "layers")
STOP_RULES = ("adaptive", "iterations", "duration")
PRECISIONS = ("default", "f32", "bf16", "f16")
_DISCOVERED: list[DeviceInfo] | None = None
"""Devices found by the first discovery: the runtimes do not change while the app runs."""


# Plain functions run in the worker thread (no Qt) ------------------------------------------

def discover_devices(_progress: Sink, _cancel: threading.Event, _partial: Sink) -> list[Any]:
    global _DISCOVERED
    if _DISCOVERED is None:
        from profiler.runtime.devices import list_devices

        _DISCOVERED = list_devices()
    return _DISCOVERED


def save_report(report: Report) -> str:
    """Save the runs to the history; the status text says what happened."""
    from profiler.errors import ProfilerError
    from profiler.history.store import HistoryStore

    try:
        ids = HistoryStore().save_report(report)
    except ProfilerError as error:
        return f"Runs not saved to the history: {error}"
    return f"Saved {len(ids)} run(s) to the history" if ids else "Nothing to save"


def profile_devices(model_path: str, devices: list[str], options: ProfileOptions,
                    progress: Sink, cancel: threading.Event, partial: Sink,
                    backend_factory: str = "",
                    shapes: dict[str, tuple[int, ...]] | None = None) -> tuple[Report, str]:
    """Analysis, then one run per device; ``partial`` gets the report so far after each
    device. Returns the report and the history status (not saved when cancelled)."""
    from profiler.api import analyze_model
    from profiler.bench.profile import (
        build_jobs,
        check_options,
        concrete_shapes,
        input_rules,
        input_settings,
    )
    from profiler.bench.supervisor import run_job

    check_options(options)
    report = analyze_model(model_path, inputs=input_settings(options, shapes))
    assert report.model is not None
    jobs = build_jobs(model_path, devices, concrete_shapes(report.model.inputs), options,
                      report.model.file_bytes, input_rules(report.model.inputs))
    for job in jobs:
        if cancel.is_set():
            break
        job.backend_factory = backend_factory
        report.runs.append(run_job(job, progress, cancel, options.limits))
        partial(replace(report, runs=list(report.runs)))  # a copy: this thread goes on
    report.errors += [f"{run.device}: {run.error.message}" for run in report.runs if run.error]
    return report, "Cancelled; runs not saved" if cancel.is_set() else save_report(report)


def stage_fraction(event: dict[str, Any]) -> float:
    """Overall share done for one device, from its stage and the stage's own fraction."""
    stage = str(event.get("stage", ""))
    index = STAGES.index(stage) if stage in STAGES else 0
    inner = float(event.get("fraction", 0.0)) if event.get("event") == "progress" else 0.0
    return min((index + max(0.0, min(inner, 1.0))) / len(STAGES), 1.0)


# The dock ---------------------------------------------------------------------------------

class ProfilePanel(QWidget):
    devices_found = Signal(object)
    """list[DeviceInfo], once discovery is done (the quantize panel offers them too)."""
    run_finished = Signal(object)

    def __init__(self, window: MainWindow) -> None:
        super().__init__()
        self.window_ = window
        self.settings = window.settings.store
        self.devices: list[DeviceInfo] = []
        self.backend_factory = ""
        """'module:callable' for the workers' backends (tests inject fakes); '' = real."""
        self.row_of: dict[str, int] = {}
        self.last_report: Report | None = None
        self.discovery = BackgroundJob(self)
        self.job = BackgroundJob(self)
        self._widgets()
        self._layout()
        self._connect()
        self._restore()
        self._actions(window)
        self.discovery.start(discover_devices)
        self._update_run_state()

    def _widgets(self) -> None:
        self.device_list = QListWidget()
        self.device_list.setMaximumHeight(110)
        self.discovering = QLabel("discovering devices…")
        self.discovering.setObjectName("muted")
        self.mode = QComboBox()
        self.mode.addItems(["latency", "throughput"])
        self.stop_rule = QComboBox()
        self.stop_rule.addItems(STOP_RULES)
        self.iterations = QSpinBox()
        self.iterations.setRange(1, 1_000_000)
        self.iterations.setValue(100)
        self.duration = QSpinBox()
        self.duration.setRange(1, 3600)
        self.duration.setValue(10)
        self.duration.setSuffix(" s")
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("auto")
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.inputs = InputsEditor()
        self.layers = QCheckBox("Per-layer pass")
        self.layers.setChecked(True)
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setObjectName("muted")
        self.progress_table = QTableWidget(0, 3)
        self.progress_table.setHorizontalHeaderLabels(["Device", "Progress", "Status"])
        self.progress_table.verticalHeader().hide()
        header = self.progress_table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)

    def _layout(self) -> None:
        form = QFormLayout()
        form.addRow("Mode", self.mode)
        stop = QHBoxLayout()
        for widget in (self.stop_rule, self.iterations, self.duration):
            stop.addWidget(widget)
        form.addRow("Stop", stop)
        form.addRow("Threads", self.threads)
        form.addRow("Precision", self.precision)
        form.addRow("", self.layers)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Devices"))
        layout.addWidget(self.discovering)
        layout.addWidget(self.device_list)
        layout.addWidget(self.inputs)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.reason)
        layout.addWidget(self.progress_table, 1)

    def _connect(self) -> None:
        self.discovery.finished.connect(self.set_devices)
        self.discovery.failed.connect(self._discovery_failed)
        self.job.progress.connect(self._progress)
        self.job.partial.connect(self._partial)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.job.running_changed.connect(lambda _running: self._update_run_state())
        self.run_button.clicked.connect(self.run)
        self.cancel_button.clicked.connect(self.cancel)
        self.stop_rule.currentTextChanged.connect(self._stop_rule_changed)
        self.window_.current_report_changed.connect(lambda _r: self._update_run_state())
        self.window_.current_report_changed.connect(self._show_inputs)
        self.inputs.applied.connect(self.window_.show_report)
        self.device_list.itemChanged.connect(lambda _i: self._update_run_state())

    def _actions(self, window: MainWindow) -> None:
        """Window-wide shortcuts: Ctrl+R runs, Esc cancels."""
        self.run_action = QAction("Run profile", window)
        self.run_action.setShortcut(QKeySequence("Ctrl+R"))
        self.run_action.triggered.connect(self.run)
        self.cancel_action = QAction("Cancel profile", window)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.triggered.connect(self.cancel)
        window.addActions([self.run_action, self.cancel_action])

    # Settings
    def _restore(self) -> None:
        self.mode.setCurrentText(str(self.settings.value("profile/mode", "latency")))
        self.stop_rule.setCurrentText(str(self.settings.value("profile/stop", "adaptive")))
        self.iterations.setValue(int(str(self.settings.value("profile/iterations", 100))))
        self._stop_rule_changed(self.stop_rule.currentText())

    def _save_settings(self) -> None:
        self.settings.setValue("profile/devices", self.checked_devices())
        self.settings.setValue("profile/mode", self.mode.currentText())
        self.settings.setValue("profile/stop", self.stop_rule.currentText())
        self.settings.setValue("profile/iterations", self.iterations.value())

    def _saved_devices(self) -> list[str]:
        value = self.settings.value("profile/devices", [])
        items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [str(item) for item in items]

    def _stop_rule_changed(self, rule: str) -> None:
        self.iterations.setVisible(rule == "iterations")
        self.duration.setVisible(rule == "duration")

    # Devices
    def set_devices(self, devices: list[DeviceInfo]) -> None:
        self.devices = list(devices)
        saved = self._saved_devices() or ["ov:CPU"]
        self.device_list.blockSignals(True)
        self.device_list.clear()
        for device in self.devices:
            item = QListWidgetItem(f"{device.id}  ({device.name})" if device.name else device.id)
            item.setData(Qt.ItemDataRole.UserRole, device.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if device.id in saved
                               else Qt.CheckState.Unchecked)
            self.device_list.addItem(item)
        self.device_list.blockSignals(False)
        self.discovering.hide()
        self.devices_found.emit(self.devices)
        self._update_run_state()

    def _discovery_failed(self, message: str) -> None:
        self.discovering.setText(f"Device discovery failed: {message}")

    def checked_devices(self) -> list[str]:
        """Checked devices that can run the current model (the others are greyed out)."""
        items = (self.device_list.item(i) for i in range(self.device_list.count()))
        return [str(item.data(Qt.ItemDataRole.UserRole)) for item in items
                if item.checkState() == Qt.CheckState.Checked
                and item.flags() & Qt.ItemFlag.ItemIsEnabled]

    def _mark_devices_for(self, path: str) -> None:
        """Grey out the devices whose runtime cannot read this model's format, saying why."""
        from profiler.runtime.devices import devices_for_format, model_format

        refused = devices_for_format(self.devices, model_format(path))[1] if path else {}
        self.device_list.blockSignals(True)
        for index in range(self.device_list.count()):
            item = self.device_list.item(index)
            reason = refused.get(str(item.data(Qt.ItemDataRole.UserRole)), "")
            enabled = item.flags() | Qt.ItemFlag.ItemIsEnabled
            item.setFlags(enabled & ~Qt.ItemFlag.ItemIsEnabled if reason else enabled)
            item.setToolTip(reason)
        self.device_list.blockSignals(False)

    def check_devices(self, ids: list[str]) -> None:
        for index in range(self.device_list.count()):
            item = self.device_list.item(index)
            checked = item.data(Qt.ItemDataRole.UserRole) in ids
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)

    # Running
    def model_path(self) -> tuple[str, str]:
        """The current tab's model file, or '' and why it cannot be profiled."""
        view = self.window_.current_view()
        if view is None:
            return "", "Open a model to profile it."
        model = view.document.report.model
        path = view.document.source_path if not view.document.read_only else (
            model.path if model else "")
        if not path or not os.path.isfile(path):
            return "", ("This saved report's model file is not on disk "
                        f"({path or 'no path'}); open the model to profile it.")
        return path, ""

    def _show_inputs(self, report: Report | None) -> None:
        """The editor follows the current tab's model (its inputs as analysed)."""
        path, _why = self.model_path()
        self.inputs.set_report(report, path)

    def _update_run_state(self) -> None:
        running = self.job.is_running()
        path, why = self.model_path()
        self._mark_devices_for(path)
        if not why and not self.checked_devices():
            why = "Check at least one device." if self.devices else "Waiting for devices…"
        self.run_button.setEnabled(not running and not why)
        self.run_action.setEnabled(not running and not why)
        self.run_button.setToolTip(why or f"Profile {os.path.basename(path)} (Ctrl+R)")
        self.cancel_button.setEnabled(running)
        if not running:
            self.reason.setText(why)

    def options(self) -> ProfileOptions:
        from profiler.bench.profile import ProfileOptions
        from profiler.bench.protocol import StopRule

        inputs = self.inputs.checked_settings() or InputSettings()
        rule = self.stop_rule.currentText()
        return ProfileOptions(
            mode=self.mode.currentText(), threads=self.threads.value() or None,
            precision=None if self.precision.currentText() == "default"
            else self.precision.currentText(),
            layers=self.layers.isChecked(), input_values=dict(inputs.values),
            input_ranges=dict(inputs.ranges),
            stop=StopRule(iterations=self.iterations.value() if rule == "iterations" else None,
                          duration_s=float(self.duration.value()) if rule == "duration"
                          else None))

    def run(self) -> None:
        path, why = self.model_path()
        devices = self.checked_devices()
        if self.job.is_running() or why or not devices:
            return
        self._save_settings()
        self._reset_rows(devices)
        inputs = self.inputs.checked_settings()
        if inputs is None:
            self.reason.setText("Fix the inputs first (see Inputs).")
            return
        options, factory = self.options(), self.backend_factory
        self.reason.setText(f"Profiling {os.path.basename(path)}…")
        self.job.start(lambda progress, cancel, partial: profile_devices(
            path, devices, options, progress, cancel, partial, factory, inputs.shapes))

    def cancel(self) -> None:
        if self.job.is_running():
            self.job.cancel()
            self.reason.setText("Cancelling…")

    def _reset_rows(self, devices: list[str]) -> None:
        self.row_of = {device: row for row, device in enumerate(devices)}
        self.progress_table.setRowCount(len(devices))
        for row, device in enumerate(devices):
            self.progress_table.setItem(row, 0, QTableWidgetItem(device))
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setMaximumHeight(16)
            self.progress_table.setCellWidget(row, 1, bar)
            self.progress_table.setItem(row, 2, QTableWidgetItem("waiting"))
        self.progress_table.resizeColumnToContents(0)

    def _set_row(self, device: str, percent: int | None, status: str) -> None:
        row = self.row_of.get(device)
        if row is None:
            return
        bar = self.progress_table.cellWidget(row, 1)
        if isinstance(bar, QProgressBar) and percent is not None:
            bar.setValue(percent)
        item = self.progress_table.item(row, 2)
        if item is not None:
            item.setText(status)
            item.setToolTip(status)

    def status_text(self, device: str) -> str:
        row = self.row_of.get(device)
        item = self.progress_table.item(row, 2) if row is not None else None
        return item.text() if item is not None else ""

    def _progress(self, event: dict[str, Any]) -> None:
        from profiler.bench.supervisor import stage_verb

        self._set_row(str(event.get("device", "")), round(100 * stage_fraction(event)),
                      stage_verb(str(event.get("stage", ""))))

    def _partial(self, report: Report) -> None:
        run = report.runs[-1]
        if run.error is not None:
            self._set_row(run.device, None, f"error: {run.error.message}")
        else:
            p50 = run.latency.p50 if run.latency and run.latency.count else None
            self._set_row(run.device, 100, f"done: p50 {p50:.3f} ms" if p50 is not None
                          else "done")
        self.last_report = report
        self.window_.show_report(report)

    def _finished(self, result: tuple[Report, str]) -> None:
        report, saved = result
        self.last_report = report
        self.reason.setText(saved)
        self.window_.statusBar().showMessage(saved, 8000)
        self.run_finished.emit(report)
        self._update_run_state()

    def _failed(self, message: str) -> None:
        self.reason.setText(f"Profiling failed: {message}")
        self.window_.banner.add_error(f"Profiling failed: {message}")
        self.run_finished.emit(None)
        self._update_run_state()

    def shutdown(self) -> None:
        self.job.shutdown()
        self.discovery.shutdown()
        self.inputs.shutdown()
