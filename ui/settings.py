"""Persisted preferences (QSettings), typed and versioned: window layout, recent files, folders,
theme, and the defaults a new document's Profile and Quantize settings start from.

``Preferences`` is the typed view; ``read_preferences`` reads any stored version (version 1:
the raw keys written before settings had a version, values as QSettings returned them) and
``write_preferences`` writes the current one. Keys stay as they were, so an older build still
reads what a newer one wrote.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 10
SETTINGS_VERSION = 2
"""1: raw keys, no version key; 2: typed, adds the quantize defaults."""
VERSION_KEY = "settings/version"
PROFILE_MODES = ("latency", "throughput")
STOP_RULES = ("adaptive", "iterations", "duration")
PRECISIONS = ("default", "f32", "bf16", "f16")
DATA_KINDS = ("random", "folder", ".npz file")


@dataclass
class ProfileDefaults:
    devices: list[str] = field(default_factory=list)
    mode: str = "latency"
    stop: str = "adaptive"
    iterations: int = 100
    duration_s: int = 10
    threads: int = 0
    """0: the runtime decides."""
    precision: str = "default"
    layers: bool = True


@dataclass
class QuantizeDefaults:
    variants: list[str] = field(default_factory=lambda: ["int8-dynamic"])
    devices: list[str] = field(default_factory=lambda: ["ort:cpu"])
    data_kind: str = "random"
    samples: int = 20


@dataclass
class Preferences:
    version: int = SETTINGS_VERSION
    theme: str = "light"
    open_folder: str = ""
    export_folder: str = field(default_factory=lambda: os.path.expanduser("~"))
    profile: ProfileDefaults = field(default_factory=ProfileDefaults)
    quantize: QuantizeDefaults = field(default_factory=QuantizeDefaults)


# Reading: every value checked, a bad one falls back to its default -----------------------------

def _text(store: QSettings, key: str, default: str, allowed: tuple[str, ...] = ()) -> str:
    value = store.value(key, default)
    text = value if isinstance(value, str) else default
    return text if not allowed or text in allowed else default


def _int(store: QSettings, key: str, default: int, low: int, high: int) -> int:
    value = store.value(key, default)
    try:
        number = int(str(value))
    except ValueError:
        return default
    return number if low <= number <= high else default


def _bool(store: QSettings, key: str, default: bool) -> bool:
    value = store.value(key, default)
    return value if isinstance(value, bool) else str(value).lower() in ("true", "1")


def _texts(store: QSettings, key: str, default: list[str]) -> list[str]:
    value = store.value(key, default)
    if isinstance(value, str):  # QSettings returns a lone string for a one-item list
        value = [value]
    return [str(item) for item in value if item] if isinstance(value, list) else list(default)


def stored_version(store: QSettings) -> int:
    return _int(store, VERSION_KEY, 1, 1, 1_000)


def read_preferences(store: QSettings) -> Preferences:
    """Any stored version; version 1 had the same keys, untyped, and no quantize defaults."""
    defaults = Preferences()
    profile = ProfileDefaults(
        devices=_texts(store, "profile/devices", []),
        mode=_text(store, "profile/mode", "latency", PROFILE_MODES),
        stop=_text(store, "profile/stop", "adaptive", STOP_RULES),
        iterations=_int(store, "profile/iterations", 100, 1, 1_000_000),
        duration_s=_int(store, "profile/duration_s", 10, 1, 3600),
        threads=_int(store, "profile/threads", 0, 0, 256),
        precision=_text(store, "profile/precision", "default", PRECISIONS),
        layers=_bool(store, "profile/layers", True))
    return Preferences(
        theme=_text(store, "view/theme", "light"),
        open_folder=_text(store, "open/folder", ""),
        export_folder=_text(store, "export/folder", defaults.export_folder),
        profile=profile, quantize=_quantize_defaults(store))


def _quantize_defaults(store: QSettings) -> QuantizeDefaults:
    if stored_version(store) < 2:
        return QuantizeDefaults()
    return QuantizeDefaults(
        variants=_texts(store, "quantize/variants", ["int8-dynamic"]),
        devices=_texts(store, "quantize/devices", ["ort:cpu"]),
        data_kind=_text(store, "quantize/data_kind", "random", DATA_KINDS),
        samples=_int(store, "quantize/samples", 20, 1, 100_000))


def write_preferences(store: QSettings, prefs: Preferences) -> None:
    profile, quantize = prefs.profile, prefs.quantize
    values: dict[str, object] = {
        VERSION_KEY: SETTINGS_VERSION, "view/theme": prefs.theme,
        "open/folder": prefs.open_folder, "export/folder": prefs.export_folder,
        "profile/devices": profile.devices, "profile/mode": profile.mode,
        "profile/stop": profile.stop, "profile/iterations": profile.iterations,
        "profile/duration_s": profile.duration_s, "profile/threads": profile.threads,
        "profile/precision": profile.precision, "profile/layers": profile.layers,
        "quantize/variants": quantize.variants, "quantize/devices": quantize.devices,
        "quantize/data_kind": quantize.data_kind, "quantize/samples": quantize.samples}
    for key, value in values.items():
        store.setValue(key, value)


class AppSettings:
    """The typed preferences over QSettings. ``path`` gives an INI file (tests, portable use).
    Opening migrates an older version in place."""

    def __init__(self, path: str | None = None) -> None:
        if path is None:
            self.store = QSettings()
        else:
            self.store = QSettings(path, QSettings.Format.IniFormat)
        self.prefs = read_preferences(self.store)
        if stored_version(self.store) != SETTINGS_VERSION:
            write_preferences(self.store, self.prefs)

    def save(self) -> None:
        write_preferences(self.store, self.prefs)

    def _bytes(self, key: str) -> QByteArray | None:
        value = self.store.value(key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    # Defaults for new documents' settings (the last ones used)
    def set_profile_defaults(self, profile: ProfileDefaults) -> None:
        self.prefs.profile = profile
        self.save()

    def set_quantize_defaults(self, quantize: QuantizeDefaults) -> None:
        self.prefs.quantize = quantize
        self.save()

    # Recent files: most recent first, at most MAX_RECENT, no duplicates.
    def recent_files(self) -> list[str]:
        return _texts(self.store, "recent/files", [])[:MAX_RECENT]

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
        return self.prefs.export_folder

    def set_export_folder(self, folder: str) -> None:
        self.prefs.export_folder = folder
        self.store.setValue("export/folder", folder)

    def open_folder(self) -> str:
        return self.prefs.open_folder

    def set_open_folder(self, folder: str) -> None:
        self.prefs.open_folder = folder
        self.store.setValue("open/folder", folder)

    def theme(self) -> str:
        return self.prefs.theme

    def set_theme(self, name: str) -> None:
        self.prefs.theme = name
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
