"""The lossless JSON report (what the app saves and reopens).

Laid out for reading and diffing: the report's sections and their fields one per line, and
each row of a table (a layer, an input, a run's layer timing) on one line of its own. Rows
are encoded by json's C encoder; Python's indenting encoder took four times as long (9 ms
for a 300-layer model, after the model was analysed).
"""

from __future__ import annotations

import json
import math
from typing import Any

from profiler.records.report import Report

INDENT = " "
EXPANDED_DEPTH = 2
"""The report and its sections (depth 0 and 1) show one field per line whatever they hold."""

_encode_row = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def render(report: Report) -> str:
    parts: list[str] = []
    _write(report.to_dict(), 0, parts)
    parts.append("\n")
    return "".join(parts)


def _write(value: Any, depth: int, parts: list[str]) -> None:
    kind = type(value)
    if kind is dict and value and (depth < EXPANDED_DEPTH or _holds_table(value)):
        inner = "\n" + INDENT * (depth + 1)
        parts.append("{")
        for position, (key, item) in enumerate(value.items()):
            parts.append(inner if position == 0 else "," + inner)
            parts.append(_encode_row(key) + ": ")
            _write(item, depth + 1, parts)
        parts.append("\n" + INDENT * depth + "}")
    elif kind is list and _is_table(value):
        inner = "\n" + INDENT * (depth + 1)
        parts.append("[")
        for position, item in enumerate(value):
            parts.append(inner if position == 0 else "," + inner)
            _write(item, depth + 1, parts)
        parts.append("\n" + INDENT * depth + "]")
    else:
        parts.append(_row(value))


def _row(value: Any) -> str:
    """One line. JSON has no NaN/Infinity: those are stored as null rather than written as
    invalid JSON (rare, so looked for only when the encoder refuses them)."""
    try:
        return _encode_row(value)
    except ValueError:
        return _encode_row(_finite(value))


def _is_table(value: list[Any]) -> bool:
    for item in value:  # noqa: SIM110  (a loop, not any(): asked of every row)
        if type(item) is dict:
            return True
    return False


def _holds_table(value: dict[str, Any]) -> bool:
    for item in value.values():
        kind = type(item)
        if (kind is list and _is_table(item)) or (kind is dict and _holds_table(item)):
            return True
    return False


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value
