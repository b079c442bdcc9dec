"""Shared fixtures: tiny models built with onnx.helper, and paths to the zoo topologies."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import onnx
import pytest

if TYPE_CHECKING:
    from tests.core.sshd_rig import SshdRig

ZOO_DIR = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def zoo_dir() -> Path:
    return ZOO_DIR


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test writes the run history (or any user data) into the real home."""
    monkeypatch.setenv("EDGEPROF_DATA_DIR", str(tmp_path / "edgeprof-data"))


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdRig]:
    """A real OpenSSH server on 127.0.0.1 with throwaway keys and a "board" environment, shared
    by a test module (tests/core/sshd_rig.py)."""
    from tests.core.sshd_rig import SshdRig

    server = SshdRig(tmp_path_factory.mktemp("sshd"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
