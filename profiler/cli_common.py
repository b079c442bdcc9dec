"""What every ``edgeprof-cli`` command shares: exit codes, option checks, output checks and
terminal-safe printing.

Exit codes (the one definition; README "Exit codes" says the same):

- 0 ok;
- 1 the model, a report or a run failed (any failed device run or variant: the report is
  still written);
- 2 usage error (a bad option value, an unknown device, a device that cannot read the model);
- 3 a budget given on the command line was exceeded and nothing failed;
- 130 interrupted (Ctrl+C); 141 the reader of the output went away (``| head``): the command
  ends quietly, as a tool killed by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from profiler.errors import UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE, what a shell reports for a tool killed by a closed pipe."""

MAX_SECONDS = 7 * 24 * 3600.0
"""Durations, caps and timeouts beyond a week are typing mistakes."""
MAX_COUNT = 100_000_000
"""Iterations, samples, table rows."""
MAX_THREADS = 4096
MAX_SEED = 2**32 - 1
MAX_ID = 2**63 - 1
"""SQLite's largest row id."""
MAX_LATENCY_MS = 1e9
MAX_DB = 1000.0


# option types (argparse ``type=``): refused values exit 2 with one line -----------------------

def int_option(minimum: int, maximum: int, what: str = "a whole number") -> Callable[[str], int]:
    """An argparse type: a plain integer within [minimum, maximum]."""
    def parse(text: str) -> int:
        cleaned = text.strip()
        if not re.fullmatch(r"[+-]?\d{1,30}", cleaned):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        value = int(cleaned)
        if not minimum <= value <= maximum:
            raise argparse.ArgumentTypeError(
                f"{value} is out of range; use {minimum} to {maximum}")
        return value

    parse.__name__ = "int"
    return parse


def float_option(minimum: float, maximum: float, above_minimum: bool = False,
                 what: str = "a number") -> Callable[[str], float]:
    """An argparse type: a finite number within the range (nan and inf refused);
    ``above_minimum`` makes the lower bound exclusive (positive durations)."""
    def parse(text: str) -> float:
        try:
            value = float(text.strip()) if len(text) <= 64 else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected {what} (a finite number), got {text!r}")
        low_ok = value > minimum if above_minimum else value >= minimum
        if not low_ok or value > maximum:
            low = f"above {minimum:g}" if above_minimum else f"from {minimum:g}"
            raise argparse.ArgumentTypeError(f"{text.strip()} is out of range; use {low} "
                                             f"to {maximum:g}")
        return value

    parse.__name__ = "float"
    return parse


positive_count = int_option(1, MAX_COUNT)
thread_count = int_option(1, MAX_THREADS, "a thread count")
seed_value = int_option(0, MAX_SEED, "a seed (a whole number)")
run_id = int_option(1, MAX_ID, "a run id (a whole number, see `history list`)")
seconds = float_option(0.0, MAX_SECONDS, above_minimum=True, what="seconds")
latency_ms = float_option(0.0, MAX_LATENCY_MS, above_minimum=True, what="milliseconds")
decibels = float_option(-MAX_DB, MAX_DB, what="decibels")
top_count = int_option(0, MAX_COUNT, "a number of rows")


def memory_size(text: str) -> str:
    """--memory-limit: a size such as 4G (or none), checked at parse time."""
    from profiler.bench.supervisor import parse_memory_limit

    try:
        limit = parse_memory_limit(text) if len(text) <= 64 else -1
    except (UsageError, OverflowError, ValueError):
        limit = -1
    if limit is not None and not MIN_MEMORY_LIMIT_BYTES <= limit <= MAX_MEMORY_LIMIT_BYTES:
        raise argparse.ArgumentTypeError(
            f"expected a size such as 4G, 512M or none (16M to 1P), got {text!r}")
    return text


MIN_MEMORY_LIMIT_BYTES = 16 * 1024**2
MAX_MEMORY_LIMIT_BYTES = 1024**5


# output files ---------------------------------------------------------------------------------

def check_output(path: str, allowed: Sequence[str], source: tuple[str, str] | None = None) -> None:
    """Before any work: -o has a known format, is not a special file or a folder, and is not
    the input (``source`` = (what, path)) itself or a link to it, so a long run never ends by
    refusing to write."""
    from profiler.report.exporters import check_output_path, same_file

    extension = os.path.splitext(path)[1].lower()
    if extension not in allowed:
        raise UsageError(f"-o {path}: unknown report format; use one of {', '.join(allowed)}")
    if source is not None and same_file(source[1], path):
        raise UsageError(f"-o {path}: that is the {source[0]} {source[1]}; choose another "
                         "output file")
    check_output_path(path)


# terminal-safe text ---------------------------------------------------------------------------

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    return _NAMED.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100
                                else f"\\u{ord(char):04x}")


def escape_controls(text: str) -> str:
    """Text from a model or a file as one inert line: control characters (escape sequences,
    BEL, CR, newlines, bidi overrides) shown as backslash escapes."""
    return _CONTROL.sub(_escape, text)


def terminal_safe(value: Any) -> Any:
    """A copy of ``value`` (dataclasses, lists, dicts) with every string escaped, for tables
    built from model-supplied names."""
    import copy
    import dataclasses

    if isinstance(value, str):
        return escape_controls(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = copy.copy(value)
        for item in dataclasses.fields(value):
            object.__setattr__(result, item.name, terminal_safe(getattr(value, item.name)))
        return result
    if isinstance(value, list):
        return [terminal_safe(item) for item in value]
    if isinstance(value, tuple):
        return tuple(terminal_safe(item) for item in value)
    if isinstance(value, dict):
        return {terminal_safe(k): terminal_safe(v) for k, v in value.items()}
    return value


def say(text: str, stream: TextIO | None = None) -> None:
    """Print lines we composed: each line keeps its layout, any control character left in
    it (from a file name, say) is escaped."""
    lines = (escape_controls(line) for line in text.split("\n"))
    print("\n".join(lines), file=stream if stream is not None else sys.stdout)


def note(text: str) -> None:
    """One line on stderr (warnings, errors, 'wrote FILE')."""
    print(escape_controls(text), file=sys.stderr)
