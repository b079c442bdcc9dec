"""The on-disk cache of built variants: one folder per key, written atomically, bounded in size.

Where: the ``root`` argument, else ``$EDGEPROF_CACHE_DIR``, else
``$XDG_CACHE_HOME/edgeprof/variants`` (``~/.cache/edgeprof/variants`` when XDG_CACHE_HOME is
unset). An entry is built in a ``.tmp-*`` folder beside the entries and renamed into place, so
a crash never leaves a half-written entry under a real key. Its ``entry.json`` holds what
``BuiltVariant`` needs; its modification time is the entry's last use. After each store, the
least recently used entries are removed until the total is within ``max_cache_bytes``; the
entry just stored is kept even when it alone is larger (it is the one being measured).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import field
from pathlib import Path
from typing import Any

from profiler.errors import ProfilerError
from profiler.records.record import record

ENV_CACHE_DIR = "EDGEPROF_CACHE_DIR"
DEFAULT_MAX_CACHE_BYTES = 2 * 1024**3
ENTRY_FILE = "entry.json"
TEMP_PREFIX = ".tmp-"
STALE_TEMP_SECONDS = 24 * 3600
"""A temp folder older than this is a crashed build's leftover; eviction removes it."""


class CacheError(ProfilerError):
    """The variant cache folder cannot be used (not writable, not a folder)."""


@record
class CacheEntry:
    key: str
    path: Path
    meta: dict[str, Any]
    size_bytes: int
    last_used: float
    """Seconds since the epoch."""


@record
class CacheInfo:
    root: Path
    max_cache_bytes: int
    total_bytes: int = 0
    entries: list[CacheEntry] = field(default_factory=list)


def default_cache_dir() -> Path:
    """$EDGEPROF_CACHE_DIR, else $XDG_CACHE_HOME/edgeprof/variants, else ~/.cache/..."""
    override = os.environ.get(ENV_CACHE_DIR)
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "edgeprof" / "variants"


def cache_key(parts: dict[str, Any]) -> str:
    """sha256 of the parts as canonical JSON (sorted keys)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


Builder = Callable[[Path], dict[str, Any]]
"""Writes the variant's files into the folder it is given; returns the entry's metadata."""


class VariantCache:
    def __init__(self, root: str | os.PathLike[str] | None = None,
                 max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.max_cache_bytes = max_cache_bytes

    def lookup(self, key: str) -> CacheEntry | None:
        """The entry for ``key`` (marked as just used), or None."""
        entry = self._read_entry(self.root / key)
        if entry is not None:
            os.utime(entry.path / ENTRY_FILE)
            entry.last_used = time.time()
        return entry

    def store(self, key: str, build: Builder) -> tuple[CacheEntry, list[str]]:
        """Build into a temp folder, rename it to ``key``; evict; (entry, eviction notes)."""
        temp = self._temp_folder(key)
        try:
            meta = build(temp)
            _write_json(temp / ENTRY_FILE, meta)
            _move_into_place(temp, self.root / key)
        finally:
            shutil.rmtree(temp, ignore_errors=True)
        notes = self.evict(keep=key)
        entry = self._read_entry(self.root / key)
        if entry is None:
            raise CacheError(f"{self.root / key}: the cache entry vanished right after it was "
                             "written (another process cleared the cache?); build again")
        return entry, notes

    def entries(self) -> list[CacheEntry]:
        if not self.root.is_dir():
            return []
        found = (self._read_entry(path) for path in self.root.iterdir()
                 if not path.name.startswith(TEMP_PREFIX))
        return sorted((e for e in found if e is not None), key=lambda e: e.last_used)

    def evict(self, keep: str | None = None) -> list[str]:
        """Remove least recently used entries until the total fits ``max_cache_bytes``."""
        self._remove_stale_temps()
        entries = self.entries()
        total = sum(entry.size_bytes for entry in entries)
        notes = []
        for entry in entries:  # oldest first
            if total <= self.max_cache_bytes:
                break
            if entry.key == keep:
                continue
            shutil.rmtree(entry.path, ignore_errors=True)
            total -= entry.size_bytes
            notes.append(f"evicted cached variant {entry.meta.get('variant', '?')} of "
                         f"{entry.meta.get('model_name', '?')} ({entry.size_bytes} bytes)")
        if total > self.max_cache_bytes and keep is not None:
            notes.append(f"the cache holds {total} bytes, over its bound of "
                         f"{self.max_cache_bytes}: the variant just built alone exceeds it")
        return notes

    def info(self) -> CacheInfo:
        entries = self.entries()
        return CacheInfo(self.root, self.max_cache_bytes,
                         sum(entry.size_bytes for entry in entries), entries)

    def clear(self) -> tuple[int, int]:
        """Remove every entry and leftover temp folder: (entries removed, bytes freed)."""
        entries = self.entries()
        for entry in entries:
            shutil.rmtree(entry.path, ignore_errors=True)
        self._remove_stale_temps(max_age_s=0.0)
        return len(entries), sum(entry.size_bytes for entry in entries)

    def _temp_folder(self, key: str) -> Path:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            return Path(tempfile.mkdtemp(prefix=f"{TEMP_PREFIX}{key[:16]}-", dir=self.root))
        except OSError as error:
            raise CacheError(f"{self.root}: cannot write the variant cache ({error.strerror}); "
                             f"set {ENV_CACHE_DIR} to a writable folder") from None

    def _read_entry(self, path: Path) -> CacheEntry | None:
        meta_path = path / ENTRY_FILE
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            last_used = meta_path.stat().st_mtime
        except (OSError, ValueError):
            return None
        return CacheEntry(path.name, path, meta, folder_bytes(path), last_used)

    def _remove_stale_temps(self, max_age_s: float = STALE_TEMP_SECONDS) -> None:
        if not self.root.is_dir():
            return
        now = time.time()
        for path in self.root.glob(f"{TEMP_PREFIX}*"):
            try:
                if now - path.stat().st_mtime >= max_age_s:
                    shutil.rmtree(path, ignore_errors=True)
            except OSError:
                continue


def folder_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=1, sort_keys=True, default=str), encoding="utf-8")


def _move_into_place(temp: Path, target: Path) -> None:
    """Rename; when another process stored the same key meanwhile, keep theirs."""
    try:
        os.rename(temp, target)
    except OSError:
        if not (target / ENTRY_FILE).is_file():
            raise


# --- the functions the CLI calls (`edgeprof-cli cache ...`) ---------------------------------


def cache_info(root: str | os.PathLike[str] | None = None,
               max_cache_bytes: int = DEFAULT_MAX_CACHE_BYTES) -> CacheInfo:
    """Where the cache is, its bound, its total size and its entries (oldest use first)."""
    return VariantCache(root, max_cache_bytes).info()


def clear_cache(root: str | os.PathLike[str] | None = None) -> tuple[int, int]:
    """Remove every cached variant: (entries removed, bytes freed)."""
    return VariantCache(root).clear()
