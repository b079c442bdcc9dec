"""File › Export: the report as HTML, JSON, CSV or Markdown (profiler's exporters, rendered
off the GUI thread by the app's runner) or one chart as a PNG/SVG image (pyqtgraph's
exporters, on the GUI thread because they paint the chart's scene)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QEvent, QSize, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QResizeEvent
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

from profiler.records.report import Report
from ui.runner import Runner
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
"""Chart images are drawn at twice the on-screen pixel density: sharp on high-density screens,
with text, legend and axes in the proportions seen on screen."""
EXPORT_MIN_SIZE_PX = (960, 600)
TITLE_SCALE = 1.3
BAND_PAD_PX = 8
CAVEAT_TEXT = ("Drift measured on random inputs: indicative only (how far the numbers move, "
               "not how accuracy changes)")


@dataclass(frozen=True)
class FigureText:
    """What an exported chart says besides the chart itself."""

    title: str
    caveat: str = ""


def figure_text(report: Report, chart_title: str) -> FigureText:
    """The title names the chart and the model; the caveat is there when the chart's figures
    come from random data (the trade-off's drift)."""
    from profiler.report.variant_views import drift_is_indicative
    from ui.charts.panel import TRADEOFF

    model = report.model.name if report.model else "report"
    random_drift = chart_title == TRADEOFF and drift_is_indicative(report)
    return FigureText(f"{chart_title}: {model}", CAVEAT_TEXT if random_drift else "")


def export_chart(view: QWidget, path: str, text: FigureText | None = None) -> None:
    """Write the chart shown by ``view`` (a pyqtgraph widget) to a .png or .svg file, with the
    title above it and the caveat, if any, below it."""
    text = text or FigureText("")
    with _export_size(view):
        if path.lower().endswith(".svg"):
            _export_svg(view, path, text)
        else:
            _export_png(view, path, text)


@contextmanager
def _export_size(view: QWidget) -> Iterator[None]:
    """The chart at least EXPORT_MIN_SIZE_PX while it is drawn: a chart squeezed into a narrow
    pane on screen still exports with room for its legend, labels and axis titles. A chart in
    a tab not shown is laid out for the export too (Qt holds a hidden widget's resize back
    until it is shown, and its labels are placed for the size it had)."""
    old = view.size()
    width, height = EXPORT_MIN_SIZE_PX
    size = QSize(max(old.width(), width), max(old.height(), height))
    if size == old and view.isVisible():
        yield
        return
    view.resize(size)
    _lay_out(view, size, old)
    try:
        yield
    finally:
        view.resize(old)
        _lay_out(view, old, size)


def _lay_out(view: QWidget, size: QSize, old: QSize) -> None:
    if not view.isVisible():
        QCoreApplication.sendEvent(view, QResizeEvent(size, old))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
    getattr(view, "prepare_export", lambda: None)()


def _export_png(view: QWidget, path: str, text: FigureText) -> None:
    from PySide6.QtGui import QImage

    width, height = _figure_size(view, text)
    image = QImage(width * PNG_SCALE, height * PNG_SCALE, QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(PNG_SCALE)
    painter = QPainter(image)
    try:
        _paint_figure(painter, view, text)
    finally:
        painter.end()
    if not image.save(path):
        raise OSError(f"{path}: the PNG file could not be written")


def _band_px(view: QWidget, scale: float = 1.0, text: str = "") -> int:
    """A band's height: its text wrapped to the chart's width, padded."""
    from PySide6.QtCore import QRect, Qt

    lines = 1
    if text:
        box = view.fontMetrics().boundingRect(
            QRect(0, 0, view.width() - 2 * BAND_PAD_PX, 10_000), int(Qt.TextFlag.TextWordWrap),
            text)
        lines = max(1, round(box.height() / view.fontMetrics().lineSpacing()))
    return int(view.fontMetrics().lineSpacing() * scale * lines) + 2 * BAND_PAD_PX


def _figure_size(view: QWidget, text: FigureText) -> tuple[int, int]:
    title_px = _band_px(view, TITLE_SCALE) if text.title else 0
    caveat_px = _band_px(view, text=text.caveat) if text.caveat else 0
    return view.width(), title_px + view.height() + caveat_px


def _paint_figure(painter: QPainter, view: QWidget, text: FigureText) -> None:
    """Background, title band, the chart's scene (vector: SVG stays vector), caveat band."""
    from PySide6.QtCore import QRectF, Qt

    from ui.theme import LIGHT

    theme = getattr(view, "theme", LIGHT)
    width, height = _figure_size(view, text)
    painter.fillRect(QRectF(0, 0, width, height), QColor(theme.base))
    top = 0
    if text.title:
        font = QFont(view.font())
        font.setPointSizeF(font.pointSizeF() * TITLE_SCALE)
        font.setBold(True)
        top = _draw_band(painter, font, theme.text, text.title, top, _band_px(view, TITLE_SCALE),
                         width)
    view.scene().render(painter, QRectF(0, top, view.width(), view.height()),  # type: ignore
                        QRectF(view.rect()), Qt.AspectRatioMode.IgnoreAspectRatio)
    if text.caveat:
        _draw_band(painter, QFont(view.font()), theme.warn, text.caveat, top + view.height(),
                   _band_px(view, text=text.caveat), width)


def _draw_band(painter: QPainter, font: QFont, colour: str, text: str, top: int, height: int,
               width: int) -> int:
    from PySide6.QtCore import QRectF, Qt

    painter.setFont(font)
    painter.setPen(QColor(colour))
    painter.drawText(QRectF(BAND_PAD_PX, top, width - 2 * BAND_PAD_PX, height),
                     int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
                         | Qt.TextFlag.TextWordWrap), text)
    return top + height


def _export_svg(view: QWidget, path: str, text: FigureText) -> None:
    """Qt's own SVG generator: pyqtgraph's SVGExporter post-processes Qt's path syntax and
    fails on what current Qt versions write."""
    from PySide6.QtCore import QRect, QSize
    from PySide6.QtGui import QPainter
    from PySide6.QtSvg import QSvgGenerator

    width, height = _figure_size(view, text)
    generator = QSvgGenerator()
    generator.setFileName(path)
    generator.setSize(QSize(width, height))
    generator.setViewBox(QRect(0, 0, width, height))
    generator.setTitle(text.title or "Edge Model Profiler chart")
    painter = QPainter(generator)
    try:
        _paint_figure(painter, view, text)
    finally:
        painter.end()
    if not os.path.exists(path):
        raise OSError(f"{path}: the SVG file could not be written")


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "chart"


class ExportDialog(QDialog):
    exported = Signal(str)
    """The path written, once a file is complete."""

    def __init__(self, report: Report, charts: ChartPanel | None, settings: AppSettings,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export")
        self.report, self.charts, self.settings = report, charts, settings
        self.stem = os.path.splitext(report.model.name if report.model else "report")[0]
        self.runner = Runner(self, max_threads=1)
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
        report = self.report
        self.runner.start(lambda _progress, _cancel, _partial: _write_report(report, path),
                          on_done=lambda _none: self._report_written(path, ""),
                          on_error=lambda message: self._report_written(path, message))

    def _export_chart(self, path: str) -> None:
        assert self.charts is not None
        try:
            title = self.chart.currentText()
            export_chart(self.charts.chart_view(title), path, figure_text(self.report, title))
        except OSError as error:
            self.message.setText(f"{path}: cannot write the image ({error.strerror or error})")
            return
        self._done(path)

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
        self.runner.pool.waitForDone()  # never leave a writer running behind a closed dialog
        super().done(result)


def _write_report(report: Report, path: str) -> None:
    """Runs on the runner: any error reaches the dialog as one line (never stuck on
    "Exporting…")."""
    from profiler.report.exporters import write_report

    write_report(report, path)
