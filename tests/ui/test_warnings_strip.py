"""The warnings strip: a compact bar with the count and the first warning, expandable to every
warning, each row's button asking for the app action (set inputs, pin CPUs, longer run)."""

from __future__ import annotations

import os
from collections.abc import Callable

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from tests.ui.test_warnings_data import noisy_report
from ui.warnings_data import LONGER_RUN, PIN_CPUS, SET_INPUTS, document_warnings
from ui.warnings_strip import WarningsStrip


@pytest.fixture
def make_strip(qtbot) -> Callable[[], WarningsStrip]:
    """The strip above a document, in a window the size the app is judged at."""
    host = QWidget()
    qtbot.addWidget(host)

    def make() -> WarningsStrip:
        strip = WarningsStrip()
        layout = QVBoxLayout(host)
        layout.addWidget(strip)
        layout.addStretch(1)
        strip.set_warnings(document_warnings(noisy_report()))
        # a fixed minimum first: offscreen platforms warn when a shown window's limits change
        host.setMinimumSize(1280, 800)
        host.show()
        qtbot.waitExposed(host)
        return strip

    return make


def test_collapsed_bar_shows_the_count_and_the_first_warning(qtbot, make_strip, tmp_path) -> None:
    strip = make_strip()
    assert "2 errors, 9 warnings" in strip.count.text()
    assert strip.first.text() == "ov:GPU.0 fp32 failed: GPU plugin: device lost."
    assert strip.first_action.text() == "Profile again" and strip.first_action.isVisible()
    assert not strip.is_expanded() and strip.rows.isHidden()
    strip.grab().save(os.path.join(str(tmp_path), "strip_collapsed.png"))


def test_expanded_rows_offer_the_actions(qtbot, make_strip, tmp_path) -> None:
    strip = make_strip()
    qtbot.mouseClick(strip.toggle, Qt.MouseButton.LeftButton)
    assert strip.is_expanded() and strip.rows.isVisible() and not strip.first.isVisible()
    rows = strip.row_widgets()
    assert len(rows) == 11
    assert all("--" not in row.text.text() for row in rows)
    buttons = {row.warning.kind: row.button.text() for row in rows if row.button is not None}
    assert buttons == {"guessed_inputs": "Set inputs", "defaulted_shape": "Set inputs",
                       "unknown_shapes": "Set inputs", "noisy_run": "Pin CPUs",
                       "time_cap": "Longer run", "failed_run": "Profile again"}
    strip.grab().save(os.path.join(str(tmp_path), "strip_expanded.png"))
    requested = []
    strip.action_requested.connect(lambda action, payload: requested.append((action, payload)))
    for kind in ("guessed_inputs", "noisy_run", "time_cap"):
        row = next(row for row in rows if row.warning.kind == kind)
        assert row.button is not None
        qtbot.mouseClick(row.button, Qt.MouseButton.LeftButton)
    assert requested == [(SET_INPUTS, "input_ids"), (PIN_CPUS, "ov:CPU"), (LONGER_RUN, "ort:cpu")]


def test_no_warnings_hides_the_strip(make_strip) -> None:
    strip = make_strip()
    strip.set_warnings([])
    assert strip.isHidden()
    strip.set_warnings(document_warnings(noisy_report())[:1])
    assert strip.isVisible() and strip.toggle.isHidden()
