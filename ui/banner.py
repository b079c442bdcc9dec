"""The in-window message bar: errors and notices appear here, never as a modal dialog or a
traceback. Messages of one batch of opened files accumulate until dismissed or the next batch."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QToolButton, QWidget

from ui.theme import LIGHT, Theme


class MessageBanner(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        self.theme = LIGHT
        self.kind = "error"
        self.messages: list[str] = []
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.clear)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def add_error(self, message: str) -> None:
        self._add("error", message)

    def add_info(self, message: str) -> None:
        self._add("info", message)

    def _add(self, kind: str, message: str) -> None:
        """The bar turns red as soon as one of its messages is an error."""
        self.kind = "error" if kind == "error" or (self.messages and self.kind == "error") \
            else "info"
        self.messages.append(message)
        self._render()
        self.show()

    def clear(self) -> None:
        self.messages = []
        self.kind = "error"
        self.hide()

    def text(self) -> str:
        """Plain text of what is shown (one message a line)."""
        return "\n".join(self.messages)

    def _render(self) -> None:
        theme = self.theme
        colours = ((theme.error_bg, theme.error_fg, theme.error_line) if self.kind == "error"
                   else (theme.info_bg, theme.info_fg, theme.info_line))
        self.setStyleSheet(
            f"QFrame#banner {{ background: {colours[0]}; border: 1px solid {colours[2]}; "
            f"border-radius: 4px; }} QFrame#banner QLabel, QFrame#banner QToolButton "
            f"{{ color: {colours[1]}; background: transparent; border: none; }}")
        self.label.setText("<br>".join(escape(m) for m in self.messages))

    def apply_theme(self, theme: Theme) -> None:
        self.theme = theme
        if self.messages:
            self._render()
