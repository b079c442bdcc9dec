"""Help › About: the app's version, the runtimes it would use and the machine it runs on.

Versions come from package metadata, so opening the box imports no runtime; the devices are
the ones the Profile panel discovered in its worker thread.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from html import escape
from importlib import metadata
from typing import Any

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


def device_rows(devices: Sequence[Any]) -> list[tuple[str, str]]:
    """One row per discovered device: id, full name and runtime version."""
    return [(device.id, f"{device.name} ({device.runtime_version})" if device.runtime_version
             else device.name) for device in devices]


def about_rows(devices: Sequence[Any] = ()) -> list[tuple[str, str]]:
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
    rows += device_rows(devices) or [("Devices", "still being discovered (Profile panel)")]
    return rows


def about_html(devices: Sequence[Any] = ()) -> str:
    cells = "".join(f"<tr><td><b>{escape(k)}</b></td><td>{escape(v)}</td></tr>"
                    for k, v in about_rows(devices))
    return ("<h3>Edge Model Profiler</h3><p>Per-layer cost, latency and memory of neural "
            "networks on the CPU, GPU and NPU this machine has.</p>"
            f"<table cellpadding=3>{cells}</table>")


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, devices: Sequence[Any] = ()) -> None:
        super().__init__(parent)
        self.setWindowTitle("About Edge Model Profiler")
        self.label = QLabel(about_html(devices))
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.label)
        layout.addWidget(buttons)
