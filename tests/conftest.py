"""Shared fixtures: tiny models built with onnx.helper, and paths to the zoo topologies."""

from __future__ import annotations

import os
from pathlib import Path

import onnx
import pytest

ZOO_DIR = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def zoo_dir() -> Path:
    return ZOO_DIR


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes the run history (or any user data) into the real home."""
    monkeypatch.setenv("EDGEPROF_DATA_DIR", str(tmp_path / "edgeprof-data"))
