"""The history dock lists saved runs (read off the GUI thread), filters them, compares two
with the CLI's figures and opens a run's report in a tab."""

from __future__ import annotations

import copy

from profiler.history.store import HistoryStore
from tests.ui.factory import make_runs, synthetic_report


def saved_reports() -> list[int]:
    """Two reports of the same model; the second is 10 % slower on ort:cpu."""
    first = synthetic_report(8)
    first.runs = make_runs(first.analysis)[:2]
    second = copy.deepcopy(first)
    second.runs[1].latency.p50 *= 1.1
    store = HistoryStore()
    return store.save_report(first) + store.save_report(second)


def test_lists_filters_compares_and_opens(qtbot, make_window) -> None:
    ov_a, ort_a, ov_b, ort_b = saved_reports()
    window = make_window()
    view = window.history_view
    with qtbot.waitSignal(view.loader.finished, timeout=30_000):
        view.refresh_button.click()
    assert sorted(view.visible_ids()) == [ov_a, ort_a, ov_b, ort_b]
    row = view.entries.index(next(e for e in view.entries if e.id == ort_a))
    assert view.table.item(row, 3).text() == "ort:cpu"
    assert view.table.item(row, 2).text() == "synthetic.onnx"
    view.filter.setText("ort:")
    assert sorted(view.visible_ids()) == [ort_a, ort_b]
    view.select_ids([ort_a, ort_b])
    assert view.compare_button.isEnabled()
    with qtbot.waitSignal(view.worker.finished, timeout=30_000):
        view.compare_button.click()
    expected = HistoryStore().compare_runs(ort_a, ort_b, top=500)
    from profiler.report.compare import delta_rows

    # the comparison is a table now (it was the CLI's text): the same rows as the core's
    assert view.comparison.shown_rows() == delta_rows(expected)
    assert view.comparison.shown_rows()[0].cells()[7] == "+10.0 %"
    view.select_ids([ov_a])
    with qtbot.waitSignal(view.worker.finished, timeout=30_000):
        view.open_button.click()
    shown = window.current_view().document.report
    assert [run.device for run in shown.runs] == ["ov:CPU", "ort:cpu"]
