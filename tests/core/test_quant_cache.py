"""The variant cache: location, atomic stores, hits, LRU eviction by size, clear and info."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from profiler.quant.cache import (
    ENTRY_FILE,
    VariantCache,
    cache_info,
    cache_key,
    clear_cache,
    default_cache_dir,
)


def writer(size_bytes: int, name: str = "model.onnx") -> Any:
    """A builder that writes one file of ``size_bytes`` bytes."""

    def build(folder: Path) -> dict[str, Any]:
        (folder / name).write_bytes(b"x" * size_bytes)
        return {"variant": "fp16", "model_name": name, "files": [name]}

    return build


def set_last_used(cache: VariantCache, key: str, seconds: float) -> None:
    os.utime(cache.root / key / ENTRY_FILE, (seconds, seconds))


def test_default_dir_follows_env_then_xdg_then_home(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("EDGEPROF_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "edgeprof" / "variants"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "edgeprof" / "variants"
    assert VariantCache(tmp_path / "arg").root == tmp_path / "arg"


def test_key_is_canonical() -> None:
    first = cache_key({"variant": "fp16", "settings": {"a": 1, "b": [1, 2]}})
    assert first == cache_key({"settings": {"b": [1, 2], "a": 1}, "variant": "fp16"})
    assert first != cache_key({"variant": "fp16", "settings": {"a": 2, "b": [1, 2]}})
    assert len(first) == 64


def test_store_then_lookup(tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)
    assert cache.lookup("k1") is None
    entry, notes = cache.store("k1", writer(100))
    assert notes == [] and entry.key == "k1" and entry.meta["files"] == ["model.onnx"]
    assert entry.size_bytes == 100 + (tmp_path / "k1" / ENTRY_FILE).stat().st_size
    found = cache.lookup("k1")
    assert found is not None and found.path == tmp_path / "k1"
    assert (found.path / "model.onnx").read_bytes() == b"x" * 100


def test_failed_build_leaves_nothing(tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)

    def broken(folder: Path) -> dict[str, Any]:
        (folder / "half.onnx").write_bytes(b"partial")
        raise RuntimeError("library failed")

    with pytest.raises(RuntimeError):
        cache.store("k1", broken)
    assert list(tmp_path.iterdir()) == []
    assert cache.lookup("k1") is None


def test_lru_eviction_by_size(tmp_path: Path) -> None:
    cache = VariantCache(tmp_path, max_cache_bytes=0)
    cache.store("probe", writer(0))
    meta_bytes = (tmp_path / "probe" / ENTRY_FILE).stat().st_size
    cache.clear()
    entry_bytes = 1000 + meta_bytes
    cache = VariantCache(tmp_path, max_cache_bytes=2 * entry_bytes)
    cache.store("a", writer(1000))
    set_last_used(cache, "a", 1_000)
    cache.store("b", writer(1000))
    set_last_used(cache, "b", 2_000)
    assert cache.lookup("a") is not None  # a is now the most recently used
    _, notes = cache.store("c", writer(1000))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "c"]
    assert len(notes) == 1 and "evicted cached variant fp16" in notes[0]
    assert cache.info().total_bytes == 2 * entry_bytes


def test_entry_larger_than_the_bound_is_kept(tmp_path: Path) -> None:
    cache = VariantCache(tmp_path, max_cache_bytes=500)
    cache.store("old", writer(100))
    set_last_used(cache, "old", 1_000)
    entry, notes = cache.store("big", writer(1000))
    assert [p.name for p in tmp_path.iterdir()] == ["big"]
    assert entry.key == "big" and "over its bound of 500" in notes[-1]


def test_stale_temp_folders_are_removed(tmp_path: Path) -> None:
    stale = tmp_path / ".tmp-0123-crashed"
    stale.mkdir()
    os.utime(stale, (1_000, 1_000))
    fresh = tmp_path / ".tmp-4567-building"
    fresh.mkdir()
    VariantCache(tmp_path).store("k", writer(10))
    assert not stale.exists() and fresh.exists()


def test_clear_and_info(tmp_path: Path) -> None:
    cache = VariantCache(tmp_path)
    cache.store("a", writer(300))
    cache.store("b", writer(200))
    set_last_used(cache, "a", 2_000)
    set_last_used(cache, "b", 1_000)
    (tmp_path / "not-an-entry").mkdir()
    info = cache_info(tmp_path)
    assert [entry.key for entry in info.entries] == ["b", "a"]  # least recently used first
    assert info.root == tmp_path and info.max_cache_bytes == 2 * 1024**3
    assert info.total_bytes == sum(entry.size_bytes for entry in info.entries) > 500
    removed, freed = clear_cache(tmp_path)
    assert removed == 2 and freed == info.total_bytes
    assert [p.name for p in tmp_path.iterdir()] == ["not-an-entry"]
    assert cache_info(tmp_path).entries == []
    assert clear_cache(tmp_path / "missing") == (0, 0)
