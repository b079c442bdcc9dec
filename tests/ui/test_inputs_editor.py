"""The Inputs editor fills from the opened model, re-analyses on Apply, and feeds the runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.core.test_input_values import vad_like
from ui.inputs_editor import DECLARED, NOTE, app_text
from ui.summary_card import io_html


def test_editor_fills_edits_and_reanalyses(qtbot: Any, make_window: Any, tmp_path: Path) -> None:
    window = make_window()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        window.open_paths([vad_like(tmp_path / "vad.onnx")])
    editor = window.profile_panel.inputs
    qtbot.waitUntil(lambda: editor.table.rowCount() == 4, timeout=10_000)
    sr, tt = editor.row_of("sr"), editor.row_of("tt")
    assert editor.table.item(sr, DECLARED).text() == "scalar"
    assert "2-row table" in editor.table.item(tt, NOTE).text()
    assert "set the shape of x in Inputs" in editor.message.text()
    assert "--shape" not in editor.message.text()

    editor.set_row("x", shape="1x64")
    editor.set_row("sr", source="value", setting="8000")
    with qtbot.waitSignal(editor.applied, timeout=60_000) as applied:
        editor.apply_button.click()
    report = applied.args[0]
    inputs = {spec.name: spec for spec in report.model.inputs}
    assert inputs["x"].shape == [1, 64] and inputs["x"].shape_source == "override"
    assert inputs["sr"].value_source == "user" and inputs["sr"].value_fill == 8000
    def shown() -> Any:
        view = window.current_view()
        return view.document.report if view is not None else None

    qtbot.waitUntil(lambda: shown() is not None and shown().model.inputs[0].shape == [1, 64],
                    timeout=10_000)
    assert "values user: given: 8000" in io_html(shown())
    assert editor.source(editor.row_of("sr")) == "value"

    options = window.profile_panel.options()
    assert options.input_values == {"sr": 8000.0}
    assert editor.settings().shapes == {"x": (1, 64)}


def test_bad_cells_are_reported_in_app_words(qtbot: Any, make_window: Any,
                                             tmp_path: Path) -> None:
    window = make_window()
    with qtbot.waitSignal(window.loader.loaded, timeout=60_000):
        window.open_paths([vad_like(tmp_path / "vad.onnx")])
    editor = window.profile_panel.inputs
    qtbot.waitUntil(lambda: editor.table.rowCount() == 4, timeout=10_000)
    editor.set_row("tt", source="range", setting="5")
    assert editor.checked_settings() is None
    assert "--input-range" in editor.message.text() or "LO:HI" in editor.message.text()
    assert app_text("give one with --shape sr=DIMxDIM...") == "set the shape of sr in Inputs"
