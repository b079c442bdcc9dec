"""Core messages in app words: the command-line flags they name become the app's controls.

The core speaks to the command line (``--shape``, ``--cpus``, ``--max-time``); the app shows
the same sentence with each flag replaced by where the user sets it. Pure text, no Qt.
"""

from __future__ import annotations

import re

_FLAG_WORDING = [
    (re.compile(r"(?:set another size with |give one with |with )?--shape ([^\s=]+)=[^\s)]*"),
     r"set the shape of \1 in Inputs"),
    (re.compile(r"(?:set a valid range with |with )?--input-range ([^\s=]+)=[^\s)]*"),
     r"set a range for \1 in Inputs"),
    (re.compile(r"(?:give another with |with )?--input-value ([^\s=]+)=[^\s)]*"),
     r"set a value for \1 in Inputs"),
    (re.compile(r"--shape"), "the shapes in Inputs"),
    (re.compile(r"pin the run with --cpus"), "pin the run to a few CPUs (Profile panel: CPUs)"),
    (re.compile(r"raise --max-time or give --iterations"),
     "allow a longer run (Profile panel: Stop, max time) or a fixed iteration count"),
    (re.compile(r"--cpus"), "the CPUs setting (Profile panel)"),
    (re.compile(r"--max-time"), "the max time (Profile panel: Stop)"),
    (re.compile(r"--iterations"), "a fixed iteration count (Profile panel: Stop)"),
    (re.compile(r"give --eval with other inputs"), "choose separate evaluation data"),
]


def app_text(message: str) -> str:
    """A core message with its command-line flags replaced by the app action that does it."""
    for pattern, wording in _FLAG_WORDING:
        message = pattern.sub(wording, message)
    return message
