"""What keeps the GUI thread short when a large report is shown: column widths from texts found
off the GUI thread, charts built and drawn one per event-loop turn, filtering without a Python
call per row when no filter is set."""

from __future__ import annotations

from dataclasses import replace

from tests.ui.factory import make_runs, synthetic_report
from ui.charts.panel import TITLES, ChartPanel
from ui.layer_columns import ColumnSpec, build_columns, widest_text
from ui.layer_table import MAX_NAME_WIDTH_PX, LayerTable
from ui.loader import prepare_document
from ui.report_data import build_report_data


def test_widest_text_reads_every_text_value_and_the_numeric_extremes() -> None:
    names = ColumnSpec("Layer", ["a"] * 500 + ["a_much_longer_name_at_the_end"])
    assert widest_text(names) == "a_much_longer_name_at_the_end"
    numbers = ColumnSpec("MACs", [1] * 500 + [123_456_789], "{:,}".format, numeric=True)
    assert widest_text(numbers) == "123,456,789"  # past the sampled rows: the maximum counts
    assert widest_text(ColumnSpec("Note", [None, None])) == ""


def test_build_columns_records_each_columns_widest_text() -> None:
    columns = build_columns(build_report_data(synthetic_report(300)))
    assert all(column.widest == widest_text(column) for column in columns)


def test_column_widths_fit_the_widest_text_up_to_the_cap(qtbot) -> None:
    document = prepare_document(synthetic_report(2_000))
    table = LayerTable()
    qtbot.addWidget(table)
    table.setMinimumSize(600, 400)  # a fixed minimum, as the main window has
    table.resize(900, 600)
    table.show()
    columns = [replace(c, widest="W" * 80) if c.header == "Layer" else c
               for c in document.columns]
    table.set_report_data(document.data, columns)
    headers = [c.header for c in columns]
    assert table.view.columnWidth(headers.index("Layer")) == MAX_NAME_WIDTH_PX
    op_type = headers.index("Op type")
    metrics = table.view.fontMetrics()
    assert table.view.columnWidth(op_type) >= metrics.horizontalAdvance(
        columns[op_type].widest or "")


def test_the_filter_still_hides_and_shows_rows(qtbot) -> None:
    document = prepare_document(synthetic_report(1_000))
    table = LayerTable()
    qtbot.addWidget(table)
    table.set_report_data(document.data, document.columns)
    op_type = document.data.op_counts[-1][0]
    table.set_op_filter(op_type)
    shown = table.visible_layers()
    assert shown and all(document.data.layers[i].op_type == op_type for i in shown)
    table.set_op_filter("")
    assert len(table.visible_layers()) == 1_000
    table.set_report_data(document.data, document.columns)  # a refresh keeps no stale filter
    assert len(table.visible_layers()) == 1_000


def test_charts_are_built_and_drawn_in_later_turns(qtbot) -> None:
    report = synthetic_report(500)
    assert report.analysis is not None
    report.runs = make_runs(report.analysis)
    data = build_report_data(report)
    panel = ChartPanel()
    qtbot.addWidget(panel)
    panel.setMinimumSize(600, 400)
    panel.show()
    panel.set_data(data)
    assert not panel.built  # nothing built in the slot that handed the data over
    with qtbot.waitSignal(panel.drawn, timeout=30_000):
        pass
    assert panel.is_drawn() and set(panel.built) == set(TITLES)
    assert panel.top_layers.bars and panel.roofline.points


def test_reading_a_chart_builds_and_draws_it_at_once(qtbot) -> None:
    panel = ChartPanel()
    qtbot.addWidget(panel)
    panel.set_data(build_report_data(synthetic_report(200)))
    assert panel.top_layers.bars and panel.by_op.bars  # no event loop turn in between


def test_a_full_collection_freezes_its_survivors_until_a_document_closes(
        qtbot, monkeypatch) -> None:
    """Later full collections skip what survived one (a large report's objects), so they
    stay short; closing a document lets them be collected again."""
    import gc

    from ui.gc_guard import GuiThreadCollector

    collector = GuiThreadCollector()
    try:
        thresholds = gc.get_threshold()
        monkeypatch.setattr(gc, "get_count", lambda: (0, 0, thresholds[2] + 1))
        collector.check()  # the oldest generation is over its threshold: a full collection
        assert gc.get_freeze_count() > 0
        collector.release()
        assert gc.get_freeze_count() == 0
    finally:
        collector.stop()
