"""What the window shows before any file is open: where to drop, how to open, recent files."""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

SAMPLE_MODEL = Path(__file__).resolve().parent.parent / "resources" / "sample" / "mobilenetv2.onnx"
SHOWN_RECENT = 6


class WelcomePage(QWidget):
    open_requested = Signal()
    path_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        title = QLabel("Drop a model here")
        title.setObjectName("title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        formats = QLabel("ONNX (.onnx), OpenVINO IR (.xml with its .bin), TensorFlow Lite "
                         "(.tflite), or a saved report (.json). Several files open as tabs.")
        formats.setObjectName("muted")
        formats.setAlignment(Qt.AlignmentFlag.AlignCenter)
        formats.setWordWrap(True)
        open_button = QPushButton("Open…")
        open_button.clicked.connect(self.open_requested)
        buttons = QHBoxLayout()
        buttons.addStretch()
        buttons.addWidget(open_button)
        if SAMPLE_MODEL.exists():
            sample = QPushButton("Open the sample model (MobileNetV2)")
            sample.clicked.connect(lambda: self.path_requested.emit(str(SAMPLE_MODEL)))
            buttons.addWidget(sample)
        buttons.addStretch()
        self.recent = QLabel()
        self.recent.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.recent.setTextFormat(Qt.TextFormat.RichText)
        self.recent.linkActivated.connect(self.path_requested)
        layout = QVBoxLayout(self)
        layout.addStretch(2)
        layout.addWidget(title)
        layout.addWidget(formats)
        layout.addSpacing(12)
        layout.addLayout(buttons)
        layout.addSpacing(18)
        layout.addWidget(self.recent)
        layout.addStretch(3)

    def set_recent(self, paths: list[str]) -> None:
        links = [f'<a href="{escape(p, quote=True)}">{escape(os.path.basename(p))}</a> '
                 f'<span style="color:gray">{escape(os.path.dirname(p))}</span>'
                 for p in paths[:SHOWN_RECENT]]
        self.recent.setText("Recent<br>" + "<br>".join(links) if links else "")
