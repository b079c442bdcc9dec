"""`edgeprof-cli cache` reports and clears the built-variant cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from profiler.cli import main
from profiler.quant.cache import ENTRY_FILE


def test_cache_lists_and_clears(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path))
    entry = tmp_path / "0123abcd"
    entry.mkdir()
    (entry / "model.onnx").write_bytes(b"x" * 2048)
    (entry / ENTRY_FILE).write_text("{}")
    assert main(["cache"]) == 0
    listing = capsys.readouterr().out
    assert str(tmp_path) in listing and "1 variant(s)" in listing
    assert main(["cache", "--clear"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("removed 1 cached variant(s)")
    assert not entry.exists()
