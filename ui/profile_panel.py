"""The profile dock: pick devices and settings, run the current document's model on each device
(``profiler.api.profile``: every device in its own worker process, driven from the app's
runner), watch per-device progress, cancel, and see the report grow as each device finishes.
Settings, inputs, progress rows and messages belong to a document (ui.state): bringing another
tab to the front shows that document's; a run goes on for the document it was started for.
The finished runs go to the history, as with `edgeprof-cli profile`.
"""

from __future__ import annotations

import contextlib
import os
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
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from profiler.errors import ProfilerError
from profiler.model.input_settings import InputSettings
from profiler.model.shapes import format_shape
from ui.inputs_editor import SETTING, InputsEditor
from ui.jobs import BackgroundJob
from ui.profile_jobs import discover_devices, event_row, profile_document, run_row
from ui.runner import Runner
from ui.runs_data import REFERENCE_VARIANT, status_summary
from ui.settings import PRECISIONS, STOP_RULES, AppSettings, ProfileDefaults
from ui.state import AppState, DocumentState, ProgressRow, Results
from ui.workspace import refresh_view

if TYPE_CHECKING:
    from profiler.bench.profile import ProfileOptions
    from profiler.records.report import Report
    from profiler.runtime.devices import DeviceInfo

DEFAULT_MAX_TIME_S = 60
"""profiler.bench.requests.DEFAULT_MAX_TIME_S: the adaptive loop's time cap."""
# The dock ---------------------------------------------------------------------------------

