"""The chart panel of a report tab: metric and run pickers over a tab per chart. Charts that
need runs appear once the report has them."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from profiler.records.runs import Run
from profiler.report.views import run_label
from profiler.units import milliseconds, si_compact
from ui import chart_data
from ui.charts.base import BarChart
from ui.charts.latency import DeviceChart, LatencyChart
from ui.charts.roofline import RooflineChart
from ui.charts.tradeoff import TradeoffChart
from ui.elided_label import ElidedLabel
from ui.report_data import ReportData, RunLayers
from ui.theme import LIGHT, Theme

TOP_LAYERS, BY_OP, LATENCY, DEVICES, ROOFLINE, TRADEOFF = (
    "Top layers", "By op type", "Latency", "Devices", "Roofline", "Trade-off")


MIN_CHART_HEIGHT_PX = 240
"""Below this a chart scrolls in its tab instead of squeezing its labels together."""
HINT = "wheel: zoom · drag: pan · double-click: reset · click: select"


def _ms_axis(value: float) -> str:
    return milliseconds(value).removesuffix(" ms")


class ChartTabs(QTabWidget):
    """One tab per chart; each chart sits in a vertical scroll area (its page), and the tab
    methods that take a widget accept the chart itself."""

    def add_chart(self, chart: QWidget, title: str) -> None:
        page = QScrollArea()
        page.setWidgetResizable(True)
        page.setFrameShape(QFrame.Shape.NoFrame)
        page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        chart.setMinimumHeight(max(chart.minimumHeight(), MIN_CHART_HEIGHT_PX))
        page.setWidget(chart)
        self.addTab(page, title)

    def page_of(self, widget: QWidget) -> QWidget:
        for index in range(self.count()):
            page = super().widget(index)
            if isinstance(page, QScrollArea) and page.widget() is widget:
                return page
        return widget

    def indexOf(self, widget: QWidget) -> int:  # Qt override: a chart or its page
        return super().indexOf(self.page_of(widget))

    def setCurrentWidget(self, widget: QWidget) -> None:  # Qt override: a chart or its page
        super().setCurrentWidget(self.page_of(widget))


class ChartPanel(QWidget):
    layer_clicked = Signal(int)
    op_type_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = LIGHT
        self.data: ReportData | None = None
        self.highlighted: int | None = None
        self.colour_ranks: dict[str, int] = {}
        self.rank_by = QComboBox()
        self.run = QComboBox()
        self.run_label = QLabel("Run")
        self.top_layers = BarChart()
        self.by_op = BarChart()
        self.latency = LatencyChart()
        self.devices = DeviceChart()
        self.roofline = RooflineChart()
        self.tradeoff = TradeoffChart()
        self.tabs = ChartTabs()
        self.tabs.setDocumentMode(True)
        for title, widget in self._charts():
            self.tabs.add_chart(widget, title)
        self._layout()
        self._connect()

    def _charts(self) -> list[tuple[str, QWidget]]:
        return [(TOP_LAYERS, self.top_layers), (BY_OP, self.by_op), (LATENCY, self.latency),
                (DEVICES, self.devices), (ROOFLINE, self.roofline), (TRADEOFF, self.tradeoff)]

    def _layout(self) -> None:
        controls = QHBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addWidget(QLabel("Rank by"))
        controls.addWidget(self.rank_by)
        controls.addSpacing(16)
        controls.addWidget(self.run_label)
        controls.addWidget(self.run)
        controls.addSpacing(16)
        # elided, not a minimum width: the hint must never stop the splitter
        self.hint = ElidedLabel(HINT)
        self.hint.setObjectName("muted")
        self.hint.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        controls.addWidget(self.hint, 1)
        self.rank_by.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        # run labels can be long (variants): the combo shows a few words, the list shows all
        self.run.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.run.setMinimumContentsLength(10)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 0, 0, 0)
        layout.addLayout(controls)
        layout.addWidget(self.tabs, 1)

    def _connect(self) -> None:
        self.rank_by.currentIndexChanged.connect(self._redraw_breakdowns)
        self.run.currentIndexChanged.connect(self._redraw_run_charts)
        self.top_layers.bar_clicked.connect(self._top_clicked)
        self.by_op.bar_clicked.connect(self._op_clicked)
        self.roofline.layer_clicked.connect(self.layer_clicked)
        self.devices.plot.run_clicked.connect(self.select_run)

    # Data in
    def set_data(self, data: ReportData) -> None:
        self.data = data
        self.colour_ranks = chart_data.op_colour_ranks(data)
        self._fill_pickers(data)
        self._set_tab_visibility(data)
        self.devices.set_runs(chart_data.device_bars(data.runs), chart_data.failed_runs(data.runs))
        self.tradeoff.set_report(data.report)
        self._redraw_run_charts()

    def _fill_pickers(self, data: ReportData) -> None:
        metric, run = self.rank_by.currentData(), self.run.currentText()
        for combo in (self.rank_by, self.run):
            combo.blockSignals(True)
            combo.clear()
        for key in ("macs", "flops", "params"):
            self.rank_by.addItem(chart_data.METRICS[key], key)
        if data.profiled_runs:
            self.rank_by.insertItem(0, "Time", "time")
        self.rank_by.setCurrentIndex(max(self.rank_by.findData(metric), 0))
        for index, item in enumerate(data.runs):
            self.run.addItem(run_label(item), index)
        self.run.setCurrentIndex(max(self.run.findText(run), self._default_run(data)))
        for combo in (self.rank_by, self.run):
            combo.blockSignals(False)
        self.run.setVisible(bool(data.runs))
        self.run_label.setVisible(bool(data.runs))

    @staticmethod
    def _default_run(data: ReportData) -> int:
        """The first run with a layer profile, else the first that has latency samples."""
        for index, run in enumerate(data.runs):
            if run.layer_profile and run.layer_profile.layers:
                return index
        return next((i for i, r in enumerate(data.runs) if r.latency and r.latency.count), 0)

    def _set_tab_visibility(self, data: ReportData) -> None:
        has_samples = any(run.latency and run.latency.samples_ms for run in data.runs)
        visible = {LATENCY: has_samples, DEVICES: bool(data.runs),
                   ROOFLINE: bool(data.profiled_runs), TRADEOFF: bool(data.report.variants)}
        for index, (title, _) in enumerate(self._charts()):
            self.tabs.setTabVisible(index, visible.get(title, True))

    def selected_run(self) -> Run | None:
        index = self.run.currentData()
        return self.data.runs[index] if self.data is not None and index is not None else None

    def _selected_run_layers(self) -> RunLayers | None:
        run = self.selected_run()
        if self.data is None or run is None:
            return None
        return next((r for r in self.data.profiled_runs if r.run is run), None)

    def select_run(self, label: str) -> None:
        found = self.run.findText(label)
        if found >= 0:
            self.run.setCurrentIndex(found)

    # Drawing
    def _colour(self, group: str) -> str:
        series = self.theme.series
        return series[min(self.colour_ranks.get(group, len(series) - 1), len(series) - 1)]

    def _redraw_run_charts(self) -> None:
        if self.data is None:
            return
        run, layers = self.selected_run(), self._selected_run_layers()
        self.latency.set_data(chart_data.latency_data(run) if run else None)
        points = chart_data.roofline_points(self.data, layers) if layers else []
        self.roofline.set_points(
            points, {op: self._colour(op) for op in self.colour_ranks},
            f"{run_label(run)}: {len(points):,} layers" if run else "",
            "No per-layer profile in this run" if run else "")
        self.roofline.highlight(self.highlighted)
        self._redraw_breakdowns()

    def _redraw_breakdowns(self) -> None:
        if self.data is None:
            return
        metric = self.rank_by.currentData() or "macs"
        layers = self._selected_run_layers()
        value_format = _ms_axis if metric == "time" else si_compact
        empty = "No per-layer profile in this run" if metric == "time" else "All zero"
        axis_title = "time (ms)" if metric == "time" else chart_data.METRICS[metric]
        for chart in (self.top_layers, self.by_op):
            chart.setLabel("bottom", axis_title)
        top = chart_data.top_layers(self.data, metric, layers)
        self.top_layers.set_bars(top, [self._colour(b.group) for b in top], value_format, empty)
        groups = chart_data.op_type_bars(self.data, metric, layers)
        colours = [self.theme.series[i % len(self.theme.series)] if metric == "time"
                   else self._colour(b.group) for i, b in enumerate(groups)]
        self.by_op.set_bars(groups, colours, value_format, empty)
        self.highlight_layer(self.highlighted)

    # Selection
    def _top_clicked(self, index: int) -> None:
        layer = self.top_layers.bars[index].layer
        if layer is not None:
            self.layer_clicked.emit(layer)

    def _op_clicked(self, index: int) -> None:
        self.op_type_clicked.emit(self.by_op.bars[index].group)

    def highlight_layer(self, layer: int | None) -> None:
        self.highlighted = layer
        self.top_layers.highlight({i for i, bar in enumerate(self.top_layers.bars)
                                   if layer is not None and bar.layer == layer})
        groups = self._groups_of(layer)
        self.by_op.highlight({i for i, bar in enumerate(self.by_op.bars) if bar.group in groups})
        self.roofline.highlight(layer)

    def _groups_of(self, layer: int | None) -> set[str]:
        """The op type of ``layer``, or in the time view the runtime layer types it ran as."""
        if self.data is None or layer is None:
            return set()
        name = self.data.layers[layer].name
        if self.rank_by.currentData() != "time":
            return {self.data.layers[layer].op_type}
        run = self._selected_run_layers()
        runtime = run.nodes.get(name) if run else None
        return {rt.layer_type or rt.kind for rt in runtime.runtime_layers} if runtime else set()

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        for _, chart in self._charts():
            chart.apply_theme(theme)  # type: ignore[attr-defined]
        if self.data is not None:
            self._redraw_run_charts()

    # Export
    def visible_charts(self) -> list[str]:
        return [title for index, (title, _) in enumerate(self._charts())
                if self.tabs.isTabVisible(index)]

    def current_chart(self) -> str:
        return self.tabs.tabText(self.tabs.currentIndex())

    def chart_view(self, title: str) -> QWidget:
        """The pyqtgraph widget whose scene renders chart ``title``."""
        widget = dict(self._charts())[title]
        if widget is self.tradeoff:
            return self.tradeoff.plot
        return self.devices.plot if widget is self.devices else widget
