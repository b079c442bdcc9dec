"""A board installs the headless core without the app extra (PySide6, pyqtgraph): the CLI
works there, and ``edgeprof`` says in one line what to install instead of a traceback."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO_ROOT

HIDE_APP_PACKAGES = """
import sys, importlib.abc

class NotInstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'PySide6', 'shiboken6', 'pyqtgraph'}:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NotInstalled())
"""


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", HIDE_APP_PACKAGES + code], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=240)


def test_the_cli_lists_devices_without_the_app_packages() -> None:
    result = _python("from profiler.cli import main; sys.exit(main(['devices', '--json']))")
    assert result.returncode == 0, result.stderr
    assert '"ort:cpu"' in result.stdout


def test_the_app_entry_point_without_them_says_what_to_install() -> None:
    result = _python("from ui.app import main; sys.exit(main([]))")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "edgeprof: the desktop app needs the app extra: pip install "
        "'edge-model-profiler[app]' (PySide6, pyqtgraph missing)"]
    assert result.stdout == ""
