"""Help › About: the app's version, the runtimes it would use and the machine it runs on.

Versions come from package metadata, so opening the box imports no runtime.
"""

from __future__ import annotations

import platform
from html import escape
from importlib import metadata

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

from profiler import __version__
from profiler.environment import cpu_info, runtime_versions

UI_PACKAGES = ("pyqtgraph",)


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def about_rows() -> list[tuple[str, str]]:
    cpu = cpu_info()
    cores = f"{cpu.get('physical_cores') or '?'} cores / {cpu.get('logical_cores') or '?'} threads"
    rows = [("Version", __version__),
            ("CPU", f"{cpu.get('name') or '?'} ({cores})"),
            ("ISA", ", ".join(cpu.get("isa_flags") or []) or "-"),
            ("OS", f"{platform.system()} {platform.release()} · Python "
                   f"{platform.python_version()}"),
            ("Qt", f"{qVersion()} (PySide6 {pyside_version})")]
    rows += [(name, version) for name, version in runtime_versions().items()]
    rows += [(name, v) for name in UI_PACKAGES if (v := _version(name))]
    return rows


def about_html() -> str:
    cells = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>"
                    for k, v in about_rows())
    return ("<h3>Edge Model Profiler</h3><p>Per-layer cost, latency and memory of neural "
            "networks on the CPU, GPU and NPU this machine has.</p>"
            f"<table cellpadding=3>{cells}</table>")


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Edge Model Profiler")
        self.label = QLabel(about_html())
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)
