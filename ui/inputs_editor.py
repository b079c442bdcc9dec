"""The Inputs editor: per model input, the shape to run at and how its values are made.

Rows come from the current report's inputs (declared shape, shape in use, value source);
edits become an InputSettings that profiling and quantizing use. Apply re-analyses the model
off the GUI thread, so the report (and its warnings) follow the settings.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from profiler.errors import ProfilerError
from profiler.model.input_settings import InputSettings, parse_input_ranges, parse_input_values
from profiler.model.shapes import format_shape, parse_shape_overrides
from profiler.records.model import TensorSpec
from profiler.records.report import Report
from ui.app_words import app_text
from ui.jobs import BackgroundJob, Sink

COLUMNS = ["Input", "Type", "Declared", "Run at", "Values", "Setting", "How"]
NAME, DTYPE, DECLARED, SHAPE, SOURCE, SETTING, NOTE = range(len(COLUMNS))
VALUE_SOURCES = ["auto", "value", "range"]
"""auto: read from the graph (or random); value: one value (a scalar, or a fill); range:
LO:HI (integers in [LO, HI), floats uniform)."""

def reanalyse(path: str, settings: InputSettings, _progress: Sink, _cancel: threading.Event,
              _partial: Sink) -> Report:
    from profiler.api import analyze_model

    return analyze_model(path, inputs=settings)


class InputsEditor(QWidget):
    applied = Signal(object)
    """Report: the model analysed again with the edited inputs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model_path = ""
        self.shown_shapes: dict[str, str] = {}
        """Input -> the shape text shown when not overridden: unchanged rows send no shape."""
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().hide()
        self.table.setMaximumHeight(150)
        self.apply_button = QPushButton("Apply inputs")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setObjectName("muted")
        self.job = BackgroundJob(self)
        self.job.finished.connect(self._analysed)
        self.job.failed.connect(lambda text: self.message.setText(app_text(text)))
        self.job.running_changed.connect(lambda running: self.apply_button.setEnabled(
            not running and bool(self.model_path)))
        self.apply_button.clicked.connect(self.apply)
        self.apply_button.setEnabled(False)
        buttons = QHBoxLayout()
        buttons.addWidget(self.apply_button)
        buttons.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("Inputs"))
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.message)

    # filling ---------------------------------------------------------------------------------

    def set_report(self, report: Report | None, model_path: str = "") -> None:
        """Rows for the report's inputs; the settings they show are the ones in use."""
        self.model_path = model_path
        self.apply_button.setEnabled(bool(model_path) and not self.job.is_running())
        inputs = report.model.inputs if report is not None and report.model else []
        self.shown_shapes = {s.name: format_shape(s.shape) for s in inputs
                             if s.shape_source != "override"}
        self.table.setRowCount(len(inputs))
        for row, spec in enumerate(inputs):
            self._fill_row(row, spec)
        warnings = report.model.warnings if report is not None and report.model else []
        self.message.setText("\n".join(app_text(w) for w in warnings if "input" in w))

    def _fill_row(self, row: int, spec: TensorSpec) -> None:
        fixed = {NAME: spec.name, DTYPE: spec.dtype, DECLARED: format_shape(spec.declared_shape),
                 NOTE: spec.value_note + (" (guessed)" if spec.value_guessed else "")}
        for column, text in fixed.items():
            item = QTableWidgetItem(text)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            item.setToolTip(text)
            self.table.setItem(row, column, item)
        self.table.setItem(row, SHAPE, QTableWidgetItem(format_shape(spec.shape)))
        source, setting = _source_and_setting(spec)
        combo = QComboBox()
        combo.addItems(VALUE_SOURCES)
        combo.setCurrentText(source)
        self.table.setCellWidget(row, SOURCE, combo)
        self.table.setItem(row, SETTING, QTableWidgetItem(setting))

    # reading ---------------------------------------------------------------------------------

    def settings(self) -> InputSettings:
        """The edited settings; ProfilerError naming the input when a cell does not parse."""
        shapes, values, ranges = [], [], []
        for row in range(self.table.rowCount()):
            name, shape = self._text(row, NAME), self._text(row, SHAPE)
            if shape and shape != "?" and shape != self.shown_shapes.get(name):
                shapes.append(f"{name}={shape}")
            source, setting = self.source(row), self._text(row, SETTING)
            if source == "value" and setting:
                values.append(f"{name}={setting}")
            elif source == "range" and setting:
                ranges.append(f"{name}={setting}")
        return InputSettings(parse_shape_overrides(shapes), parse_input_values(values),
                             parse_input_ranges(ranges))

    def checked_settings(self) -> InputSettings | None:
        """The settings, or None with the problem shown (in app words)."""
        try:
            return self.settings()
        except ProfilerError as error:
            self.message.setText(app_text(str(error)))
            return None

    def source(self, row: int) -> str:
        combo = self.table.cellWidget(row, SOURCE)
        return combo.currentText() if isinstance(combo, QComboBox) else "auto"

    def set_row(self, name: str, shape: str | None = None, source: str | None = None,
                setting: str | None = None) -> None:
        """Edit one input's row (as a user would)."""
        row = self.row_of(name)
        if shape is not None:
            self.table.setItem(row, SHAPE, QTableWidgetItem(shape))
        if source is not None:
            combo = self.table.cellWidget(row, SOURCE)
            assert isinstance(combo, QComboBox)
            combo.setCurrentText(source)
        if setting is not None:
            self.table.setItem(row, SETTING, QTableWidgetItem(setting))

    def row_of(self, name: str) -> int:
        names = [self._text(row, NAME) for row in range(self.table.rowCount())]
        return names.index(name)

    def _text(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text().strip() if item is not None else ""

    # applying --------------------------------------------------------------------------------

    def apply(self) -> None:
        settings = self.checked_settings()
        if settings is None or not self.model_path or self.job.is_running():
            return
        path = self.model_path
        self.message.setText("Analysing with these inputs…")
        self.job.start(lambda progress, cancel, partial: reanalyse(
            path, settings, progress, cancel, partial))

    def _analysed(self, report: Report) -> None:
        self.set_report(report, self.model_path)
        self.applied.emit(report)

    def shutdown(self) -> None:
        self.job.shutdown()


def _source_and_setting(spec: TensorSpec) -> tuple[str, str]:
    """What the Values and Setting cells show for a report input."""
    if spec.value_source == "user" and spec.value_fill is not None:
        return "value", f"{spec.value_fill:g}"
    if spec.value_source == "user-range" and spec.value_range:
        low, high = spec.value_range
        return "range", f"{low:g}:{high:g}"
    return "auto", ""
