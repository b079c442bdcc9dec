"""Helpers every child process shares: the default memory cap and how a signal death reads.

The sandbox (model parsing) and the bench workers (runtimes) both start children; this module
sits below both, so neither imports the other for them.
"""

from __future__ import annotations

import signal

DEFAULT_MEMORY_SHARE = 0.8
"""The default memory cap: this share of the RAM available when a child starts."""


def default_memory_limit_bytes() -> int:
    return int(available_memory_bytes() * DEFAULT_MEMORY_SHARE)


def available_memory_bytes() -> int:
    """RAM available to new processes (what psutil calls ``available``)."""
    found = _meminfo_bytes("MemAvailable")
    if found is not None:
        return found
    import psutil  # other systems; on Linux /proc answers without its import time

    return int(psutil.virtual_memory().available)


def total_memory_bytes() -> int:
    found = _meminfo_bytes("MemTotal")
    if found is not None:
        return found
    import psutil

    return int(psutil.virtual_memory().total)


def _meminfo_bytes(field: str) -> int | None:
    """A field of Linux's /proc/meminfo ('MemAvailable:  123 kB') in bytes; None elsewhere."""
    try:
        with open("/proc/meminfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                name, _, value = line.partition(":")
                if name == field:
                    return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def signal_text(number: int) -> str:
    """'signal 11 (SIGSEGV)'; SIGKILL hints at the out-of-memory killer."""
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    hint = ", killed: out of memory?" if name == "SIGKILL" else ""
    return f"signal {number} ({name}{hint})"
