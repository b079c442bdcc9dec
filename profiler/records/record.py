"""``record``: the project's dataclass, with shared methods where dataclasses generate them.

A dataclass compiles a ``__repr__``, an ``__eq__`` and (frozen) a ``__hash__`` from source
for each class as it is created: a third of its cost, 0.2 ms a class, and ``edgeprof-cli
analyze`` creates some 60 classes before its answer. A record gets the dataclass's
``__init__`` (and, frozen, its assignment guards) and shares these three, which behave as
the generated ones do: equal when of the same class with equal ``compare`` fields (compared
as tuples, so a field holding the same NaN object is equal), ``Name(field=value, ...)`` over
the ``repr`` fields, and a frozen record hashing the tuple of its ``compare`` fields.
"""

from __future__ import annotations

import reprlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, TypeVar, overload

T = TypeVar("T")

if TYPE_CHECKING:
    from typing_extensions import dataclass_transform
elif sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # only type checkers read it; a board's Python 3.10 runs the worker without it
    def dataclass_transform(**_: Any) -> Callable[[T], T]:
        return lambda function: function


@overload
def record(cls: type[T], /) -> type[T]: ...
@overload
def record(*, frozen: bool = False) -> Callable[[type[T]], type[T]]: ...


@dataclass_transform(field_specifiers=(field,))
def record(cls: type[T] | None = None, /, *, frozen: bool = False
           ) -> type[T] | Callable[[type[T]], type[T]]:
    """``@record`` or ``@record(frozen=True)`` on a class, as ``@dataclass`` would be."""
    def make(cls: type[T]) -> type[T]:
        made: Any = dataclass(cls, repr=False, eq=False, frozen=frozen)
        made.__record_compared__ = tuple(f.name for f in fields(made) if f.compare)
        made.__record_shown__ = tuple(f.name for f in fields(made) if f.repr)
        made.__eq__, made.__repr__ = _equal, _shown
        made.__hash__ = _hashed if frozen else None  # a mutable record is not hashable
        return made
    return make if cls is None else make(cls)


def _compared(item: Any) -> tuple[Any, ...]:
    return tuple(getattr(item, name) for name in item.__record_compared__)


def _equal(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _compared(self) == _compared(other)


def _hashed(self: Any) -> int:
    return hash(_compared(self))


@reprlib.recursive_repr()
def _shown(self: Any) -> str:
    shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__record_shown__)
    return f"{self.__class__.__qualname__}({shown})"
