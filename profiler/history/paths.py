"""Where the run history lives: the user's data folder, per platform, overridable for tests/CI."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

APP_FOLDER = "edgeprof"
HISTORY_FILE = "history.sqlite3"
DATA_DIR_VARIABLE = "EDGEPROF_DATA_DIR"


def data_dir(environ: Mapping[str, str] | None = None, platform: str | None = None,
             home: Path | None = None) -> Path:
    """$EDGEPROF_DATA_DIR if set, else the platform's per-user data folder + 'edgeprof'."""
    env = os.environ if environ is None else environ
    override = env.get(DATA_DIR_VARIABLE, "")
    if override:
        return Path(override).expanduser()
    platform = sys.platform if platform is None else platform
    home = Path.home() if home is None else home
    if platform == "win32":
        local = env.get("LOCALAPPDATA", "")
        return (Path(local) if local else home / "AppData" / "Local") / APP_FOLDER
    if platform == "darwin":
        return home / "Library" / "Application Support" / APP_FOLDER
    xdg = env.get("XDG_DATA_HOME", "")
    # The XDG spec says a relative value is invalid and must be ignored.
    base = Path(xdg) if xdg and os.path.isabs(xdg) else home / ".local" / "share"
    return base / APP_FOLDER


def history_path(environ: Mapping[str, str] | None = None) -> Path:
    return data_dir(environ) / HISTORY_FILE
