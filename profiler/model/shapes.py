"""Input-shape resolution: dynamic dims get user overrides, then documented defaults.

Defaults (applied only where the model leaves a dim unsized, and always reported):
- the first dim (batch) is 1;
- the last two dims of a rank-4 input (image height/width) are 224;
- the middle dim of a recurrent state [layers x directions, ?, hidden] (rank 3, the outer two
  fixed, the first at most ``MAX_STATE_LAYERS``) is its batch: 1;
- any other dim (sequence length and the like) is 128.
A symbolic dim shared by several inputs (e.g. ``seq``) gets one value everywhere: the value
an override gave it, if any. ``?`` and empty names are anonymous unknowns (Paddle exports name
every unknown dim ``?``), never shared. A rank-0 input is concrete as declared (shape ``()``);
``--shape NAME=scalar`` (or ``NAME=``) says so explicitly.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from profiler.errors import ShapeError
from profiler.model.graph import Dim, InputSpec

DEFAULT_BATCH = 1
DEFAULT_IMAGE_SIDE = 224
DEFAULT_SEQUENCE = 128
MAX_DIM = 2**31 - 1
MAX_STATE_LAYERS = 8
"""An RNN/LSTM/GRU state is [layers x directions, batch, hidden]: a first dim this small, fixed,
and a fixed last dim mark that layout (silero VAD's ``state`` is 2x?x128)."""
STATE_NAME = re.compile(r"state|hidden|\bh0\b|\bc0\b|cell", re.IGNORECASE)

SCALAR_WORD = "scalar"
ANONYMOUS_DIMS = frozenset({"", "?"})
"""Dim names that mean "unknown", not a symbol shared with other dims."""

_SHAPE_RE = re.compile(
    r"^\s*(?P<name>.+?)\s*=\s*(?P<dims>\d+(?:\s*[x,]\s*\d+)*|scalar)?\s*$", re.IGNORECASE
)


def is_symbol(dim: Dim) -> bool:
    """True for a named dim that other dims with the same name share."""
    return isinstance(dim, str) and dim.strip() not in ANONYMOUS_DIMS


def parse_shape_overrides(items: Iterable[str]) -> dict[str, tuple[int, ...]]:
    """Parse ``NAME=1x3x224x224`` strings (``,`` also separates dims; ``NAME=scalar`` or
    ``NAME=`` is rank 0)."""
    overrides: dict[str, tuple[int, ...]] = {}
    for item in items:
        match = _SHAPE_RE.match(item)
        if match is None:
            raise ShapeError(
                f"--shape {item!r}: expected NAME=DIMxDIM... or NAME=scalar, e.g. "
                "input=1x3x224x224"
            )
        dims_text = match.group("dims") or ""
        if dims_text.lower() == SCALAR_WORD:
            dims_text = ""
        dims = tuple(int(d) for d in re.split(r"\s*[x,]\s*", dims_text) if d)
        if any(d <= 0 or d > MAX_DIM for d in dims):
            raise ShapeError(f"--shape {item!r}: every dim must be between 1 and {MAX_DIM}")
        overrides[match.group("name")] = dims
    return overrides


def _is_recurrent_state(name: str, declared: tuple[Dim, ...]) -> bool:
    """[layers x directions, ?, hidden]; a first dim of 1 is that only when the name says so
    ([1, seq, hidden] is as likely a sequence of hidden states)."""
    if len(declared) != 3:
        return False
    first, last = declared[0], declared[-1]
    if not (isinstance(first, int) and 0 < first <= MAX_STATE_LAYERS
            and isinstance(last, int) and last > 0):
        return False
    return first >= 2 or STATE_NAME.search(name) is not None


def _default_dim(name: str, index: int, declared: tuple[Dim, ...]) -> int:
    rank = len(declared)
    if index == 0 or (index == 1 and _is_recurrent_state(name, declared)):
        return DEFAULT_BATCH
    if rank == 4 and index >= 2:
        return DEFAULT_IMAGE_SIDE
    return DEFAULT_SEQUENCE


def _check_override(name: str, declared: tuple[Dim, ...] | None, shape: tuple[int, ...]) -> None:
    if declared is None:
        return
    if len(declared) != len(shape):
        raise ShapeError(
            f"--shape {name}: the model declares rank {len(declared)} "
            f"({format_shape(declared)}), the override has rank {len(shape)}"
        )
    for index, (want, got) in enumerate(zip(declared, shape, strict=True)):
        if isinstance(want, int) and want > 0 and want != got:
            raise ShapeError(
                f"--shape {name}: dim {index} is fixed at {want} in the model, override gives {got}"
            )


def resolve_input_shapes(
    inputs: list[tuple[str, str, tuple[Dim, ...] | None]],
    overrides: Mapping[str, tuple[int, ...]],
) -> list[InputSpec]:
    """Give every input a concrete shape: overrides first, then sizes shared by name, then defaults.

    ``inputs`` is (name, dtype, declared shape) per model input.
    """
    names = [name for name, _, _ in inputs]
    unknown = [name for name in overrides if name not in names]
    if unknown:
        raise ShapeError(
            f"--shape names unknown input(s) {', '.join(unknown)}; the model's inputs are: "
            f"{', '.join(names) or '(none)'}"
        )
    overrides = _scalar_overrides(inputs, overrides)
    symbol_sizes = _override_symbol_sizes(inputs, overrides)
    return [
        _resolve_one(name, dtype, declared, overrides.get(name), symbol_sizes)
        for name, dtype, declared in inputs
    ]


def _scalar_overrides(
    inputs: list[tuple[str, str, tuple[Dim, ...] | None]],
    overrides: Mapping[str, tuple[int, ...]],
) -> dict[str, tuple[int, ...]]:
    """A one-element override (``sr=1``) of a rank-0 input means the scalar itself."""
    scalars = {name for name, _, declared in inputs if declared == ()}
    return {name: () if name in scalars and all(d == 1 for d in shape) else shape
            for name, shape in overrides.items()}


def _override_symbol_sizes(
    inputs: list[tuple[str, str, tuple[Dim, ...] | None]],
    overrides: Mapping[str, tuple[int, ...]],
) -> dict[str, int]:
    """Sizes the overrides give to symbolic dims; two inputs giving one symbol two sizes is an
    error. Inside one input the user's full shape wins: a symbol it gives two sizes is left
    unshared."""
    symbol_sizes: dict[str, int] = {}
    given_by: dict[str, str] = {}
    for name, _, declared in inputs:
        if name not in overrides:
            continue
        _check_override(name, declared, overrides[name])
        for dim, size in _own_symbol_sizes(declared, overrides[name]).items():
            if symbol_sizes.setdefault(dim, size) != size:
                raise ShapeError(
                    f"--shape: dim {dim!r} is shared by {given_by[dim]} and {name}, but the "
                    f"overrides give it {symbol_sizes[dim]} and {size}; give it one size"
                )
            given_by.setdefault(dim, name)
    return symbol_sizes


def _own_symbol_sizes(declared: tuple[Dim, ...] | None, shape: tuple[int, ...]) -> dict[str, int]:
    """Symbol -> size within one overridden input; symbols it sizes inconsistently are dropped."""
    sizes: dict[str, int] = {}
    conflicting: set[str] = set()
    for dim, size in zip(declared or (), shape, strict=False):
        if not is_symbol(dim):
            continue
        assert isinstance(dim, str)
        if sizes.setdefault(dim, size) != size:
            conflicting.add(dim)
    return {dim: size for dim, size in sizes.items() if dim not in conflicting}


def _resolve_one(
    name: str,
    dtype: str,
    declared: tuple[Dim, ...] | None,
    override: tuple[int, ...] | None,
    symbol_sizes: dict[str, int],
) -> InputSpec:
    if override is not None:
        return InputSpec(name, dtype, declared, override, "override")
    if declared is None:
        raise ShapeError(
            f"input {name!r} has no declared shape; give one with --shape {name}=DIMxDIM..."
        )
    dims: list[int] = []
    source = "model"
    for index, dim in enumerate(declared):
        if isinstance(dim, int) and dim > 0:
            dims.append(dim)
            continue
        source = "default"
        if is_symbol(dim) and str(dim) in symbol_sizes:
            dims.append(symbol_sizes[str(dim)])
            continue
        size = _default_dim(name, index, declared)
        if is_symbol(dim):
            symbol_sizes[str(dim)] = size
        dims.append(size)
    return InputSpec(name, dtype, declared, tuple(dims), source)


def format_shape(shape: Iterable[Dim] | None) -> str:
    """``1x3x224x224``; symbolic dims by name, unknown ones as ``?``; ``scalar`` for rank 0."""
    if shape is None:
        return "?"
    parts = ["?" if d is None or d == "" else str(d) for d in shape]
    return "x".join(parts) if parts else "scalar"


def defaulted_dims_warning(spec: InputSpec) -> str | None:
    """A one-line note for inputs whose size came from defaults, naming the flag to change it."""
    if spec.shape_source != "default" or spec.shape is None:
        return None
    return (
        f"input {spec.name!r} is dynamic ({format_shape(spec.declared_shape)}); analysed at "
        f"{format_shape(spec.shape)} (set another size with --shape {spec.name}=...)"
    )
