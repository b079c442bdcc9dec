"""The core must never import Qt: it runs headless in CI and on target boards."""

import subprocess
import sys

BLOCK_QT = """
import sys, importlib.abc

class BlockQt(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in {'PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6', 'ui'}:
            raise ImportError('Qt is blocked in this test: ' + name)
        return None

sys.meta_path.insert(0, BlockQt())
import pkgutil, importlib, profiler
for module in pkgutil.walk_packages(profiler.__path__, 'profiler.'):
    if module.name != 'profiler.__main__':
        importlib.import_module(module.name)
print('ok')
"""


def test_every_profiler_module_imports_with_qt_blocked() -> None:
    result = subprocess.run([sys.executable, "-c", BLOCK_QT], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
