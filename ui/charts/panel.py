"""The chart panel of a report tab: metric and run pickers over a tab per chart. Charts that
need runs appear once the report has them.

Each chart is built, and drawn after new data, in its own turn of the event loop (the shown tab
first), so a tab for a large model never holds the GUI thread for all six at once. Reading a
chart attribute (``panel.top_layers``) builds and draws it on the spot."""

from __future__ import annotations

import time

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
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
TITLES = (TOP_LAYERS, BY_OP, LATENCY, DEVICES, ROOFLINE, TRADEOFF)
RUN_CHARTS = (LATENCY, ROOFLINE, TOP_LAYERS, BY_OP)
BREAKDOWNS = (TOP_LAYERS, BY_OP)


MIN_CHART_HEIGHT_PX = 240
"""Below this a chart scrolls in its tab instead of squeezing its labels together."""
HINT = "wheel: zoom · drag: pan · double-click: reset · click: select"


STEP_GAP_MS = 8
"""Between one chart step (one chart built or drawn) and the next."""
LATE_STEP_S = 0.015


def _ms_axis(value: float) -> str:
    return milliseconds(value).removesuffix(" ms")


class ChartTabs(QTabWidget):
    """One tab per chart; each chart sits in a vertical scroll area (its page), and the tab
    methods that take a widget accept the chart itself."""

    def add_page(self, title: str) -> None:
        """An empty page; ``put_chart`` fills it once the chart is built."""
        page = QScrollArea()
        page.setWidgetResizable(True)
        page.setFrameShape(QFrame.Shape.NoFrame)
        # The page's size comes from the panel, never from its chart: a chart's minimum height
        # changes with every draw, and a size hint following it would re-lay out (and
        # repaint) the whole report view each time.
        page.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        page.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.addTab(page, title)

    def put_chart(self, index: int, chart: QWidget) -> None:
        page = super().widget(index)
        assert isinstance(page, QScrollArea)
        chart.setMinimumHeight(max(chart.minimumHeight(), MIN_CHART_HEIGHT_PX))
        page.setWidget(chart)
        chart.show()  # a widget set into a scroll area already on screen stays hidden otherwise

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
    drawn = Signal()
    """Every chart is built and shows the current data."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.theme = LIGHT
        self.data: ReportData | None = None
        self.highlighted: int | None = None
        self.colour_ranks: dict[str, int] = {}
        self.rank_by = QComboBox()
        self.run = QComboBox()
        self.run_label = QLabel("Run")
        self.built: dict[str, QWidget] = {}
        self.stale: set[str] = set()
        """Built charts whose drawing is behind the data."""
        self.tabs = ChartTabs()
        self.tabs.setDocumentMode(True)
        for title in TITLES:
            self.tabs.add_page(title)
        self.steps = QTimer(self)
        self.steps.setSingleShot(True)
        # Not 0: a chart step then never runs straight after the paint or relayout that the
        # same change queued; input and other timers get a turn between (a 10k-node model's
        # chart step and a window repaint are 20-30 ms each).
        self.steps.setInterval(STEP_GAP_MS)
        self.steps.timeout.connect(self._step)
        self.step_due = 0.0
        """When the next step should run (time.monotonic); a later one first yields a turn."""
        self.step_yielded = False
        self._layout()
        self._connect()
        self._schedule()

    # The charts, built on first use
    @property
    def top_layers(self) -> BarChart:
        return self.chart(TOP_LAYERS)  # type: ignore[return-value]

    @property
    def by_op(self) -> BarChart:
        return self.chart(BY_OP)  # type: ignore[return-value]

    @property
    def latency(self) -> LatencyChart:
        return self.chart(LATENCY)  # type: ignore[return-value]

    @property
    def devices(self) -> DeviceChart:
        return self.chart(DEVICES)  # type: ignore[return-value]

    @property
    def roofline(self) -> RooflineChart:
        return self.chart(ROOFLINE)  # type: ignore[return-value]

    @property
    def tradeoff(self) -> TradeoffChart:
        return self.chart(TRADEOFF)  # type: ignore[return-value]

    def chart(self, title: str) -> QWidget:
        """Chart ``title``, built and showing the current data (now, if its turn has not come)."""
        widget = self.built.get(title)
        if widget is None:
            widget = self._build(title)
            # its size comes from layouts that settle in the event loop; a caller reading the
            # chart now (an export) needs it laid out first
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
        if title in self.stale:
            self._draw(title)
        return widget

    def _build(self, title: str) -> QWidget:
        widget = _new_chart(title)
        if isinstance(widget, BarChart):
            widget.bar_clicked.connect(self._top_clicked if title == TOP_LAYERS
                                       else self._op_clicked)
        elif isinstance(widget, RooflineChart):
            widget.layer_clicked.connect(self.layer_clicked)
        elif isinstance(widget, DeviceChart):
            widget.plot.run_clicked.connect(self.select_run)
        widget.apply_theme(self.theme)  # type: ignore[attr-defined]
        self.tabs.put_chart(TITLES.index(title), widget)
        self.built[title] = widget
        if self.data is not None:
            self.stale.add(title)
        return widget

    def _schedule(self, gap_ms: int = STEP_GAP_MS, yielding: bool = False) -> None:
        self.step_due = time.monotonic() + gap_ms / 1000
        self.step_yielded = yielding
        self.steps.start(gap_ms)

    def _step(self) -> None:
        """One chart built or drawn per turn: the shown tab's first. A step that fires late
        (the loop was busy: a repaint, a slot) lets one turn pass first, so the input and
        timers that waited meanwhile run before the step adds its 10-30 ms."""
        if not self.step_yielded and time.monotonic() - self.step_due > LATE_STEP_S:
            self._schedule(0, yielding=True)  # once: a loop busy all along still gets drawn
            return
        current = self.current_chart()
        order = [current, *(t for t in TITLES if t != current)]
        unbuilt = [t for t in order if t not in self.built]
        stale = [t for t in order if t in self.stale]
        if current in stale:
            self._draw(current)
        elif unbuilt:
            self._build(unbuilt[0])
        elif stale:
            self._draw(stale[0])
        if any(t not in self.built for t in TITLES) or self.stale:
            self._schedule()
        else:
            self.drawn.emit()

    def is_drawn(self) -> bool:
        return len(self.built) == len(TITLES) and not self.stale

    def _mark_stale(self, titles: tuple[str, ...]) -> None:
        self.stale.update(t for t in titles if t in self.built)
        self._schedule()

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
        self.tabs.currentChanged.connect(lambda _index: self._schedule())

    # Data in
    def set_data(self, data: ReportData) -> None:
        self.data = data
        self.colour_ranks = chart_data.op_colour_ranks(data)
        self._fill_pickers(data)
        self._set_tab_visibility(data)
        self._mark_stale(TITLES)

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
        for index, title in enumerate(TITLES):
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
        self._mark_stale(RUN_CHARTS)

    def _redraw_breakdowns(self) -> None:
        self._mark_stale(BREAKDOWNS)

    def _draw(self, title: str) -> None:
        self.stale.discard(title)
        data, widget = self.data, self.built[title]
        if data is None:
            return
        if isinstance(widget, BarChart):
            self._draw_breakdown(widget, data, title)
        elif isinstance(widget, LatencyChart):
            run = self.selected_run()
            widget.set_data(chart_data.latency_data(run) if run else None)
        elif isinstance(widget, DeviceChart):
            widget.set_runs(chart_data.device_bars(data.runs), chart_data.failed_runs(data.runs))
        elif isinstance(widget, RooflineChart):
            self._draw_roofline(widget, data)
        elif isinstance(widget, TradeoffChart):
            widget.set_report(data.report)

    def _draw_roofline(self, chart: RooflineChart, data: ReportData) -> None:
        run, layers = self.selected_run(), self._selected_run_layers()
        points = chart_data.roofline_points(data, layers) if layers else []
        chart.set_points(
            points, {op: self._colour(op) for op in self.colour_ranks},
            f"{run_label(run)}: {len(points):,} layers" if run else "",
            "No per-layer profile in this run" if run else "")
        chart.highlight(self.highlighted)

    def _draw_breakdown(self, chart: BarChart, data: ReportData, title: str) -> None:
        metric = self.rank_by.currentData() or "macs"
        layers = self._selected_run_layers()
        value_format = _ms_axis if metric == "time" else si_compact
        empty = "No per-layer profile in this run" if metric == "time" else "All zero"
        chart.setLabel("bottom", "time (ms)" if metric == "time" else chart_data.METRICS[metric])
        if title == TOP_LAYERS:
            bars = chart_data.top_layers(data, metric, layers)
            colours = [self._colour(b.group) for b in bars]
        else:
            bars = chart_data.op_type_bars(data, metric, layers)
            colours = [self.theme.series[i % len(self.theme.series)] if metric == "time"
                       else self._colour(b.group) for i, b in enumerate(bars)]
        chart.set_bars(bars, colours, value_format, empty)
        self._highlight_bars(chart, title, self.highlighted)

    # Selection
    def _top_clicked(self, index: int) -> None:
        layer = self.top_layers.bars[index].layer
        if layer is not None:
            self.layer_clicked.emit(layer)

    def _op_clicked(self, index: int) -> None:
        self.op_type_clicked.emit(self.by_op.bars[index].group)

    def highlight_layer(self, layer: int | None) -> None:
        """Outline ``layer`` in the drawn charts; the others outline it when drawn."""
        self.highlighted = layer
        for title, widget in self.built.items():
            if title in self.stale:
                continue
            if isinstance(widget, BarChart):
                self._highlight_bars(widget, title, layer)
            elif isinstance(widget, RooflineChart):
                widget.highlight(layer)

    def _highlight_bars(self, chart: BarChart, title: str, layer: int | None) -> None:
        if title == TOP_LAYERS:
            chart.highlight({i for i, bar in enumerate(chart.bars)
                             if layer is not None and bar.layer == layer})
        else:
            groups = self._groups_of(layer)
            chart.highlight({i for i, bar in enumerate(chart.bars) if bar.group in groups})

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
        for chart in self.built.values():
            chart.apply_theme(theme)  # type: ignore[attr-defined]
        if self.data is not None:
            self._mark_stale(RUN_CHARTS)

    # Export
    def visible_charts(self) -> list[str]:
        return [title for index, title in enumerate(TITLES) if self.tabs.isTabVisible(index)]

    def current_chart(self) -> str:
        return self.tabs.tabText(self.tabs.currentIndex())

    def chart_view(self, title: str) -> QWidget:
        """The pyqtgraph widget whose scene renders chart ``title``."""
        widget = self.chart(title)
        if isinstance(widget, TradeoffChart):
            return widget.plot
        return widget.plot if isinstance(widget, DeviceChart) else widget


def _new_chart(title: str) -> QWidget:
    if title in BREAKDOWNS:
        return BarChart()
    factories: dict[str, type[QWidget]] = {
        LATENCY: LatencyChart, DEVICES: DeviceChart, ROOFLINE: RooflineChart,
        TRADEOFF: TradeoffChart}
    return factories[title]()
