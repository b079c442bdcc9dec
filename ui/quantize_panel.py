"""The quantize dock: variants, devices and data for `quantize` (``profiler.api.quantize``, on
the app's runner; each build and measurement in worker processes, as the CLI does),
per-variant status and errors, and "Exclude selected layers and re-quantize" from the layers
selected in the current document. Settings and results belong to a document (ui.state)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from profiler.model.input_settings import InputSettings
from ui.jobs import BackgroundJob, Sink
from ui.runner import Runner
from ui.runs_data import CROSS_RUNTIME_OPTION, REFERENCE_VARIANT, status_summary
from ui.settings import AppSettings, QuantizeDefaults
from ui.state import AppState, DocumentState, ProgressRow, Results
from ui.workspace import refresh_view

if TYPE_CHECKING:
    from profiler.quant.session import QuantizeOptions
    from profiler.records.report import Report
    from profiler.runtime.devices import DeviceInfo

VARIANT_IDS = ("fp16", "int8-dynamic", "int8-static", "ov-fp16", "ov-int8", "ov-int8-weights",
               "ov-int4-weights")
DATA_KINDS = ("random", "folder", ".npz file")
RESULT_HEADERS = ["variant", "device", "size", "p50 ms", "SQNR dB", "status"]


def quantize(source: str, model_path: str, options: QuantizeOptions, progress: Sink,
             cancel: threading.Event, _partial: Sink,
             shapes: dict[str, tuple[int, ...]] | None = None) -> Report:
    """``api.quantize`` (the app's state merges its runs into the document's)."""
    from profiler.api import quantize as quantize_model

    del source  # the document is rebuilt from its run list (ui.workspace.refresh_view)
    return quantize_model(model_path, options, shapes, progress, cancel).report


def batch_pairs(model_path: str, variants: list[str], devices: list[str],
                cross_runtime: bool) -> list[tuple[str, str]]:
    """(device, variant) pairs a quantize measures: the FP32 reference on every device that
    reads the model, each variant on the devices its format runs on (session.runs_on)."""
    from profiler.quant.session import runs_on
    from profiler.quant.sizes import model_family
    from profiler.quant.variants import VARIANTS

    family = model_family(model_path)
    pairs = [(d, REFERENCE_VARIANT) for d in devices if runs_on(family, d, cross_runtime=True)]
    for variant in variants:
        spec = VARIANTS.get(variant)
        pairs += [(d, variant) for d in devices
                  if spec is not None and runs_on(spec.output_format, d, cross_runtime)]
    return pairs


def result_cells(report: Report) -> list[list[str]]:
    from profiler.report.variant_views import sqnr_text, variant_rows
    from profiler.units import size_bytes

    return [[row.variant, row.device, size_bytes(row.file_bytes) if row.file_bytes else "-",
             f"{row.p50_ms:.3f}" if row.p50_ms is not None else "-", sqnr_text(row.sqnr_db),
             row.error or ("Pareto front" if row.on_front else "ok")]
            for row in variant_rows(report)]


class QuantizePanel(QWidget):
    message = Signal(str)
    error = Signal(str)
    run_finished = Signal(object)
    """The report (None on failure), once the document shows its runs."""

    def __init__(self, state: AppState, settings: AppSettings, runner: Runner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state, self.settings = state, settings
        self.runner = runner or Runner(self)
        self.backend_factory = ""
        self.shown_id: int | None = None
        self.job_id: int | None = None
        self.batch = 0
        self.started: set[tuple[str, str]] = set()
        self.asked: tuple[list[str], list[str], bool] = ([], [], False)
        """The running batch's variants, devices and cross-runtime choice."""
        self.last_report: Report | None = None
        self.job = BackgroundJob(self)
        self._widgets()
        self._layout()
        self._connect()
        self._data_kind_changed(self.data_kind.currentText())
        self._show_document(state.current_id)

    def _widgets(self) -> None:
        self.variants = {vid: QListWidgetItem(vid) for vid in VARIANT_IDS}
        self.variant_list = QListWidget()
        for vid, item in self.variants.items():
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if vid == "int8-dynamic"
                               else Qt.CheckState.Unchecked)
            self.variant_list.addItem(item)
        self.variant_list.setMaximumHeight(130)
        self.device_list = QListWidget()
        self.device_list.setMaximumHeight(80)
        self.data_kind = QComboBox()
        self.data_kind.addItems(DATA_KINDS)
        self.data_path = QLineEdit()
        self.browse = QPushButton("Browse…")
        self.indicative = QLabel("Random data: drift figures are indicative only")
        self.indicative.setObjectName("warning")
        self.indicative.setStyleSheet("color: #b45309")
        self.samples = QSpinBox()
        self.samples.setRange(1, 100_000)
        self.samples.setValue(20)
        self.cross_runtime = QCheckBox(CROSS_RUNTIME_OPTION)
        self.cross_runtime.setToolTip("ONNX variants run on ONNX Runtime devices; tick to "
                                      "measure them with OpenVINO too")
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.exclude_button = QPushButton("Exclude selected layers and re-quantize")
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setObjectName("muted")
        self.title = QLabel()
        self.title.setObjectName("muted")
        self.results = QTableWidget(0, len(RESULT_HEADERS))
        self.results.setHorizontalHeaderLabels(RESULT_HEADERS)
        self.results.verticalHeader().hide()
        self.results.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results.horizontalHeader().setSectionResizeMode(
            len(RESULT_HEADERS) - 1, QHeaderView.ResizeMode.Stretch)

    def _layout(self) -> None:
        data = QGridLayout()
        data.addWidget(self.data_kind, 0, 0)
        data.addWidget(self.data_path, 0, 1)
        data.addWidget(self.browse, 0, 2)
        data.addWidget(self.indicative, 1, 0, 1, 3)
        form = QFormLayout()
        form.addRow("Samples", self.samples)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(QLabel("Variants"))
        layout.addWidget(self.variant_list)
        layout.addWidget(QLabel("Devices"))
        layout.addWidget(self.device_list)
        layout.addWidget(QLabel("Calibration / evaluation data"))
        layout.addLayout(data)
        layout.addLayout(form)
        layout.addWidget(self.cross_runtime)
        layout.addLayout(buttons)
        layout.addWidget(self.exclude_button)
        layout.addWidget(self.reason)
        layout.addWidget(self.results, 1)

    def _connect(self) -> None:
        self.data_kind.currentTextChanged.connect(self._data_kind_changed)
        self.browse.clicked.connect(self._browse)
        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button.clicked.connect(self.job.cancel)
        self.exclude_button.clicked.connect(self.exclude_and_rerun)
        self.job.progress.connect(self._progress)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.job.running_changed.connect(lambda _running: self._update_state())
        self.state.current_changed.connect(self._show_document)
        self.state.results_changed.connect(self._results_changed)

    def set_devices(self, devices: list[DeviceInfo]) -> None:
        self.device_list.clear()
        for device in devices:
            item = QListWidgetItem(device.id)
            item.setData(Qt.ItemDataRole.UserRole, device.id)
            item.setToolTip(device.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.device_list.addItem(item)
        doc = self.state.get(self.shown_id) if self.shown_id is not None else None
        self._show_settings(doc.quantize if doc else self.state.quantize_defaults)
        self._update_state()

    # The document in front
    def _show_document(self, doc_id: int | None) -> None:
        """Keep the widgets' settings with their document, then show the new one's."""
        shown = self.state.get(self.shown_id) if self.shown_id is not None else None
        if shown is not None:
            self.state.set_quantize_settings(shown.id, self.widget_settings())
        self.shown_id = doc_id
        doc = self.state.get(doc_id) if doc_id is not None else None
        self._show_settings(doc.quantize if doc else self.state.quantize_defaults)
        self._show_results(doc)
        self._update_state()

    def widget_settings(self) -> QuantizeDefaults:
        return QuantizeDefaults(self.checked_variants(), self.checked_devices(),
                                self.data_kind.currentText(), self.samples.value())

    def _show_settings(self, quantize: QuantizeDefaults) -> None:
        if self.device_list.count():  # before discovery: the saved devices stay as they are
            self.check(quantize.variants, quantize.devices)
        self.data_kind.setCurrentText(quantize.data_kind)
        self.samples.setValue(quantize.samples)

    def _show_results(self, doc: DocumentState | None) -> None:
        results = doc.quantize_results if doc else Results()
        self.title.setText(f"Results for {doc.name}" if doc else "No model open")
        if results.report is not None:
            self._show_cells(result_cells(results.report))
        else:
            self.results.setRowCount(len(results.rows))
            for row, line in enumerate(results.rows):
                for column, text in enumerate(line.label.split(" @ ", 1)):
                    self.results.setItem(row, column, QTableWidgetItem(text))
                self.results.setItem(row, len(RESULT_HEADERS) - 1,
                                     QTableWidgetItem(line.status))
        self.reason.setText(results.message)

    def _show_cells(self, cells: list[list[str]]) -> None:
        self.results.setRowCount(len(cells))
        for row, values in enumerate(cells):
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.results.setItem(row, column, item)
        self.results.resizeColumnsToContents()

    def _results_changed(self, doc_id: int) -> None:
        if doc_id == self.shown_id:
            self._show_results(self.state.get(doc_id))
            self._update_state()

    @staticmethod
    def _checked(widget: QListWidget) -> list[str]:
        items = (widget.item(i) for i in range(widget.count()))
        return [str(item.data(Qt.ItemDataRole.UserRole) or item.text()) for item in items
                if item.checkState() == Qt.CheckState.Checked]

    def checked_variants(self) -> list[str]:
        return self._checked(self.variant_list)

    def checked_devices(self) -> list[str]:
        return self._checked(self.device_list)

    def check(self, variants: list[str], devices: list[str]) -> None:
        for widget, wanted in ((self.variant_list, variants), (self.device_list, devices)):
            for index in range(widget.count()):
                item = widget.item(index)
                value = item.data(Qt.ItemDataRole.UserRole) or item.text()
                item.setCheckState(Qt.CheckState.Checked if value in wanted
                                   else Qt.CheckState.Unchecked)

    def _data_kind_changed(self, kind: str) -> None:
        random = kind == "random"
        self.data_path.setEnabled(not random)
        self.browse.setEnabled(not random)
        self.indicative.setVisible(random)

    def _browse(self) -> None:
        if self.data_kind.currentText() == "folder":
            path = QFileDialog.getExistingDirectory(self, "Calibration images")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Calibration data", "",
                                                  "NumPy archives (*.npz *.npy)")
        if path:
            self.data_path.setText(path)

    def _model_path(self) -> tuple[str, str]:
        doc = self.state.current()
        return doc.model_path() if doc else ("", "Open a model to quantize it.")

    def _update_state(self) -> None:
        running = self.job.is_running()
        _path, why = self._model_path()
        if running and self.job_id != self.state.current_id:
            other = self.state.get(self.job_id) if self.job_id is not None else None
            why = f"Quantizing {other.name if other else 'another model'}; wait or cancel it."
        self.run_button.setEnabled(not running and not why)
        self.exclude_button.setEnabled(not running and not why)
        self.cancel_button.setEnabled(running and self.job_id == self.state.current_id)
        doc = self.state.current()
        if why and (doc is None or not doc.quantize_results.message):
            self.reason.setText(why)

    def options(self, exclude: tuple[str, ...] = (),
                inputs: InputSettings | None = None) -> QuantizeOptions:
        from profiler.bench.profile import ProfileOptions
        from profiler.bench.protocol import StopRule
        from profiler.quant.session import QuantizeOptions
        from profiler.quant.variants import VariantOptions

        inputs = inputs or InputSettings()
        samples = self.samples.value()
        data = None if self.data_kind.currentText() == "random" else self.data_path.text()
        return QuantizeOptions(
            variants=self.checked_variants(), devices=self.checked_devices(),
            build=VariantOptions(exclude_nodes=exclude, calibration_samples=samples),
            calibration=data or None, eval_samples=samples, layer_samples=min(samples, 8),
            profile=ProfileOptions(stop=StopRule(max_time_s=10.0),
                                   input_values=dict(inputs.values),
                                   input_ranges=dict(inputs.ranges)),
            cross_runtime=self.cross_runtime.isChecked(), backend_factory=self.backend_factory)

    def run(self, exclude: tuple[str, ...] = ()) -> None:
        path, why = self._model_path()
        doc = self.state.current()
        if self.job.is_running() or why or doc is None:
            return
        if not self.checked_variants() or not self.checked_devices():
            self.state.set_message(doc.id, "Check at least one variant and one device.", True)
            return
        settings = self.widget_settings()
        self.state.set_quantize_settings(doc.id, settings)
        self.settings.set_quantize_defaults(settings)
        self.state.quantize_defaults = settings
        options, shapes = self.options(exclude, doc.inputs), dict(doc.inputs.shapes)
        excluded = f" (keeping {len(exclude)} layer(s) in float)" if exclude else ""
        self.state.set_results(doc.id, Results([], f"Quantizing {doc.name}{excluded}…"), True)
        self.job_id, source, self.started = doc.id, doc.document.source_path, set()
        self.asked = (list(options.variants or []), options.devices, options.cross_runtime)
        self.batch = self.state.start_batch(doc.id, batch_pairs(
            path, options.variants or [], options.devices, options.cross_runtime), "quantize")
        self.job.start(lambda progress, cancel, partial: quantize(
            source, path, options, progress, cancel, partial, shapes))

    def selected_layer_names(self) -> list[str]:
        """The layers selected in the current document."""
        doc = self.state.current()
        if doc is None:
            return []
        layers = doc.document.data.layers
        return sorted({layers[i].name for i in doc.selected_layers if 0 <= i < len(layers)})

    def exclude_and_rerun(self) -> None:
        names = self.selected_layer_names()
        doc = self.state.current()
        if not names:
            if doc is not None:
                self.state.set_message(doc.id, "Select layers in the layer table first.", True)
            return
        self.run(tuple(names))

    def _progress(self, event: Any) -> None:
        if self.job_id is None:
            return
        if isinstance(event, dict):  # the untyped events of older workers
            label, stage = str(event.get("device", "")), str(event.get("stage", ""))
        else:
            from profiler.bench.wire import event_label, event_text

            label, stage = event_label(event), event_text(event)
            self._mark_running(event)
        self.state.set_row(self.job_id, ProgressRow(label, None, stage), True)

    def _mark_running(self, event: Any) -> None:
        pair = (str(event.device), str(event.variant) or REFERENCE_VARIANT)
        if event.job == "measure" and self.job_id is not None and pair not in self.started:
            self.started.add(pair)
            self.state.mark_running(self.job_id, self.batch, *pair)

    def _finished(self, report: Report) -> None:
        from ui.runs_data import unmeasured_reasons

        self.last_report = report
        doc_id, self.job_id = self.job_id, None
        doc = self.state.get(doc_id) if doc_id is not None else None
        if doc is None:
            self.run_finished.emit(report)
            return
        cancelled = self.job.token.is_set()
        variants, devices, cross_runtime = self.asked
        self.state.add_runs(doc.id, report, self.batch)
        self.state.end_batch(doc.id, self.batch, unmeasured_reasons(
            report, variants, devices, cross_runtime, cancelled), cancelled)
        summary = status_summary(e.status for e in doc.run_list.entries
                                 if e.key.batch == self.batch)
        self.state.set_results(doc.id, Results(
            [], f"{doc.name}: {len(report.variants) - 1} variant(s) built; runs {summary}"
            + ("; cancelled" if cancelled else ""), report), True)
        refresh_view(self.state, self.runner, doc.id, lambda: self.run_finished.emit(report),
                     self.error.emit)

    def _failed(self, message: str) -> None:
        doc_id, self.job_id = self.job_id, None
        doc = self.state.get(doc_id) if doc_id is not None else None
        if doc is not None:
            self.state.end_batch(doc.id, self.batch, cancelled=self.job.token.is_set())
            self.state.set_message(doc.id, f"Quantization failed: {message}", True)
        self.error.emit(f"Quantization of {doc.name if doc else 'the model'} failed: {message}")
        self._update_state()
        self.run_finished.emit(None)

    def shutdown(self) -> None:
        self.job.shutdown()
