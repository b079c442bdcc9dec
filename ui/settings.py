"""Persisted preferences (QSettings): window layout, recent files, export folder, theme.

Later panels keep their own keys here too (devices, iterations), under their own group.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10


class AppSettings:
    """A thin typed layer over QSettings. ``path`` gives an INI file (tests, portable use)."""

    def __init__(self, path: str | None = None) -> None:
        if path is None:
            self.store = QSettings()
        else:
            self.store = QSettings(path, QSettings.Format.IniFormat)

    def _text(self, key: str, default: str = "") -> str:
        value = self.store.value(key, default)
        return value if isinstance(value, str) else default

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # Recent files: most recent first, at most MAX_RECENT, no duplicates.
    def recent_files(self) -> list[str]:
        value = self.store.value("recent/files", [])
        if isinstance(value, str):  # QSettings returns a lone string for a one-item list
            value = [value]
        items = value if isinstance(value, list) else []
        return [str(item) for item in items if item][:MAX_RECENT]

    def set_recent_files(self, paths: list[str]) -> None:
        self.store.setValue("recent/files", list(dict.fromkeys(paths))[:MAX_RECENT])

    def add_recent_file(self, path: str) -> None:
        absolute = os.path.abspath(path)
        self.set_recent_files([absolute, *(p for p in self.recent_files() if p != absolute)])

    def prune_recent_files(self) -> list[str]:
        """Drop files that no longer exist; returns the ones dropped."""
        paths = self.recent_files()
        missing = [path for path in paths if not os.path.exists(path)]
        if missing:
            self.set_recent_files([path for path in paths if path not in missing])
        return missing

    def export_folder(self) -> str:
        return self._text("export/folder", os.path.expanduser("~"))

    def set_export_folder(self, folder: str) -> None:
        self.store.setValue("export/folder", folder)

    def open_folder(self) -> str:
        return self._text("open/folder", "")

    def set_open_folder(self, folder: str) -> None:
        self.store.setValue("open/folder", folder)

    def theme(self) -> str:
        return self._text("view/theme", "light")

    def set_theme(self, name: str) -> None:
        self.store.setValue("view/theme", name)

    def window_geometry(self) -> QByteArray | None:
        return self._bytes("window/geometry")

    def window_state(self) -> QByteArray | None:
        return self._bytes("window/state")

    def set_window_layout(self, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue("window/geometry", geometry)
        self.store.setValue("window/state", state)

    def sync(self) -> None:
        self.store.sync()
