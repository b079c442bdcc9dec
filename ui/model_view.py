"""One report tab: summary card, layer table, charts and the selected layer's details, kept in
sync (selecting a layer anywhere selects it everywhere). The selected layers are announced
(``layers_selected``) for the application state; ``add_strip`` and ``add_side_pane`` are the
places for the warnings strip (under the card) and the runs pane (beside the charts)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QColor, QShowEvent
from PySide6.QtWidgets import QSplitter, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from ui.details import layer_details_html
from ui.layer_table import LayerTable
from ui.loader import Document
from ui.summary_card import SummaryCard
from ui.theme import LIGHT, Theme

if TYPE_CHECKING:
    from profiler.records.report import Report
    from ui.charts import ChartPanel

TABLE_SHARE = 0.58
CHART_SHARE = 0.64
DETAILS_HINT = "Select a layer in the table or a chart to see its shapes, costs and run times."


class ReportView(QWidget):
    """Shows a :class:`Document`; ``set_document`` refreshes every part (runs included).
    Made without one (``document=None``), it is a tab's widgets waiting for their document:
    the window builds the next tab so while a file is being analysed."""

    layer_selected = Signal(int)
    layers_selected = Signal(list)
    """Every selected layer (rows of the table plus the current one), sorted."""

    def __init__(self, document: Document | None, theme: Theme = LIGHT,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        from ui.charts import ChartPanel  # pyqtgraph: imported with the first report only

        self.document: Document
        self.doc_id = 0
        """The application state's id of the document shown (set by the window)."""
        self.theme = theme
        self.selected: int | None = None
        self.card = SummaryCard()
        self.table = LayerTable()
        self.charts: ChartPanel = ChartPanel()
        self.details = QTextBrowser()
        self.details.setOpenLinks(False)
        self.details.anchorClicked.connect(self._link_clicked)
        self.lower_tabs = QTabWidget()
        """Under the charts: the selected layer's details, and the document's runs (a tab, not
        a third column, so the layer table keeps its width at 1280 px)."""
        self.lower_tabs.setDocumentMode(True)
        self.sized = False
        self.right = QSplitter(Qt.Orientation.Vertical)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.strips = QVBoxLayout()
        self.strip: QWidget | None = None
        self.side_pane: QWidget | None = None
        self._layout()
        self.table.layer_selected.connect(self._layer_selected)
        selection = self.table.view.selectionModel()
        selection.selectionChanged.connect(lambda *_: self._announce_selection())
        self.charts.layer_clicked.connect(self.select_layer)
        self.charts.op_type_clicked.connect(self._op_type_clicked)
        self.apply_theme(theme)
        if document is not None:
            self.set_document(document)

    def showEvent(self, event: QShowEvent) -> None:  # Qt override
        super().showEvent(event)
        if not self.sized:  # first show: proportions of the real size (hints say too little)
            self.sized = True
            width = self.width()
            self.splitter.setSizes([int(width * TABLE_SHARE), int(width * (1 - TABLE_SHARE))])
            height = self.right.height()
            self.right.setSizes([int(height * CHART_SHARE), int(height * (1 - CHART_SHARE))])

    def _layout(self) -> None:
        right = self.right
        right.addWidget(self.charts)
        self.lower_tabs.addTab(self.details, "Details")
        right.addWidget(self.lower_tabs)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 11)
        self.splitter.setStretchFactor(1, 9)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.addWidget(self.card)
        layout.addLayout(self.strips)
        layout.addWidget(self.splitter, 1)

    def add_strip(self, widget: QWidget) -> None:
        """A full-width strip under the summary card (the document's warnings)."""
        self.strip = widget
        self.strips.addWidget(widget)

    def add_side_pane(self, widget: QWidget, title: str = "Runs") -> None:
        """A tab beside the layer details under the charts (the document's runs)."""
        self.side_pane = widget
        self.lower_tabs.addTab(widget, title)

    def set_side_pane_title(self, title: str) -> None:
        if self.side_pane is not None:
            self.lower_tabs.setTabText(self.lower_tabs.indexOf(self.side_pane), title)

    def show_side_pane(self) -> None:
        if self.side_pane is not None:
            self.lower_tabs.setCurrentWidget(self.side_pane)

    @property
    def report(self) -> Report:
        return self.document.report

    def set_document(self, document: Document) -> None:
        self.document = document
        self.card.set_report(document.report)
        self.card.set_origin(self._origin_text(document))
        selected = self.selected
        self.table.set_report_data(document.data, document.columns)  # keeps its selection
        self.charts.set_data(document.data)
        if selected is not None and selected < len(document.data.layers):
            self._apply_selection(selected)  # new runs: new details and highlights
        else:
            self.selected = None
            self.details.setHtml(f"<p style='color:{self.theme.muted}'>{DETAILS_HINT}</p>")

    @staticmethod
    def _origin_text(document: Document) -> str:
        if document.read_only:
            return f"Saved report · {document.report.created} · read-only"
        runs = len(document.report.runs)
        return f"{runs} run{'s' if runs != 1 else ''}" if runs else "Static analysis"

    def select_layer(self, layer: int) -> None:
        self.table.select_layer(layer)  # the table reports back through layer_selected

    def _layer_selected(self, layer: int) -> None:
        if layer != self.selected:
            self._apply_selection(layer)
            self.layer_selected.emit(layer)
        self._announce_selection()

    def selected_layers(self) -> list[int]:
        from ui.layer_table import LAYER_INDEX_ROLE

        selection = self.table.view.selectionModel()
        rows = selection.selectedRows() if selection is not None else []
        layers = {int(self.table.proxy.data(index, LAYER_INDEX_ROLE)) for index in rows}
        current = self.table.selected_layer()
        if current is not None:
            layers.add(current)
        return sorted(layer for layer in layers if 0 <= layer < len(self.document.data.layers))

    def _announce_selection(self) -> None:
        self.layers_selected.emit(self.selected_layers())

    def _apply_selection(self, layer: int) -> None:
        self.selected = layer
        self._show_details(layer)
        self.charts.highlight_layer(layer)

    def _show_details(self, layer: int) -> None:
        self.details.setHtml(layer_details_html(self.document.data, layer, self.theme.muted))
        self.lower_tabs.setCurrentWidget(self.details)

    def _op_type_clicked(self, op_type: str) -> None:
        if any(op == op_type for op, _ in self.document.data.op_counts):
            self.table.set_op_filter(op_type)

    def _link_clicked(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("layer:") and text[6:].isdigit():
            self.select_layer(int(text[6:]))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.card.apply_theme(theme)
        self.charts.apply_theme(theme)
        self.table.model.warn_colour = QColor(theme.warn)
        if self.selected is not None:
            self._show_details(self.selected)
