"""Helpers every child process shares: the default memory cap and how a signal death reads.

The sandbox (model parsing) and the bench workers (runtimes) both start children; this module
sits below both, so neither imports the other for them.
"""

from __future__ import annotations

import signal

import psutil

DEFAULT_MEMORY_SHARE = 0.8
"""The default memory cap: this share of the RAM available when a child starts."""


def default_memory_limit_bytes() -> int:
    return int(psutil.virtual_memory().available * DEFAULT_MEMORY_SHARE)


def signal_text(number: int) -> str:
    """'signal 11 (SIGSEGV)'; SIGKILL hints at the out-of-memory killer."""
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    hint = ", killed: out of memory?" if name == "SIGKILL" else ""
    return f"signal {number} ({name}{hint})"
