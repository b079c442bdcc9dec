"""The quantize dock: variants, devices and data for `quantize`, run off the GUI thread (each
build and measurement in worker processes, as the CLI does), per-variant status and errors,
and "Exclude selected layers and re-quantize" from the current tab's layer table."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
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

from ui.jobs import BackgroundJob, Sink

if TYPE_CHECKING:
    from profiler.quant.session import QuantizeOptions
    from profiler.report.model import Report
    from profiler.runtime.devices import DeviceInfo
    from ui.main_window import MainWindow
    from ui.profile_panel import ProfilePanel

VARIANT_IDS = ("fp16", "int8-dynamic", "int8-static", "ov-fp16", "ov-int8", "ov-int8-weights",
               "ov-int4-weights")
DATA_KINDS = ("random", "folder", ".npz file")
RESULT_HEADERS = ["variant", "device", "size", "p50 ms", "SQNR dB", "status"]


def quantize(model_path: str, options: QuantizeOptions, progress: Sink,
             cancel: threading.Event, _partial: Sink,
             shapes: dict[str, tuple[int, ...]] | None = None) -> Report:
    from profiler.quant.session import quantize_model

    return quantize_model(model_path, options, shapes, progress=progress, cancel=cancel)


def result_cells(report: Report) -> list[list[str]]:
    from profiler.report.units import size_bytes
    from profiler.report.variant_views import sqnr_text, variant_rows

    return [[row.variant, row.device, size_bytes(row.file_bytes) if row.file_bytes else "-",
             f"{row.p50_ms:.3f}" if row.p50_ms is not None else "-", sqnr_text(row.sqnr_db),
             row.error or ("Pareto front" if row.on_front else "ok")]
            for row in variant_rows(report)]


class QuantizePanel(QWidget):
    def __init__(self, window: MainWindow, profile_panel: ProfilePanel) -> None:
        super().__init__()
        self.window_ = window
        self.profile_panel = profile_panel
        self.backend_factory = ""
        self.row_of: dict[str, int] = {}
        self.last_report: Report | None = None
        self.job = BackgroundJob(self)
        self._widgets()
        self._layout()
        self._connect()
        self._data_kind_changed(self.data_kind.currentText())
        self._update_state()

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
        self.run_button = QPushButton("Run")
        self.cancel_button = QPushButton("Cancel")
        self.exclude_button = QPushButton("Exclude selected layers and re-quantize")
        self.reason = QLabel()
        self.reason.setWordWrap(True)
        self.reason.setObjectName("muted")
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
        layout.addWidget(QLabel("Variants"))
        layout.addWidget(self.variant_list)
        layout.addWidget(QLabel("Devices"))
        layout.addWidget(self.device_list)
        layout.addWidget(QLabel("Calibration / evaluation data"))
        layout.addLayout(data)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.exclude_button)
        layout.addWidget(self.reason)
        layout.addWidget(self.results, 1)

    def _connect(self) -> None:
        self.profile_panel.devices_found.connect(self.set_devices)
        self.data_kind.currentTextChanged.connect(self._data_kind_changed)
        self.browse.clicked.connect(self._browse)
        self.run_button.clicked.connect(lambda: self.run())
        self.cancel_button.clicked.connect(self.job.cancel)
        self.exclude_button.clicked.connect(self.exclude_and_rerun)
        self.job.progress.connect(self._progress)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.job.running_changed.connect(lambda _running: self._update_state())
        self.window_.current_report_changed.connect(lambda _r: self._update_state())

    def set_devices(self, devices: list[DeviceInfo]) -> None:
        self.device_list.clear()
        for device in devices:
            item = QListWidgetItem(device.id)
            item.setData(Qt.ItemDataRole.UserRole, device.id)
            item.setToolTip(device.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if device.id == "ort:cpu"
                               else Qt.CheckState.Unchecked)
            self.device_list.addItem(item)
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

    def _update_state(self) -> None:
        running = self.job.is_running()
        _path, why = self.profile_panel.model_path()
        self.run_button.setEnabled(not running and not why)
        self.exclude_button.setEnabled(not running and not why)
        self.cancel_button.setEnabled(running)
        if not running:
            self.reason.setText(why)

    def options(self, exclude: tuple[str, ...] = ()) -> QuantizeOptions:
        from profiler.bench.profile import ProfileOptions
        from profiler.bench.protocol import StopRule
        from profiler.quant.session import QuantizeOptions
        from profiler.quant.variants import VariantOptions

        inputs = self.profile_panel.inputs.checked_settings()
        samples = self.samples.value()
        data = None if self.data_kind.currentText() == "random" else self.data_path.text()
        return QuantizeOptions(
            variants=self.checked_variants(), devices=self.checked_devices(),
            build=VariantOptions(exclude_nodes=exclude, calibration_samples=samples),
            calibration=data or None, eval_samples=samples, layer_samples=min(samples, 8),
            profile=ProfileOptions(stop=StopRule(max_time_s=10.0),
                                   input_values=dict(inputs.values) if inputs else {},
                                   input_ranges=dict(inputs.ranges) if inputs else {}),
            backend_factory=self.backend_factory)

    def run(self, exclude: tuple[str, ...] = ()) -> None:
        path, why = self.profile_panel.model_path()
        if self.job.is_running() or why:
            return
        if not self.checked_variants() or not self.checked_devices():
            self.reason.setText("Check at least one variant and one device.")
            return
        inputs = self.profile_panel.inputs.checked_settings()
        if inputs is None:
            self.reason.setText("Fix the inputs first (Inputs, in the Profile panel).")
            return
        options = self.options(exclude)
        self.row_of = {}
        self.results.setRowCount(0)
        excluded = f" (keeping {len(exclude)} layer(s) in float)" if exclude else ""
        self.reason.setText(f"Quantizing {os.path.basename(path)}{excluded}…")
        self.job.start(lambda progress, cancel, partial: quantize(
            path, options, progress, cancel, partial, inputs.shapes))

    def selected_layer_names(self) -> list[str]:
        """The layers selected in the current tab's layer table."""
        view = self.window_.current_view()
        if view is None:
            return []
        from ui.layer_table import LAYER_INDEX_ROLE

        table = view.table
        selection = table.view.selectionModel()
        rows = selection.selectedRows() if selection is not None else []
        layers = [int(table.proxy.data(index, LAYER_INDEX_ROLE)) for index in rows]
        current = table.selected_layer()
        if current is not None:
            layers.append(current)
        names = view.document.data.layers
        return sorted({names[layer].name for layer in layers if 0 <= layer < len(names)})

    def exclude_and_rerun(self) -> None:
        names = self.selected_layer_names()
        if not names:
            self.reason.setText("Select layers in the layer table first.")
            return
        self.run(tuple(names))

    def _progress(self, event: dict[str, Any]) -> None:
        label, stage = str(event.get("device", "")), str(event.get("stage", ""))
        if label not in self.row_of:
            self.row_of[label] = self.results.rowCount()
            self.results.insertRow(self.results.rowCount())
            for column, text in enumerate(label.split(" @ ", 1)):
                self.results.setItem(self.row_of[label], column, QTableWidgetItem(text))
        self.results.setItem(self.row_of[label], len(RESULT_HEADERS) - 1,
                             QTableWidgetItem(stage))

    def _finished(self, report: Report) -> None:
        self.last_report = report
        cells = result_cells(report)
        self.results.setRowCount(len(cells))
        for row, values in enumerate(cells):
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                self.results.setItem(row, column, item)
        self.results.resizeColumnsToContents()
        self.reason.setText(f"{len(report.variants) - 1} variant(s) built; "
                            + ("cancelled" if self.job.token.is_set() else "done"))
        self.window_.show_report(report)

    def _failed(self, message: str) -> None:
        self.reason.setText(f"Quantization failed: {message}")
        self.window_.banner.add_error(f"Quantization failed: {message}")

    def shutdown(self) -> None:
        self.job.shutdown()
