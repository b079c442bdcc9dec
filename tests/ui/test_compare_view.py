"""History compare as a table and a chart: two runs of one model on two devices give one
device row and layer rows only for the model nodes both devices timed; sorting the table
re-orders the chart, which has one bar per row shown."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from profiler.history.store import HistoryStore
from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, Run, RuntimeLayer
from tests.helpers import latency
from ui.compare_view import CompareView, sorted_rows

DELTA, DELTA_PERCENT = 6, 7


def _layer(name: str, ms: float, nodes: list[str], kind: str = "compute") -> RuntimeLayer:
    return RuntimeLayer(name=name, layer_type="Op", time_ms=ms, model_nodes=nodes, kind=kind)


def saved_pair() -> tuple[int, int]:
    """One report, two devices that finished at different times; OpenVINO fuses conv+relu
    and adds a reorder, ONNX Runtime also times a softmax OpenVINO folded away."""
    ov = Run("ov:CPU", latency=latency([5.0] * 5), finished="2025-03-01T10:00:05+00:00",
             layer_profile=LayerProfile([_layer("reorder", 0.4, [], "reorder"),
                                         _layer("conv_fused", 3.0, ["conv", "relu"], "fused"),
                                         _layer("fc", 1.0, ["fc"])]))
    ort = Run("ort:cpu", latency=latency([6.0] * 5), finished="2025-03-01T10:02:40+00:00",
              layer_profile=LayerProfile([_layer("conv", 2.0, ["conv"]),
                                          _layer("relu", 0.5, ["relu"]),
                                          _layer("fc", 1.5, ["fc"]),
                                          _layer("softmax", 0.7, ["softmax"])]))
    model = ModelInfo(path="/m/net.onnx", name="net.onnx", format="onnx", sha256="cd" * 32)
    ov_id, ort_id = HistoryStore().save_report(
        Report(created="2025-03-01T09:59:00+00:00", model=model, runs=[ov, ort]))
    return ov_id, ort_id


def test_history_compare_on_two_devices(qtbot, make_window) -> None:
    ov_id, ort_id = saved_pair()
    view = make_window().history_view
    with qtbot.waitSignal(view.loader.finished, timeout=30_000):
        view.refresh_button.click()
    assert [entry.id for entry in view.entries] == [ort_id, ov_id]  # each run its own time
    assert view.table.item(0, 1).text() == "2025-03-01 10:02:40"
    assert view.table.item(1, 1).text() == "2025-03-01 10:00:05"
    view.select_ids([ov_id, ort_id])
    with qtbot.waitSignal(view.worker.finished, timeout=30_000):
        view.compare_button.click()
    compare = view.comparison
    assert "10:00:05" in compare.sides.text() and "10:02:40" in compare.sides.text()
    rows = compare.shown_rows()
    assert [(r.scope, r.device if r.scope == "device" else r.name) for r in rows] == [
        ("device", "ov:CPU -> ort:cpu"), ("layer", "conv (+1 fused)"), ("layer", "fc")]
    device, conv, fc = rows
    assert (device.a_ms, device.b_ms, device.delta_ms) == (5.0, 6.0, pytest.approx(1.0))
    assert (conv.a_ms, conv.b_ms, conv.delta_ms) == (3.0, 2.5, pytest.approx(-0.5))
    assert (fc.a_ms, fc.b_ms, fc.delta_percent) == (1.0, 1.5, pytest.approx(50.0))
    assert compare.model.index(0, DELTA).data() == "+1.000 ms"
    assert compare.chart.bar_count() == 3
    assert compare.note.isHidden()


def test_sorting_and_filtering_redraw_the_chart(qtbot) -> None:
    ov_id, ort_id = saved_pair()
    view = CompareView()
    qtbot.addWidget(view)
    view.set_comparison(HistoryStore().compare_runs(ov_id, ort_id))
    view.table.sortByColumn(DELTA, Qt.SortOrder.AscendingOrder)
    assert [r.delta_ms for r in view.shown_rows()] == [pytest.approx(-0.5), pytest.approx(0.5),
                                                       pytest.approx(1.0)]
    view.table.sortByColumn(DELTA, Qt.SortOrder.DescendingOrder)
    assert view.model.index(0, DELTA).data() == "+1.000 ms"
    assert view.chart.rows == view.shown_rows() and view.chart.bar_count() == 3
    view.scope.setCurrentText("Layers")
    assert [r.name for r in view.shown_rows()] == ["fc", "conv (+1 fused)"]  # still sorted
    assert view.chart.bar_count() == view.model.rowCount() == 2


def test_runs_of_different_models_show_latency_and_a_note(qtbot) -> None:
    store = HistoryStore()
    runs = []
    for name in ("a.onnx", "b.onnx"):
        run = Run("ov:CPU", latency=latency([4.0] * 3),
                  layer_profile=LayerProfile([_layer("conv", 1.0, ["conv"])]))
        model = ModelInfo(path=f"/m/{name}", name=name, format="onnx", sha256=name * 8)
        runs += store.save_report(Report(model=model, runs=[run]))
    view = CompareView()
    qtbot.addWidget(view)
    view.set_comparison(store.compare_runs(*runs))
    assert [r.scope for r in view.shown_rows()] == ["device"]
    assert not view.note.isHidden() and "different models" in view.note.text()


def test_missing_figures_sort_last_both_ways() -> None:
    from profiler.report.compare import DeltaRow

    rows = [DeltaRow("device", d, "fp32", "", None, None, delta, None)
            for d, delta in (("a", 2.0), ("b", None), ("c", -1.0))]
    assert [r.device for r in sorted_rows(rows, DELTA, False)] == ["c", "a", "b"]
    assert [r.device for r in sorted_rows(rows, DELTA, True)] == ["a", "c", "b"]
    assert [r.device for r in sorted_rows(rows, DELTA_PERCENT, True)] == ["a", "b", "c"]
