"""The layer table: 20,000 layers, numeric and text sorting, op-type filter, name search."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.ui.factory import synthetic_report
from ui.layer_columns import build_columns
from ui.layer_table import LayerTable, sorted_layers
from ui.loader import prepare_document
from ui.report_data import build_report_data

LAYERS = 20_000


@pytest.fixture(scope="module")
def big_document():
    return prepare_document(synthetic_report(LAYERS))


@pytest.fixture
def table(qtbot, big_document) -> LayerTable:
    widget = LayerTable()
    qtbot.addWidget(widget)
    widget.setMinimumSize(600, 400)  # a fixed minimum, as the main window has (see there)
    widget.resize(900, 600)
    widget.show()
    widget.set_report_data(big_document.data, big_document.columns)
    return widget


def header_index(table: LayerTable, header: str) -> int:
    return [c.header for c in table.model.columns].index(header)


def cell(table: LayerTable, row: int, header: str) -> str:
    proxy = table.proxy
    return proxy.data(proxy.index(row, header_index(table, header)))


def test_twenty_thousand_layers_load_in_execution_order(table: LayerTable) -> None:
    assert table.proxy.rowCount() == LAYERS
    assert table.count_label.text() == "20,000 layers"
    assert cell(table, 0, "Layer") == "layer_00000"
    assert cell(table, LAYERS - 1, "#") == "20000"
    assert cell(table, 123, "MACs") == "123"
    assert cell(table, 12_345, "MACs") == "12.345 k"
    assert table.proxy.data(table.proxy.index(12_345, header_index(table, "MACs")),
                            Qt.ItemDataRole.ToolTipRole) == "12,345"


def test_numeric_columns_sort_by_value_not_text(table: LayerTable) -> None:
    table.view.sortByColumn(header_index(table, "MACs"), Qt.SortOrder.DescendingOrder)
    assert table.visible_layers()[:3] == [19_999, 19_998, 19_997]
    table.view.sortByColumn(header_index(table, "MACs"), Qt.SortOrder.AscendingOrder)
    assert table.visible_layers()[:3] == [0, 1, 2]
    # text would put '9.999 k' after '19.999 k'; numbers put 9999 before 10000
    layers = table.visible_layers()
    assert layers.index(9_999) < layers.index(10_000)


def test_text_columns_sort_case_insensitively_with_ties_in_execution_order(
        table: LayerTable) -> None:
    table.view.sortByColumn(header_index(table, "Op type"), Qt.SortOrder.AscendingOrder)
    layers = table.visible_layers()
    assert cell(table, 0, "Op type") == "Add" and layers[:2] == [2, 6]
    assert cell(table, LAYERS - 1, "Op type") == "Relu"
    table.view.sortByColumn(header_index(table, "Op type"), Qt.SortOrder.DescendingOrder)
    assert table.visible_layers()[:2] == [1, 5]


def test_filter_by_op_type_and_search_by_name(table: LayerTable) -> None:
    labels = [table.op_filter.itemText(i) for i in range(table.op_filter.count())]
    assert labels == ["All (20,000)", "Conv (5,000)", "Relu (5,000)", "Add (5,000)",
                      "MatMul (5,000)"]
    table.set_op_filter("Relu")
    assert table.proxy.rowCount() == 5_000
    assert {cell(table, row, "Op type") for row in range(0, 5_000, 250)} == {"Relu"}
    table.search.setText("LAYER_0001")  # case-insensitive: layer_00010 .. layer_00019
    assert table.visible_layers() == [13, 17]
    assert table.count_label.text() == "2 of 20,000 layers"
    table.set_op_filter("")
    assert table.visible_layers() == list(range(10, 20))
    table.search.clear()
    assert table.proxy.rowCount() == LAYERS


def test_filter_keeps_the_sort_and_sort_keeps_the_filter(table: LayerTable) -> None:
    table.set_op_filter("Conv")
    table.view.sortByColumn(header_index(table, "MACs"), Qt.SortOrder.DescendingOrder)
    assert table.visible_layers()[:3] == [19_996, 19_992, 19_988]
    table.search.setText("layer_1999")
    assert table.visible_layers() == [19_996, 19_992]


def test_selection_survives_sorting_and_select_layer_clears_hiding_filters(
        qtbot, table: LayerTable) -> None:
    with qtbot.waitSignal(table.layer_selected) as selected:
        table.select_layer(42)
    assert selected.args == [42]
    table.view.sortByColumn(header_index(table, "MACs"), Qt.SortOrder.DescendingOrder)
    assert table.selected_layer() == 42
    table.set_op_filter("MatMul")  # layer 42 is an Add: filtered out
    table.select_layer(42)
    assert table.op_filter.currentData() == "" and table.selected_layer() == 42


def test_sorted_layers_puts_empty_values_last_in_both_directions(big_document) -> None:
    data = build_report_data(synthetic_report(5))
    columns = build_columns(data)
    spec = columns[0].__class__("x", [3.0, None, 1.0, None, 2.0], numeric=True)
    assert sorted_layers(spec, 5, descending=False) == [2, 4, 0, 1, 3]
    assert sorted_layers(spec, 5, descending=True) == [0, 4, 2, 1, 3]


def test_execution_order_is_kept_without_sorting_and_other_columns_still_sort() -> None:
    from ui.layer_columns import ColumnSpec
    from ui.layer_table import sorted_layers

    index = ColumnSpec("#", [0, 1, 2, 3], numeric=True)
    assert sorted_layers(index, 4, descending=False) == [0, 1, 2, 3]
    assert sorted_layers(index, 4, descending=True) == [3, 2, 1, 0]
    ties = ColumnSpec("MACs", [5, 5, None, 7], numeric=True)
    assert sorted_layers(ties, 4, descending=False) == [0, 1, 3, 2]
    assert sorted_layers(ties, 4, descending=True) == [3, 0, 1, 2]
