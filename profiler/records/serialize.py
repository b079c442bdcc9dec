"""Dataclass <-> JSON-ready dict, driven by type hints, with type checks on the way in.

Loading checks every field's type, so a report file with wrong types fails with a message
naming the field instead of surfacing later as an attribute error in a view. ``loads_strict``
parses report JSON with bounds (finite numbers, integer size, text length, depth), so a damaged
or hostile file fails the same way instead of overflowing or recursing in a renderer.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from typing import Any, TypeVar, Union

from profiler.errors import ReportError

T = TypeVar("T")


_PLAIN_TYPES = frozenset({str, int, float, bool, type(None)})
_field_names: dict[type, tuple[str, ...] | None] = {}


def field_names(kind: type) -> tuple[str, ...] | None:
    """The field names of a dataclass type; None for any other type (both cached)."""
    try:
        return _field_names[kind]
    except KeyError:
        names = (tuple(f.name for f in dataclasses.fields(kind))
                 if dataclasses.is_dataclass(kind) else None)
        _field_names[kind] = names
        return names


def to_dict(obj: Any) -> Any:
    """Recursively turn dataclasses (and tuples/sets) into JSON-ready dicts and lists."""
    kind = type(obj)
    if kind in _PLAIN_TYPES:  # most of a report: answered before any other test
        return obj
    names = field_names(kind)
    if names is not None:
        return {name: to_dict(getattr(obj, name)) for name in names}
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(to_dict(v) for v in obj)
    return obj


class _FieldError(ReportError):
    def __init__(self, path: str, problem: str) -> None:
        super().__init__(problem)
        self.path = path
        self.problem = problem


def from_dict(cls: type[T], data: Any, where: str = "report") -> T:
    """Build ``cls`` from ``data``; unknown keys are ignored (forward compatible additions).
    A wrong type raises ReportError 'WHERE: field.path: problem'."""
    try:
        return typing.cast(T, _convert(cls, data, ""))
    except _FieldError as error:
        raise ReportError(f"{where}: {error.path.lstrip('.') or '(top level)'}: "
                          f"{error.problem}") from None


def _convert(hint: Any, value: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        return _convert_union(typing.get_args(hint), value, where)
    if dataclasses.is_dataclass(hint):
        return _convert_dataclass(hint, value, where)  # type: ignore[arg-type]
    if origin in (list, tuple, set, frozenset):
        return _convert_sequence(hint, origin, value, where)
    if origin is dict:
        return _convert_mapping(hint, value, where)
    return _convert_scalar(hint, value, where)


def _convert_union(args: tuple[Any, ...], value: Any, where: str) -> Any:
    if value is None and type(None) in args:
        return None
    errors: list[_FieldError] = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return _convert(arg, value, where)
        except _FieldError as error:
            errors.append(error)
    raise errors[0] if errors else _FieldError(where, "unexpected value")


def _convert_dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise _FieldError(where, f"expected an object, found {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name in value:
            kwargs[field.name] = _convert(hints[field.name], value[field.name],
                                          f"{where}.{field.name}")
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise _FieldError(where, str(error)) from None


def _convert_sequence(hint: Any, origin: Any, value: Any, where: str) -> Any:
    if not isinstance(value, list):
        raise _FieldError(where, f"expected a list, found {type(value).__name__}")
    args = typing.get_args(hint)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        args = (args[0],)
    item_hint = args[0] if args else Any
    items = [_convert(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value)]
    return origin(items) if origin is not list else items


def _convert_mapping(hint: Any, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise _FieldError(where, f"expected an object, found {type(value).__name__}")
    args = typing.get_args(hint)
    value_hint = args[1] if len(args) == 2 else Any
    return {str(k): _convert(value_hint, v, f"{where}.{k}") for k, v in value.items()}


def _convert_scalar(hint: Any, value: Any, where: str) -> Any:
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is int and isinstance(value, int) and not isinstance(value, bool):
        return value
    if hint in (str, bool) and isinstance(value, hint):
        return value
    if hint is type(None) and value is None:
        return None
    if hint not in (int, float, str, bool, type(None)):
        return value
    raise _FieldError(where, f"expected {hint.__name__}, found {type(value).__name__}")


# Strict JSON: finite numbers, bounded integers, strings and depth ----------------------------

MAX_JSON_DEPTH = 64
"""A report nests about 8 levels; run configs and environments add a few."""
MAX_TEXT_CHARS = 4 * 1024 * 1024
"""Names, paths, messages and metadata values are far shorter."""
MAX_PATH_PARTS = 8
MAX_INT_DIGITS = 30
"""10^30 is beyond any count or size a report holds, and still converts to a float."""


class _Refused:
    """A JSON number the parser met that a report may not hold (kept to name its field)."""

    def __init__(self, text: str, why: str) -> None:
        self.text = text[:40] + ("..." if len(text) > 40 else "")
        self.why = why


def _parse_float(text: str) -> Any:
    value = float(text)
    return value if math.isfinite(value) else _Refused(text, "a number beyond a float's range")


def _parse_int(text: str) -> Any:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        return _Refused(text, f"an integer of more than {MAX_INT_DIGITS} digits")
    return int(text)


def _parse_constant(text: str) -> Any:
    return _Refused(text, "not a finite number")


def loads_strict(text: str | bytes, source: str) -> Any:
    """Parse report JSON; NaN, Infinity, numbers beyond range, over-long strings and nesting
    deeper than MAX_JSON_DEPTH are refused with one line naming ``source`` and the field."""
    try:
        data = json.loads(text, parse_float=_parse_float, parse_int=_parse_int,
                          parse_constant=_parse_constant)
    except RecursionError:
        raise ReportError(f"{source}: not a readable JSON report (nested too deeply)") from None
    except ValueError as error:  # JSON and Unicode decoding
        raise ReportError(f"{source}: not a readable JSON report ({error})") from None
    check_json_tree(data, source)
    return data


def check_json_tree(data: Any, source: str) -> None:
    """Walk the parsed tree without recursion; the first bad value raises a ReportError."""
    stack: list[tuple[Any, int, Any]] = [(data, 0, None)]
    while stack:
        value, depth, path = stack.pop()
        problem = _value_problem(value, depth)
        if problem:
            raise ReportError(f"{source}: not a readable JSON report ({_path_text(path)}: "
                              f"{problem})")
        if isinstance(value, dict):
            stack.extend((item, depth + 1, (path, f".{key}")) for key, item in value.items())
        elif isinstance(value, list):
            stack.extend((item, depth + 1, (path, f"[{i}]")) for i, item in enumerate(value))


def _value_problem(value: Any, depth: int) -> str:
    if isinstance(value, _Refused):
        return f"{value.why}, {value.text}; the file is damaged"
    if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
        return f"text of {len(value)} characters (at most {MAX_TEXT_CHARS}); the file is damaged"
    if isinstance(value, dict) and any(len(key) > MAX_TEXT_CHARS for key in value):
        return f"a key longer than {MAX_TEXT_CHARS} characters; the file is damaged"
    if isinstance(value, (dict, list)) and value and depth >= MAX_JSON_DEPTH:
        return f"nested deeper than {MAX_JSON_DEPTH} levels; the file is damaged"
    return ""


def _path_text(path: Any) -> str:
    parts: list[str] = []
    while path is not None:
        path, part = path
        parts.append(part)
    parts.reverse()
    if len(parts) > MAX_PATH_PARTS:  # a deep path: its start says where, the rest is noise
        parts = [*parts[:MAX_PATH_PARTS], f"... ({len(parts)} levels)"]
    return "".join(parts).lstrip(".") or "(top level)"
