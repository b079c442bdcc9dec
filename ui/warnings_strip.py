"""The warnings strip above a document: a compact bar (icon, "3 warnings", the first one) that
expands into the full list, each row with a button naming the app action that addresses it
(Set inputs, Pin CPUs, Longer run, Profile again). Rows come from ui.warnings_data."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ui.elided_label import ElidedLabel
from ui.theme import LIGHT, Theme
from ui.warnings_data import ERROR, DocWarning, summary_text

ICON_PX = 16
MAX_LIST_HEIGHT_PX = 220
SEPARATOR_PX = 12


class WarningRow(QWidget):
    """One warning: its sentence and, when the app can address it, a button."""

    def __init__(self, warning: DocWarning, strip: WarningsStrip) -> None:
        super().__init__()
        self.warning = warning
        self.text = QLabel(warning.text)
        self.text.setWordWrap(True)
        if warning.severity == ERROR:
            self.text.setStyleSheet(f"color: {strip.theme.bad}")
        self.text.setTextFormat(Qt.TextFormat.PlainText)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.button: QPushButton | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 1, 0, 1)
        layout.addWidget(self.text, 1)
        if warning.action_label:
            self.button = QPushButton(warning.action_label)
            self.button.setToolTip(f"{warning.action_label}: {warning.payload}"
                                   if warning.payload else warning.action_label)
            self.button.clicked.connect(lambda: strip.action_requested.emit(
                warning.action, warning.payload))
            layout.addWidget(self.button, 0, Qt.AlignmentFlag.AlignTop)


class WarningsStrip(QFrame):
    action_requested = Signal(str, str)
    """(action, payload): e.g. ('set_inputs', 'input_ids'), ('pin_cpus', 'ov:CPU')."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("warningsStrip")
        self.warnings: list[DocWarning] = []
        self.row_list: list[WarningRow] = []
        self.theme = LIGHT
        self.icon = QLabel()
        self.count = QLabel()
        self.first = ElidedLabel()
        self.first_action = QPushButton()
        self.toggle = QToolButton()
        self.toggle.setAutoRaise(True)
        self.toggle.setCheckable(True)
        self.toggle.setText("Show all")
        self.list = QWidget()
        self.rows_layout = QVBoxLayout(self.list)
        self.rows_layout.setContentsMargins(ICON_PX + 8, 0, 4, 0)
        self.rows_layout.setSpacing(0)
        self.rows = QScrollArea()  # a long list scrolls: the document below keeps its room
        self.rows.setWidget(self.list)
        self.rows.setWidgetResizable(True)
        self.rows.setFrameShape(QFrame.Shape.NoFrame)
        self.rows.setMaximumHeight(MAX_LIST_HEIGHT_PX)
        self.rows.viewport().setAutoFillBackground(False)  # the strip's own background shows
        self.list.setAutoFillBackground(False)
        self._layout()
        self.toggle.toggled.connect(self.set_expanded)
        self.first_action.clicked.connect(self._first_action)
        self.apply_theme(LIGHT)
        self.set_warnings([])

    def _layout(self) -> None:
        bar = QHBoxLayout()
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(self.icon)
        bar.addWidget(self.count)
        bar.addSpacing(SEPARATOR_PX)
        bar.addWidget(self.first, 1)
        bar.addWidget(self.first_action)
        bar.addWidget(self.toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.setSpacing(2)
        layout.addLayout(bar)
        layout.addWidget(self.rows)

    def set_warnings(self, warnings: Sequence[DocWarning]) -> None:
        """Show these warnings; the strip hides when there are none."""
        self.warnings = list(warnings)
        self.count.setText(f"<b>{summary_text(self.warnings)}</b>")
        first = self.warnings[0] if self.warnings else None
        self.first.setText(first.text if first else "")
        self.first.setToolTip(first.text if first else "")
        self.first_action.setText(first.action_label if first else "")
        self.first_action.setVisible(bool(first and first.action_label))
        self.toggle.setVisible(len(self.warnings) > 1)
        self._fill_rows()
        self._set_icon()
        self.set_expanded(self.toggle.isChecked())
        if self.parentWidget() is not None or not self.warnings:  # never pops up as a window
            self.setVisible(bool(self.warnings))

    def _fill_rows(self) -> None:
        for row in self.row_list:
            self.rows_layout.removeWidget(row)
            row.hide()  # out of sight now: deletion waits for the event loop
            row.deleteLater()
        self.row_list = [WarningRow(warning, self) for warning in self.warnings]
        for row in self.row_list:
            self.rows_layout.addWidget(row)

    def row_widgets(self) -> list[WarningRow]:
        return list(self.row_list)

    def set_expanded(self, expanded: bool) -> None:
        """Expanded: every warning listed under the bar (the bar's first one then hides)."""
        expanded = expanded and len(self.warnings) > 1
        if self.toggle.isChecked() != expanded:
            self.toggle.setChecked(expanded)
        self.toggle.setText("Hide" if expanded else "Show all")
        self.rows.setVisible(expanded)
        self.first.setVisible(not expanded)
        self.first_action.setVisible(not expanded and bool(
            self.warnings and self.warnings[0].action_label))

    def is_expanded(self) -> bool:
        return self.toggle.isChecked()

    def _first_action(self) -> None:
        if self.warnings and self.warnings[0].action:
            self.action_requested.emit(self.warnings[0].action, self.warnings[0].payload)

    def _set_icon(self) -> None:
        errors = any(w.severity == ERROR for w in self.warnings)
        pixmap = QStyle.StandardPixmap.SP_MessageBoxCritical if errors else \
            QStyle.StandardPixmap.SP_MessageBoxWarning
        self.icon.setPixmap(self.style().standardIcon(pixmap).pixmap(ICON_PX, ICON_PX))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.setStyleSheet(
            f"QFrame#warningsStrip {{ background: {theme.card}; border: 1px solid "
            f"{theme.warn}; border-radius: 4px; }}")