class ProfilePanel(QWidget):
    devices_found = Signal(object)
    """list[DeviceInfo], once discovery is done (the quantize panel offers them too)."""
    run_finished = Signal(object)
    message = Signal(str)
    """A status line for the window."""
    error = Signal(str)
    """A one-line error for the window's banner."""

    def __init__(self, state: AppState, settings: AppSettings, runner: Runner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self.runner = runner or Runner(self)
        self.devices: list[DeviceInfo] = []
        self.backend_factory = ""
        """'module:callable' for the workers' backends (tests inject fakes); '' = real."""
        self.shown_id: int | None = None
        """The document whose settings the widgets show."""
        self.job_id: int | None = None
        """The document the running profile belongs to."""
        self.batch = 0
        """Its batch in the document's run list."""
        self.started: set[str] = set()
        """Devices of the batch that sent an event."""
        self.last_report: Report | None = None
        self.discovery = BackgroundJob(self)
        self.job = BackgroundJob(self)
        self._widgets()
        self._layout()
        self._connect()
        self._actions()
        self.discovery.start(discover_devices)
        self._show_document(state.current_id)

    def _widgets(self) -> None:
        self.title = QLabel()
        self.title.setObjectName("muted")
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
        self.duration = QSpinBox()
        self.duration.setRange(1, 3600)
        self.duration.setSuffix(" s")
        self.max_time = QSpinBox()
        self.max_time.setRange(1, 3600)
        self.max_time.setValue(DEFAULT_MAX_TIME_S)
        self.max_time.setPrefix("max ")
        self.max_time.setSuffix(" s")
        self.max_time.setToolTip("The adaptive loop stops here even when the median is not "
                                 "yet stable; a noisy device may need longer")
        self.cpus = QLineEdit()
        self.cpus.setPlaceholderText("all (e.g. 0-3)")
        self.cpus.setToolTip("Pin the measurement to these CPUs (e.g. 0-3,6): steadier "
                             "timings on a busy machine")
        self.threads = QSpinBox()
        self.threads.setRange(0, 256)
        self.threads.setSpecialValueText("auto")
        self.precision = QComboBox()
        self.precision.addItems(PRECISIONS)
        self.inputs = InputsEditor()
        self.layers = QCheckBox("Per-layer pass")
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
        stop.addWidget(self.stop_rule)
        # One slot for the rule's value, as wide as the widest: switching the rule (or a run
        # restoring it) never changes the panel's minimum width, which would move the dock
        # and lay out and repaint the whole window.
        self.stop_value = QStackedWidget()
        for widget in (self.iterations, self.duration, self.max_time):
            self.stop_value.addWidget(widget)
        stop.addWidget(self.stop_value)
        form.addRow("Stop", stop)
        form.addRow("Threads", self.threads)
        form.addRow("CPUs", self.cpus)
        form.addRow("Precision", self.precision)
        form.addRow("", self.layers)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
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
        self.state.current_changed.connect(self._show_document)
        self.state.document_changed.connect(self._document_changed)
        self.state.results_changed.connect(self._results_changed)
        self.inputs.applied.connect(self._inputs_applied)
        self.device_list.itemChanged.connect(lambda _i: self._update_run_state())

    def _actions(self) -> None:
        """Window-wide shortcuts (the window adds them): Ctrl+R runs, Esc cancels."""
        self.run_action = QAction("Run profile", self)
        self.run_action.setShortcut(QKeySequence("Ctrl+R"))
        self.run_action.triggered.connect(self.run)
        self.cancel_action = QAction("Cancel profile", self)
        self.cancel_action.setShortcut(QKeySequence(Qt.Key.Key_Escape))
        self.cancel_action.triggered.connect(self.cancel)

    def window_actions(self) -> list[QAction]:
        return [self.run_action, self.cancel_action]

    # The document in front
    def _show_document(self, doc_id: int | None) -> None:
        """Keep the widgets' settings with the document they were for, then show the new one's
        settings, inputs and results."""
        self._keep_settings()
        self.shown_id = doc_id
        doc = self.state.get(doc_id) if doc_id is not None else None
        self._show_settings(doc.profile if doc else self.state.profile_defaults)
        self._show_inputs(doc)
        self._show_results(doc)
        self._update_run_state()

    def _keep_settings(self) -> None:
        doc = self.state.get(self.shown_id) if self.shown_id is not None else None
        if doc is None:
            return
        self.state.set_profile_settings(doc.id, self.widget_settings())
        self._keep_inputs(doc.id)

    def _keep_inputs(self, doc_id: int) -> None:
        """The editor's settings go with the document (a cell that does not parse keeps the
        last good settings; the editor says what is wrong)."""
        from profiler.errors import ProfilerError

        with contextlib.suppress(ProfilerError):
            self.state.set_inputs(doc_id, self.inputs.settings())

    def widget_settings(self) -> ProfileDefaults:
        return ProfileDefaults(
            devices=self.checked_devices() or self._checked_ids(), mode=self.mode.currentText(),
            stop=self.stop_rule.currentText(), iterations=self.iterations.value(),
            duration_s=self.duration.value(), threads=self.threads.value(),
            precision=self.precision.currentText(), layers=self.layers.isChecked())

    def _show_settings(self, profile: ProfileDefaults) -> None:
        self.mode.setCurrentText(profile.mode)
        self.stop_rule.setCurrentText(profile.stop)
        self.iterations.setValue(profile.iterations)
        self.duration.setValue(profile.duration_s)
        self.threads.setValue(profile.threads)
        self.precision.setCurrentText(profile.precision)
        self.layers.setChecked(profile.layers)
        self._stop_rule_changed(profile.stop)
        if self.devices:
            self.check_devices(profile.devices or ["ov:CPU"])

    def _show_inputs(self, doc: DocumentState | None) -> None:
        """The editor shows the document's inputs as analysed, then its own edits."""
        path = doc.model_path()[0] if doc else ""
        self.inputs.set_report(doc.report if doc else None, path)
        if doc is None:
            return
        for name, shape in doc.inputs.shapes.items():
            self._edit_input(name, shape=format_shape(shape))
        for name, value in doc.inputs.values.items():
            self._edit_input(name, source="value", setting=f"{value:g}")
        for name, (low, high) in doc.inputs.ranges.items():
            self._edit_input(name, source="range", setting=f"{low:g}:{high:g}")

    def _edit_input(self, name: str, **cells: str) -> None:
        with contextlib.suppress(ValueError):  # an input the model no longer has
            self.inputs.set_row(name, **cells)

    def _show_results(self, doc: DocumentState | None) -> None:
        results = doc.profile_results if doc else Results()
        self.title.setText(f"Results for {doc.name}" if doc else "No model open")
        self.progress_table.setRowCount(len(results.rows))
        for row, line in enumerate(results.rows):
            self.progress_table.setItem(row, 0, QTableWidgetItem(line.label))
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setMaximumHeight(16)
            bar.setValue(line.percent or 0)
            self.progress_table.setCellWidget(row, 1, bar)
            item = QTableWidgetItem(line.status)
            item.setToolTip(line.status)
            self.progress_table.setItem(row, 2, item)
        self.progress_table.resizeColumnToContents(0)
        self.reason.setText(results.message)

    def _results_changed(self, doc_id: int) -> None:
        if doc_id == self.shown_id:
            doc = self.state.get(doc_id)
            self._show_results(doc)
            self._update_run_state()

    def _document_changed(self, doc_id: int) -> None:
        if doc_id == self.shown_id:
            self._update_run_state()

    def _inputs_applied(self, report: Report) -> None:
        """The editor re-analysed a model: its document gets the report (view data built off
        the GUI thread) and the settings that made it."""
        from ui.loader import prepare_document

        doc = self.state.find_model(report.model.path) if report.model else None
        if doc is None:
            return
        self._keep_inputs(doc.id)
        source, doc_id = doc.document.source_path, doc.id
        self.runner.start(lambda _p, _c, _r: prepare_document(report, source),
                          on_done=lambda document: self.state.update_document(doc_id, document),
                          on_error=self.error.emit)

    def _stop_rule_changed(self, rule: str) -> None:
        shown = {"iterations": self.iterations, "duration": self.duration}.get(rule,
                                                                              self.max_time)
        self.stop_value.setCurrentWidget(shown)

    # Devices
    def set_devices(self, devices: list[DeviceInfo]) -> None:
        self.devices = list(devices)
        doc = self.state.current()
        saved = (doc.profile.devices if doc else []) or self.state.profile_defaults.devices \
            or ["ov:CPU"]
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

    def _checked_ids(self) -> list[str]:
        items = (self.device_list.item(i) for i in range(self.device_list.count()))
        return [str(item.data(Qt.ItemDataRole.UserRole)) for item in items
                if item.checkState() == Qt.CheckState.Checked]

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
        """The current document's model file, or '' and why it cannot be profiled."""
        doc = self.state.current()
        return doc.model_path() if doc else ("", "Open a model to profile it.")

    def _update_run_state(self) -> None:
        running = self.job.is_running()
        path, why = self.model_path()
        self._mark_devices_for(path)
        if running and self.job_id != self.state.current_id:
            other = self.state.get(self.job_id) if self.job_id is not None else None
            why = f"Profiling {other.name if other else 'another model'}; wait or cancel it."
        if not why and not self.checked_devices():
            why = "Check at least one device." if self.devices else "Waiting for devices…"
        self.run_button.setEnabled(not running and not why)
        self.run_action.setEnabled(not running and not why)
        self.run_button.setToolTip(why or f"Profile {os.path.basename(path)} (Ctrl+R)")
        self.cancel_button.setEnabled(running and self.job_id == self.state.current_id)
        doc = self.state.current()
        if why and (doc is None or not doc.profile_results.message):
            self.reason.setText(why)

    def options(self) -> ProfileOptions:
        """The widgets' settings; ProfilerError when the CPU list does not parse."""
        from profiler.bench.profile import ProfileOptions, parse_cpus
        from profiler.bench.protocol import StopRule

        inputs = self.inputs.checked_settings() or InputSettings()
        rule = self.stop_rule.currentText()
        cpus = self.cpus.text().strip()
        return ProfileOptions(
            mode="throughput" if self.mode.currentText() == "throughput" else "latency",
            threads=self.threads.value() or None,
            cpus=parse_cpus(cpus) if cpus else None,
            precision=None if self.precision.currentText() == "default"
            else self.precision.currentText(),
            layers=self.layers.isChecked(), input_values=dict(inputs.values),
            input_ranges=dict(inputs.ranges),
            stop=StopRule(iterations=self.iterations.value() if rule == "iterations" else None,
                          duration_s=float(self.duration.value()) if rule == "duration"
                          else None, max_time_s=float(self.max_time.value())))

    def run(self) -> None:
        path, why = self.model_path()
        devices, doc = self.checked_devices(), self.state.current()
        if self.job.is_running() or why or not devices or doc is None:
            return
        inputs = self.inputs.checked_settings()
        if inputs is None:
            self.state.set_message(doc.id, "Fix the inputs first (see Inputs).")
            return
        try:
            options = self.options()
        except ProfilerError as error:
            self.state.set_message(doc.id, f"{error}; fix the CPUs field.")
            return
        self._keep_settings()
        self.settings.set_profile_defaults(doc.profile)
        self.state.profile_defaults = doc.profile
        rows = [ProgressRow(device, 0, "waiting") for device in devices]
        self.state.set_results(doc.id, Results(rows, f"Profiling {doc.name}…"))
        self.job_id, self.started = doc.id, set()
        self.batch = self.state.start_batch(
            doc.id, [(device, REFERENCE_VARIANT) for device in devices], "profile")
        factory = self.backend_factory
        self.job.start(lambda progress, cancel, partial: profile_document(
            path, devices, options, inputs.shapes, factory, progress, cancel, partial))

    def cancel(self) -> None:
        if self.job.is_running() and self.job_id is not None:
            self.job.cancel()
            self.state.set_message(self.job_id, "Cancelling…")

    def status_text(self, device: str) -> str:
        doc = self.state.current()
        rows = doc.profile_results.rows if doc else []
        return next((row.status for row in rows if row.label == device), "")

    def _progress(self, event: Any) -> None:
        if self.job_id is None:
            return
        row = event_row(event)
        if row.label not in self.started:  # its first event: the device's run has begun
            self.started.add(row.label)
            self.state.mark_running(self.job_id, self.batch, row.label, REFERENCE_VARIANT)
        self.state.set_row(self.job_id, row)

    def _partial(self, report: Report) -> None:
        """A device finished: its run joins the document's runs (earlier ones stay)."""
        run = report.runs[-1]
        self.last_report = report
        if self.job_id is not None:
            self.state.set_row(self.job_id, run_row(run))
            self.state.add_runs(self.job_id, report, self.batch, [run])

    def _finished(self, result: tuple[Report, str]) -> None:
        report, saved = result
        self.last_report = report
        doc_id, self.job_id = self.job_id, None
        doc = self.state.get(doc_id) if doc_id is not None else None
        if doc is None:
            self._done(report)
            return
        self._end_batch(doc, self.job.token.is_set())
        summary = status_summary(e.status for e in doc.run_list.entries
                                 if e.key.batch == self.batch)
        self.state.set_message(doc.id, f"{doc.name}: {summary}; {saved}")
        self.message.emit(f"{doc.name}: {summary}; {saved}")
        self.state.history_changed.emit()
        refresh_view(self.state, self.runner, doc.id, lambda: self._done(report),
                     self.error.emit)

    def _end_batch(self, doc: DocumentState, cancelled: bool) -> None:
        """Devices never started read 'skipped', the one stopped by Cancel 'cancelled'."""
        self.state.end_batch(doc.id, self.batch, cancelled=cancelled)
        for entry in doc.run_list.entries:
            if entry.key.batch == self.batch and entry.run is None:
                self.state.set_row(doc.id, ProgressRow(entry.key.device, None,
                                                       f"{entry.status}: {entry.note}"))

    def _done(self, report: Report | None) -> None:
        self.run_finished.emit(report)
        self._update_run_state()

    def _failed(self, message: str) -> None:
        doc_id, self.job_id = self.job_id, None
        doc = self.state.get(doc_id) if doc_id is not None else None
        name = f"{doc.name}: " if doc else ""
        if doc is not None:
            self._end_batch(doc, self.job.token.is_set())
            self.state.set_message(doc.id, f"Profiling failed: {message}")
        self.error.emit(f"Profiling {name}failed: {message}")
        self._done(None)

    # Where a warning's action leads
    def focus_input(self, name: str) -> None:
        """The Inputs editor, on this input's setting (the first input when none named)."""
        table = self.inputs.table
        try:
            row = self.inputs.row_of(name) if name else 0
        except ValueError:
            row = 0
        if table.rowCount():
            table.setCurrentCell(row, SETTING)
        table.setFocus()

    def focus_cpus(self) -> None:
        self.cpus.setFocus()
        self.cpus.selectAll()

    def focus_max_time(self) -> None:
        """A longer run: the adaptive loop's time cap."""
        self.stop_rule.setCurrentText("adaptive")
        self.max_time.setFocus()
        self.max_time.selectAll()

    def shutdown(self) -> None:
        self.job.shutdown()
        self.discovery.shutdown()
        self.inputs.shutdown()
