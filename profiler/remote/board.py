"""The board's side: what ``edgeprof-cli`` answers when a host drives it over SSH.

Two hidden commands, each printing one JSON object on stdout:

- ``remote-info``: tool version, protocol versions, the board's environment (OS, CPU, ISA,
  runtime versions) and its devices, in one round trip;
- ``remote-cache lookup|put``: the model cache, ``$XDG_CACHE_HOME/edgeprof/remote-models/
  <key>/<file>`` (default ``~/.cache``). A model is copied once per content hash: ``put``
  streams one file from stdin, checks its sha256 and renames it into place (a cut copy
  never looks complete), then evicts the least recently used entries beyond the bound.
  ``lookup`` marks an entry used (its folder's time), so eviction is LRU.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import sys
from typing import IO, Any

from profiler import TOOL_NAME, __version__
from profiler.errors import UsageError

BOARD_PROTOCOL = 1
"""Bumped when remote-info or remote-cache change incompatibly; the host refuses a mismatch."""
KEY_PATTERN = re.compile(r"[0-9a-f]{64}")
CHUNK_BYTES = 1 << 20
PARTIAL_PREFIX = ".partial-"


def worker_protocol() -> int | None:
    """The worker protocol's version, where this build declares one."""
    try:
        from profiler.bench import wire
    except ImportError:
        return None
    version = getattr(wire, "PROTOCOL_VERSION", None)
    return version if isinstance(version, int) else None


def board_info() -> dict[str, Any]:
    from profiler.environment import environment
    from profiler.records.serialize import to_dict
    from profiler.runtime.devices import discover

    devices, notes = discover()
    return {"tool": TOOL_NAME, "version": __version__, "board_protocol": BOARD_PROTOCOL,
            "worker_protocol": worker_protocol(), "python_executable": sys.executable,
            "environment": environment(), "devices": to_dict(devices), "notes": notes}


# the cache ----------------------------------------------------------------------------------

def cache_root() -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "edgeprof", "remote-models")


def check_key(key: str) -> str:
    if not KEY_PATTERN.fullmatch(key):
        raise UsageError(f"cache key {key!r}: expected 64 lower-case hex digits (a sha256)")
    return key


def check_relative(name: str) -> str:
    """A file name inside an entry: relative, normalised, no '..', no hidden partials."""
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or "\0" in name
            or any(part in ("", ".", "..") or part.startswith(PARTIAL_PREFIX)
                   for part in parts)):
        raise UsageError(f"cache file name {name!r}: expected a plain relative path")
    return name


def entry_dir(key: str) -> str:
    return os.path.join(cache_root(), check_key(key))


def lookup(key: str, names: list[str]) -> dict[str, Any]:
    """Which of ``names`` the entry lacks; touches the entry (most recently used)."""
    folder = entry_dir(key)
    missing = [n for n in names if not os.path.isfile(os.path.join(folder, check_relative(n)))]
    if os.path.isdir(folder):
        os.utime(folder)
    return {"dir": folder, "missing": missing}


def _receive(source: IO[bytes], partial: str) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(partial, "wb") as handle:
        for block in iter(lambda: source.read(CHUNK_BYTES), b""):
            digest.update(block)
            handle.write(block)
            size += len(block)
    return digest.hexdigest(), size


def put(key: str, name: str, sha256: str, limit_bytes: int, source: IO[bytes]) -> dict[str, Any]:
    """Store stdin as ``name`` in the entry when its sha256 matches, then evict LRU."""
    folder = entry_dir(key)
    path = os.path.join(folder, check_relative(name))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    partial = os.path.join(os.path.dirname(path), f"{PARTIAL_PREFIX}{os.getpid()}")
    try:
        received, size = _receive(source, partial)
        if received != check_key(sha256):
            raise UsageError(f"{name}: the copy arrived damaged ({size} bytes, sha256 "
                             "differs); try again")
        os.replace(partial, path)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    os.utime(folder)
    return {"path": path, "bytes": size, "evicted": evict(limit_bytes, keep=key)}


def _entry_bytes(folder: str) -> int:
    total = 0
    for parent, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(parent, name))
            except OSError:  # removed meanwhile by another put or evict
                continue
    return total


def evict(limit_bytes: int, keep: str = "") -> list[str]:
    """Remove the least recently used entries until the cache fits ``limit_bytes``; the
    entry ``keep`` (the one in use) stays even when it alone is larger."""
    root = cache_root()
    try:
        keys = [k for k in os.listdir(root) if KEY_PATTERN.fullmatch(k)]
    except FileNotFoundError:
        return []
    entries = [(os.path.getmtime(os.path.join(root, k)), k) for k in keys]
    sizes = {k: _entry_bytes(os.path.join(root, k)) for k in keys}
    total, evicted = sum(sizes.values()), []
    for _, key in sorted(entries):
        if total <= limit_bytes:
            break
        if key == keep:
            continue
        shutil.rmtree(os.path.join(root, key), ignore_errors=True)
        total -= sizes[key]
        evicted.append(key)
    return evicted

