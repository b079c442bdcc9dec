"""Layout that fits: splitters free, names elided in the middle, numbers sorted largest first,
bar labels placed without overlap and values unclipped, a dark theme with visible controls."""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import pairwise

import pytest
from PySide6.QtCore import QPoint, Qt

from profiler.records.report import Report
from tests.ui.factory import make_runs, synthetic_report
from ui.chart_data import (
    BarDatum,
    bar_label_rects,
    elide_middle,
    labelled_rows,
    value_axis_max,
)
from ui.charts.base import BarChart
from ui.elided_label import ElidedLabel
from ui.main_window import MainWindow, first_window_size
from ui.model_view import ReportView
from ui.theme import DARK, LIGHT, THEMES, Theme, _style_sheet

LONG_NAME = "/features/stage{}/unit1/body/conv{}/Conv2D_with_a_very_long_tail_{}"


def hierarchical_report() -> Report:
    report = synthetic_report(60)
    assert report.analysis is not None
    layers = [replace(layer, name=LONG_NAME.format(i % 4, i, i))
              for i, layer in enumerate(report.analysis.layers)]
    report.analysis = replace(report.analysis, layers=layers)
    report.runs = make_runs(report.analysis)
    return report


@pytest.fixture
def view(qtbot, make_window) -> ReportView:
    window: MainWindow = make_window()
    shown = window.show_report(hierarchical_report())
    qtbot.waitUntil(lambda: shown.isVisible())
    return shown


def column(view: ReportView, header: str) -> int:
    return [c.header for c in view.table.model.columns].index(header)


# --- the layer table ---------------------------------------------------------------------

def test_name_column_elides_in_the_middle_with_the_full_name_as_tooltip(view: ReportView) -> None:
    table = view.table
    assert table.view.textElideMode() == Qt.TextElideMode.ElideMiddle
    name = column(view, "Layer")
    index = table.proxy.index(7, name)
    full = LONG_NAME.format(3, 7, 7)
    assert table.proxy.data(index, Qt.ItemDataRole.ToolTipRole) == full
    # the column is narrower than the name: the delegate elides it (in the middle)
    assert table.view.columnWidth(name) < table.view.fontMetrics().horizontalAdvance(full)


