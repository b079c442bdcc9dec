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
