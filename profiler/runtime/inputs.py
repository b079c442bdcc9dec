"""Input data for a run: made by each input's ValueRule (seeded), or the user's .npy / .npz file.

Without a rule an input is random by dtype: floats N(0, 1) clipped to +-3, integers in
[0, 100), booleans fair coin flips. A rule gives one value (``fill``) or a range (``range``:
integers in [low, high), floats uniform in [low, high)).
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from profiler.errors import UsageError
from profiler.model.graph import ValueRule

FLOAT_CLIP = 3.0
"""Random floats are N(0, 1) clipped to +-3: no inf/NaN-provoking outliers."""
INT_LOW, INT_HIGH = 0, 100
"""Random integers (token ids, indices) lie in [0, 100): valid for any vocabulary or axis."""

InputSpecs = Sequence[tuple[str, str, Sequence[int]]]
ValueRules = Mapping[str, ValueRule]


def make_inputs(specs: InputSpecs, source: str | None, seed: int = 0,
                rules: ValueRules | None = None) -> dict[str, np.ndarray]:
    """One array per (name, dtype, shape): by ``rules`` (random where none) when ``source`` is
    None, else from the file."""
    if source is None:
        return random_inputs(specs, seed, rules)
    return file_inputs(specs, source)


def random_inputs(specs: InputSpecs, seed: int = 0,
                  rules: ValueRules | None = None) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    rules = rules or {}
    return {name: _ruled_array(rng, name, dtype, shape, rules.get(name))
            for name, dtype, shape in specs}


def _ruled_array(rng: np.random.Generator, name: str, dtype: str, shape: Sequence[int],
                 rule: ValueRule | None) -> np.ndarray:
    if rule is None or rule.kind == "random":
        return _random_array(rng, name, dtype, shape)
    numpy_dtype = _numpy_dtype(name, dtype)
    size = tuple(int(d) for d in shape)
    if rule.kind == "fill" and rule.fill is not None:
        return np.full(size, rule.fill).astype(numpy_dtype)
    if rule.kind == "range" and rule.low is not None and rule.high is not None:
        return _range_array(rng, numpy_dtype, size, rule.low, rule.high)
    raise UsageError(f"input {name!r}: value rule {rule.kind!r} lacks its values")


def _range_array(rng: np.random.Generator, numpy_dtype: np.dtype, size: tuple[int, ...],
                 low: float, high: float) -> np.ndarray:
    """Integers (and booleans) in [low, high); floats uniform in [low, high)."""
    if numpy_dtype.kind in "iub":
        top = max(int(np.ceil(high)), int(low) + 1)  # an empty range still gives ``low``
        return rng.integers(int(low), top, size=size).astype(numpy_dtype)
    return rng.uniform(low, high, size=size).astype(numpy_dtype)


def _numpy_dtype(name: str, dtype: str) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:
        raise UsageError(
            f"input {name!r} has type {dtype}, which numpy cannot hold; give data with --input"
        ) from None


def _random_array(rng: np.random.Generator, name: str, dtype: str,
                  shape: Sequence[int]) -> np.ndarray:
    numpy_dtype = _numpy_dtype(name, dtype)
    size = tuple(int(d) for d in shape)
    if numpy_dtype.kind == "f":
        values = np.clip(rng.standard_normal(size), -FLOAT_CLIP, FLOAT_CLIP)
        return values.astype(numpy_dtype)
    if numpy_dtype.kind in "iu":
        return rng.integers(INT_LOW, INT_HIGH, size=size).astype(numpy_dtype)
    if numpy_dtype.kind == "b":
        return rng.random(size) < 0.5
    raise UsageError(
        f"input {name!r} has type {dtype}; random data is made only for numbers and booleans: "
        "give data with --input"
    )


def file_inputs(specs: InputSpecs, source: str) -> dict[str, np.ndarray]:
    """Arrays from a .npy (a model with one input) or .npz (one array per input name)."""
    if not os.path.isfile(source):
        raise UsageError(f"{source}: no such input file")
    extension = os.path.splitext(source)[1].lower()
    if extension not in (".npy", ".npz"):
        raise UsageError(f"{source}: input data must be a .npy or .npz file")
    arrays = _read_npy(specs, source) if extension == ".npy" else _read_npz(specs, source)
    return {name: _checked(source, name, arrays[name], dtype, shape)
            for name, dtype, shape in specs}


def _names(specs: InputSpecs) -> str:
    return ", ".join(name for name, _, _ in specs)


def _read_npy(specs: InputSpecs, source: str) -> dict[str, np.ndarray]:
    if len(specs) != 1:
        raise UsageError(
            f"{source}: a .npy file holds one array but the model has {len(specs)} inputs "
            f"({_names(specs)}); give a .npz with one array per input name"
        )
    try:
        return {specs[0][0]: np.load(source, allow_pickle=False)}
    except (ValueError, OSError) as error:
        raise UsageError(f"{source}: not a readable .npy array ({error})") from None


MAX_DECLARED_ARRAY_BYTES = 8 << 30
"""The arrays of one .npz may declare at most this much in total: numpy allocates a member's
declared shape before inflating it, so a few kilobytes could otherwise claim gigabytes."""


def check_npz_sizes(archive: Any, source: str, max_bytes: int = MAX_DECLARED_ARRAY_BYTES) -> None:
    """Refuse a .npz (an open ``np.load`` archive) whose members declare more than
    ``max_bytes`` in total, reading only each member's .npy header."""
    declared = 0
    for info in archive.zip.infolist():
        with archive.zip.open(info) as member:
            version = np.lib.format.read_magic(member)
            header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                      else np.lib.format.read_array_header_2_0)
            shape, _, dtype = header(member, max_header_size=10_000)
        declared += math.prod(shape) * dtype.itemsize
        if declared > max_bytes:
            raise UsageError(
                f"{source}: its arrays declare {declared / 2**30:.1f} GiB (more than "
                f"{max_bytes / 2**30:.0f} GiB); refused before reading")


def _read_npz(specs: InputSpecs, source: str) -> dict[str, np.ndarray]:
    try:
        with np.load(source, allow_pickle=False) as archive:
            check_npz_sizes(archive, source)
            arrays = {key: archive[key] for key in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile) as error:
        raise UsageError(f"{source}: not a readable .npz archive ({error})") from None
    wanted = [name for name, _, _ in specs]
    missing = [name for name in wanted if name not in arrays]
    extra = [key for key in arrays if key not in wanted]
    if missing or extra:
        found = ", ".join(arrays) or "no arrays"
        raise UsageError(
            f"{source}: holds {found}, but the model's inputs are {_names(specs)}; "
            "name one array per input"
        )
    return arrays


def _checked(source: str, name: str, array: np.ndarray, dtype: str,
             shape: Sequence[int]) -> np.ndarray:
    expected = tuple(int(d) for d in shape)
    if tuple(array.shape) != expected:
        raise UsageError(
            f"{source}: input {name!r} has shape {list(array.shape)} but the model runs at "
            f"{list(expected)}; give data of that shape or set --shape {name}=..."
        )
    target = _numpy_dtype(name, dtype)
    if array.dtype != target:
        if not np.can_cast(array.dtype, target, casting="same_kind"):
            raise UsageError(
                f"{source}: input {name!r} is {array.dtype} but the model takes {target}"
            )
        array = array.astype(target)
    return np.ascontiguousarray(array)