def click_header(qtbot, view: ReportView, section: int) -> None:
    header = view.table.view.horizontalHeader()
    view.table.view.scrollTo(view.table.proxy.index(0, section))
    x = header.sectionViewportPosition(section) + header.sectionSize(section) // 2
    qtbot.mouseClick(header.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(x, header.height() // 2))


def test_first_click_on_a_numeric_column_sorts_descending(qtbot, view: ReportView) -> None:
    header = view.table.view.horizontalHeader()
    click_header(qtbot, view, column(view, "MACs"))
    assert header.sortIndicatorOrder() == Qt.SortOrder.DescendingOrder
    assert view.table.visible_layers()[:3] == [59, 58, 57]  # layer i has i MACs
    click_header(qtbot, view, column(view, "MACs"))  # the second click flips it
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    click_header(qtbot, view, column(view, "Op type"))  # text: A to Z first
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    click_header(qtbot, view, column(view, "#"))  # execution order: first layer first
    assert header.sortIndicatorOrder() == Qt.SortOrder.AscendingOrder
    assert view.table.visible_layers()[0] == 0


# --- splitters and the window ---------------------------------------------------------------

def test_splitter_can_give_the_table_sixty_percent(qtbot, view: ReportView) -> None:
    window = view.window()
    assert window.width() == 1280
    total = sum(view.splitter.sizes())
    view.splitter.setSizes([int(total * 0.7), total - int(total * 0.7)])
    assert view.splitter.sizes()[0] >= 0.6 * total
    # what the right pane demands leaves the table 60 % at least
    assert view.right.minimumSizeHint().width() <= 0.4 * total
    assert view.charts.minimumSizeHint().width() <= 0.4 * total


def test_the_summary_card_does_not_widen_the_window(qtbot, view: ReportView) -> None:
    view.card.subtitle.setText("producer " + "x" * 600)
    assert view.card.minimumSizeHint().width() <= 1000


def test_elided_label_has_no_minimum_width(qtbot) -> None:
    label = ElidedLabel("wheel: zoom · drag: pan · double-click: reset · click: select")
    qtbot.addWidget(label)
    assert label.minimumSizeHint().width() == 0
    assert label.toolTip() == label.text()


@pytest.mark.parametrize(("screen", "expected"), [
    ((1024, 700), (870, 595)), ((1920, 1080), (1632, 918)), ((3840, 2160), (1800, 1100)),
    ((640, 480), (720, 480))])
def test_first_window_is_sized_from_the_screen(screen: tuple[int, int],
                                               expected: tuple[int, int]) -> None:
    assert first_window_size(*screen) == expected


# --- bar charts: pure layout ----------------------------------------------------------------

def test_bar_names_keep_their_distinguishing_tail() -> None:
    names = [f"/features/stage1/unit1/body/conv{i}" for i in range(3)]
    elided = [elide_middle(name, 20) for name in names]
    assert len(set(elided)) == 3 and all(len(text) == 20 for text in elided)
    assert elided[0].endswith("body/conv0") and elided[0].startswith("/fea")
    assert elide_middle("short", 20) == "short"


@pytest.mark.parametrize("rows", [1, 8, 20, 40])
@pytest.mark.parametrize("height_px", [60, 150, 320, 900])
def test_bar_label_rects_never_overlap(rows: int, height_px: int) -> None:
    rects = bar_label_rects(rows, max(rows, 8) + 0.2, height_px, text_px=15)
    assert rects and rects[0].row == 0
    for above, below in pairwise(rects):
        assert above.bottom_px <= below.top_px + 1e-9


def test_labels_thin_evenly_only_when_rows_are_shorter_than_text() -> None:
    assert labelled_rows(20, 16.0, 15.0) == list(range(20))
    assert labelled_rows(20, 7.0, 15.0) == list(range(0, 20, 3))


@pytest.mark.parametrize("plot_px", [180.0, 400.0, 1200.0])
def test_value_axis_leaves_room_for_every_value_text(plot_px: float) -> None:
    values = [300.0, 290.0, 20.0, 1.0]
    widths = [70.0, 70.0, 60.0, 50.0]
    x_max = value_axis_max(values, widths, plot_px, pad_px=8.0)
    for value, width in zip(values, widths, strict=True):
        assert value / x_max * plot_px + width + 8.0 <= plot_px + 1e-6


# --- bar charts: drawn ----------------------------------------------------------------------

def test_bar_chart_values_are_not_clipped_and_labels_do_not_overlap(qtbot) -> None:
    chart = BarChart()
    qtbot.addWidget(chart)
    bars = [BarDatum(LONG_NAME.format(1, i, i), 10.0 ** (i % 6), "", i) for i in range(20)]
    chart.set_bars(bars, ["#4e79a7"] * 20, lambda v: f"{v:,.0f} units")  # sets a minimum
    chart.show()
    for width in (300, 520, 900):
        chart.resize(width, chart.minimumHeight())
        qtbot.waitUntil(lambda w=width: chart.width() == w
                        and chart.getAxis("left").width() <= w * 0.45 + 1
                        and chart.plotItem.vb.sceneBoundingRect().right() >= w - 2)
        chart.grab()  # text items place themselves when painted
        box = chart.plotItem.vb.sceneBoundingRect()
        assert chart.value_labels
        for label in chart.value_labels:
            assert label.sceneBoundingRect().right() <= box.right() + 1
        ticks = [text for _, text in chart.getAxis("left")._tickLevels[0]]
        assert len(set(ticks)) == len(ticks)  # middle elision keeps names apart
    rows = chart.shown_rows()
    row_px = box.height() / (len(bars) + 0.2)
    assert row_px * (rows[1] - rows[0]) >= chart.fontMetrics().height()


def test_bar_chart_keeps_readable_rows_and_scrolls(qtbot, view: ReportView) -> None:
    chart = view.charts.top_layers
    assert chart.minimumHeight() >= 20 * chart.fontMetrics().height()
    page = view.charts.tabs.page_of(chart)
    assert page is not chart and page.widget() is chart  # a scroll area holds it


# --- themes ---------------------------------------------------------------------------------

def luminance(colour: str) -> float:
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("theme", list(THEMES.values()), ids=list(THEMES))
def test_theme_colours_pass_contrast(theme: Theme) -> None:
    backgrounds = (theme.window, theme.base, theme.card, theme.alternate)
    for background in backgrounds:
        assert contrast(theme.text, background) >= 4.5
        assert contrast(theme.muted, background) >= 4.5
        assert contrast(theme.control_line, background) >= 3.0  # WCAG: UI components
        assert contrast(theme.accent, background) >= 3.0  # checked indicators, focus
    assert contrast("#ffffff", theme.accent) >= 3.0  # selected rows, the check mark
    assert contrast(theme.error_fg, theme.error_bg) >= 4.5
    assert contrast(theme.info_fg, theme.info_bg) >= 4.5


@pytest.mark.parametrize("theme", [LIGHT, DARK], ids=["light", "dark"])
def test_check_box_indicators_have_a_visible_border(theme: Theme) -> None:
    sheet = _style_sheet(theme)
    rule = re.search(r"QCheckBox::indicator,[^{]*\{([^}]*)\}", sheet)
    assert rule is not None and f"border: 1px solid {theme.control_line}" in rule.group(1)
    assert "QAbstractItemView::indicator" in sheet  # check boxes in lists and tables too
    checked = re.search(r"QCheckBox::indicator:checked[^{]*\{([^}]*)\}", sheet)
    assert checked is not None and f"border-color: {theme.accent}" in checked.group(1)
    image = re.search(r'url\("([^"]+)"\)', checked.group(1))
    assert image is not None and image.group(1).endswith("check.svg")
    import os
    assert os.path.exists(image.group(1))
