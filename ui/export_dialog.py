"""File › Export: the report as HTML, JSON, CSV or Markdown (profiler's exporters, rendered
off the GUI thread) or one chart as a PNG/SVG image (pyqtgraph's exporters, on the GUI thread
because they paint the chart's scene)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from profiler.report.model import Report
from ui.settings import AppSettings

if TYPE_CHECKING:
    from ui.charts import ChartPanel


@dataclass(frozen=True)
class ExportFormat:
    label: str
    extension: str
    chart: bool = False


FORMATS = (
    ExportFormat("HTML report (charts included)", ".html"),
    ExportFormat("JSON report (lossless: reopens in the app)", ".json"),
    ExportFormat("CSV: one row per layer", ".csv"),
    ExportFormat("Markdown summary", ".md"),
    ExportFormat("Chart image: PNG", ".png", chart=True),
    ExportFormat("Chart image: SVG", ".svg", chart=True),
)
PNG_SCALE = 2
"""Chart images are rendered at twice the on-screen size, sharp on high-density screens."""


def export_chart(view: QWidget, path: str) -> None:
    """Write the chart shown by ``view`` (a pyqtgraph widget) to a .png or .svg file."""
    from pyqtgraph.exporters import ImageExporter

    if path.lower().endswith(".svg"):
        _export_svg(view, path)
        return
    exporter = ImageExporter(view.scene())  # type: ignore[attr-defined]
    exporter.parameters()["width"] = int(view.width() * PNG_SCALE)
    exporter.export(path)


def _export_svg(view: QWidget, path: str) -> None:
    """Qt's own SVG generator: pyqtgraph's SVGExporter post-processes Qt's path syntax and
    fails on what current Qt versions write."""
    from PySide6.QtCore import QRect, QRectF
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(view.size())
    generator.setViewBox(QRect(0, 0, view.width(), view.height()))
    generator.setTitle("Edge Model Profiler chart")
    painter = QPainter(generator)
    try:
        view.scene().render(painter, QRectF(0, 0, view.width(), view.height()),  # type: ignore
                            QRectF(view.rect()))
    finally:
        painter.end()
    if not os.path.exists(path):
        raise OSError(f"{path}: the SVG file could not be written")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


class _ReportJob(QObject):
    finished = Signal(str, str)
    """(path, error message or '')"""


class ExportDialog(QDialog):
    exported = Signal(str)
    """The path written, once a file is complete."""

    def __init__(self, report: Report, charts: ChartPanel | None, settings: AppSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.report, self.charts, self.settings = report, charts, settings
        self.stem = os.path.splitext(report.model.name if report.model else "report")[0]
        self.pool = QThreadPool(self)
        self.job = _ReportJob(self)
        self.job.finished.connect(self._report_written)
        self.format = QComboBox()
        for item in FORMATS:
            if not item.chart or charts is not None:
                self.format.addItem(item.label, item)
        self.chart = QComboBox()
        if charts is not None:
            self.chart.addItems(charts.visible_charts())
            self.chart.setCurrentText(charts.current_chart())
        self.path = QLineEdit()
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self._layout()
        self.format.currentIndexChanged.connect(self._format_changed)
        self.chart.currentIndexChanged.connect(self._format_changed)
        self.buttons.accepted.connect(self.export)
        self.buttons.rejected.connect(self.reject)
        self._format_changed()

    def _layout(self) -> None:
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        form = QFormLayout()
        form.addRow("Format", self.format)
        form.addRow("Chart", self.chart)
        form.addRow("File", path_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(self.buttons)
        # A fixed minimum (offscreen platforms warn when a shown window's limits change)
        hint = self.minimumSizeHint()
        self.setMinimumSize(max(560, hint.width()), hint.height())

    def selected_format(self) -> ExportFormat:
        item = self.format.currentData()
        assert isinstance(item, ExportFormat)
        return item

    def set_format(self, extension: str) -> None:
        for index in range(self.format.count()):
            if self.format.itemData(index).extension == extension:
                self.format.setCurrentIndex(index)

    def _format_changed(self) -> None:
        item = self.selected_format()
        self.chart.setEnabled(item.chart)
        name = f"{self.stem}-{slug(self.chart.currentText())}" if item.chart else self.stem
        folder = os.path.dirname(self.path.text()) or self.settings.export_folder()
        self.path.setText(os.path.join(folder, name + item.extension))

    def _browse(self) -> None:
        item = self.selected_format()
        path, _ = QFileDialog.getSaveFileName(self, "Export to", self.path.text(),
                                              f"{item.label} (*{item.extension})")
        if path:
            self.path.setText(path if path.lower().endswith(item.extension)
                              else path + item.extension)

    def export(self) -> None:
        item = self.selected_format()
        path = self.path.text().strip()
        if not path.lower().endswith(item.extension):
            path += item.extension
        if not os.path.isdir(os.path.dirname(os.path.abspath(path))):
            self.message.setText(f"{os.path.dirname(path)}: no such folder; choose another.")
            return
        self.settings.set_export_folder(os.path.dirname(os.path.abspath(path)))
        if item.chart:
            self._export_chart(path)
            return
        self.export_button.setEnabled(False)
        self.message.setText("Exporting…")
        report, job = self.report, self.job
        self.pool.start(lambda: job.finished.emit(path, _write_report(report, path)))

    def _export_chart(self, path: str) -> None:
        assert self.charts is not None
        try:
            export_chart(self.charts.chart_view(self.chart.currentText()), path)
        except OSError as error:
            self.message.setText(f"{path}: cannot write the image ({error.strerror or error})")
            return
        self._done(path)

    @Slot(str, str)
    def _report_written(self, path: str, error: str) -> None:
        self.export_button.setEnabled(True)
        if error:
            self.message.setText(error)
            return
        self._done(path)

    def _done(self, path: str) -> None:
        self.message.setText("")
        self.exported.emit(path)
        self.accept()

    def done(self, result: int) -> None:
        self.pool.waitForDone()  # never leave a writer running behind a closed dialog
        super().done(result)


def _write_report(report: Report, path: str) -> str:
    """Runs in a pool thread; returns '' or the one-line error."""
    from profiler.errors import ProfilerError
    from profiler.report.exporters import write_report

    try:
        write_report(report, path)
    except ProfilerError as error:
        return str(error)
    return ""
