"""``edgeprof-cli analyze`` stays lean: neither the CLI process nor its sandboxed child imports
a runtime, NNCF, Qt or the HTML templating. Start-up time is most of a small model's analysis."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.core import model_builders as mb

HEAVY_PACKAGES = {"onnxruntime", "openvino", "nncf", "PySide6", "jinja2"}
IMPORT_LINE = re.compile(r"^import time:\s+\d+ \|\s+\d+ \|\s*([\w.]+)\s*$")


def _imported(stderr: str) -> set[str]:
    """Top-level packages named by ``-X importtime`` lines (parent and child both write to the
    same stderr: the child is forked)."""
    return {m.group(1).split(".")[0] for line in stderr.splitlines()
            if (m := IMPORT_LINE.match(line))}


def test_analyze_imports_no_runtime_nor_gui(tmp_path: Path) -> None:
    model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "profiler", "analyze", str(model),
         "-o", str(out)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(out.read_text(encoding="utf-8"))["analysis"]["layers"]
    imported = _imported(result.stderr)
    assert {"onnx", "numpy"} <= imported  # the child's imports are in the log too
    assert imported & HEAVY_PACKAGES == set()
