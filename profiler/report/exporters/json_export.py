"""The lossless JSON report (what the app saves and reopens).

Laid out for reading and diffing: the report's sections and their fields one per line, and
each row of a table (a layer, an input, a run's layer timing) on one line of its own. Rows
are encoded by json's C encoder straight from the records (``_plain`` turns each record into
its fields as the encoder meets it): Python's indenting encoder took four times as long, and
turning the whole report into dicts first another 3 ms for a 300-layer model, all of it after
the model was analysed. The text is what ``json.dumps(to_dict(report))`` holds, laid out.
"""

from __future__ import annotations

import json
import math
from typing import Any

from profiler.records.report import Report
from profiler.records.serialize import field_names, to_dict

INDENT = " "
EXPANDED_DEPTH = 2
"""The report and its sections (depth 0 and 1) show one field per line whatever they hold."""
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    """For the encoder: a record as its fields (one level; the encoder goes on), a set as its
    sorted items, as ``to_dict`` makes them."""
    names = field_names(type(value))
    if names is not None:
        return {name: getattr(value, name) for name in names}
    if isinstance(value, (set, frozenset)):
        return sorted(to_dict(item) for item in value)
    raise TypeError(f"{type(value).__name__} is not part of a report")


_encode_row = json.JSONEncoder(ensure_ascii=False, allow_nan=False, default=_plain).encode


def render(report: Report) -> str:
    parts: list[str] = []
    _write(report, 0, parts)
    parts.append("\n")
    return "".join(parts)


def _write(value: Any, depth: int, parts: list[str]) -> None:
    fields = _fields(value)
    if fields and (depth < EXPANDED_DEPTH or _holds_table(fields)):
        inner = "\n" + INDENT * (depth + 1)
        parts.append("{")
        for position, (key, item) in enumerate(fields.items()):
            parts.append(inner if position == 0 else "," + inner)
            parts.append(_encode_row(str(key)) + ": ")
            _write(item, depth + 1, parts)
        parts.append("\n" + INDENT * depth + "}")
    elif type(value) in (list, tuple) and _is_table(value):
        inner = "\n" + INDENT * (depth + 1)
        parts.append("[")
        for position, item in enumerate(value):
            parts.append(inner if position == 0 else "," + inner)
            _write(item, depth + 1, parts)
        parts.append("\n" + INDENT * depth + "]")
    else:
        parts.append(_row(value if fields is None else fields))


def _fields(value: Any) -> dict[Any, Any] | None:
    """A dict itself, or a record's fields (one level); None for anything else."""
    if type(value) is dict:
        return value
    names = field_names(type(value))
    return None if names is None else {name: getattr(value, name) for name in names}


def _row(value: Any) -> str:
    """One line. JSON has no NaN/Infinity: those are stored as null rather than written as
    invalid JSON (rare, so looked for only when the encoder refuses them)."""
    try:
        return _encode_row(value)
    except ValueError:
        return _encode_row(_finite(to_dict(value)))


def _is_table(value: list[Any] | tuple[Any, ...]) -> bool:
    for item in value:  # noqa: SIM110  (a loop, not any(): asked of every row)
        if type(item) is dict or field_names(type(item)) is not None:
            return True
    return False


def _holds_table(fields: dict[Any, Any]) -> bool:
    for item in fields.values():
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is list or kind is tuple:
            if _is_table(item):
                return True
        else:
            inner = _fields(item)
            if inner is not None and _holds_table(inner):
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
