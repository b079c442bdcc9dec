"""Dataclass <-> JSON-ready dict, driven by type hints, with type checks on the way in.

Loading checks every field's type, so a report file with wrong types fails with a message
naming the field instead of surfacing later as an attribute error in a view.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar, Union

from profiler.errors import ReportError

T = TypeVar("T")


def to_dict(obj: Any) -> Any:
    """Recursively turn dataclasses (and tuples/sets) into JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): to_dict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(to_dict(v) for v in obj)
    return obj


def from_dict(cls: type[T], data: Any, where: str = "report") -> T:
    """Build ``cls`` from ``data``; unknown keys are ignored (forward compatible additions)."""
    return typing.cast(T, _convert(cls, data, where))


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
    errors = []
    for arg in args:
        if arg is type(None):
            continue
        try:
            return _convert(arg, value, where)
        except ReportError as error:
            errors.append(str(error))
    raise ReportError(errors[0] if errors else f"{where}: unexpected value {value!r}")


def _convert_dataclass(cls: type, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise ReportError(f"{where}: expected an object, found {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name in value:
            kwargs[field.name] = _convert(hints[field.name], value[field.name],
                                          f"{where}.{field.name}")
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise ReportError(f"{where}: {error}") from None


def _convert_sequence(hint: Any, origin: Any, value: Any, where: str) -> Any:
    if not isinstance(value, list):
        raise ReportError(f"{where}: expected a list, found {type(value).__name__}")
    args = typing.get_args(hint)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        args = (args[0],)
    item_hint = args[0] if args else Any
    items = [_convert(item_hint, item, f"{where}[{i}]") for i, item in enumerate(value)]
    return origin(items) if origin is not list else items


def _convert_mapping(hint: Any, value: Any, where: str) -> Any:
    if not isinstance(value, dict):
        raise ReportError(f"{where}: expected an object, found {type(value).__name__}")
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
    raise ReportError(f"{where}: expected {hint.__name__}, found {type(value).__name__}")
