"""What the user says about inputs (shapes, one value, a range) and the model loaded with it.

User settings win over what the graph suggests (:mod:`profiler.model.input_values`). Values
that decide control flow (small inputs with one value) are passed into loading, so an If whose
condition depends on them is counted as the branch that will run.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import field, replace

from profiler.errors import UsageError
from profiler.model.graph import InputSpec, ModelGraph, ValueRule
from profiler.model.input_values import (
    MAX_SMALL_ELEMENTS,
    derive_rules,
    element_count,
    is_integer,
)
from profiler.model.loader import load_model
from profiler.model.shape_checks import Problem, shape_problems
from profiler.model.shapes import DEFAULT_IMAGE_SIDE, DEFAULT_SEQUENCE, format_shape
from profiler.records.record import record

LONGER_DEFAULTS = (256, 512, 1024, 2048, 4096, 8192, 16384)
"""Lengths tried, shortest first, when the default is too short for a window."""
IMAGE_SIDES = (32, 48, 64, 96, 128, 160, 192, 256, 320, 384, 448, 512, 640)
"""Image sides tried, smallest first, when the default 224 does not fit (an OCR recogniser's
height is 32 or 48)."""

_VALUE_RE = re.compile(r"^\s*(?P<name>.+?)\s*=\s*(?P<value>\S+)\s*$")


@record
class InputSettings:
    """Per-input choices: shape overrides, one value (a scalar, or a fill), a range [lo, hi)."""

    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    values: dict[str, float] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    def names(self) -> set[str]:
        return set(self.shapes) | set(self.values) | set(self.ranges)


def _number(text: str, what: str) -> float:
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return 1.0 if lowered == "true" else 0.0
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"{what}: give a finite number, not {text!r}")
    return value


def parse_input_values(items: Iterable[str]) -> dict[str, float]:
    """``NAME=16000`` strings (also true/false) -> {name: value}."""
    values: dict[str, float] = {}
    for item in items:
        match = _VALUE_RE.match(item)
        if match is None:
            raise UsageError(f"--input-value {item!r}: expected NAME=VALUE, e.g. sr=16000")
        values[match.group("name")] = _number(match.group("value"), f"--input-value {item!r}")
    return values


def parse_input_ranges(items: Iterable[str]) -> dict[str, tuple[float, float]]:
    """``NAME=LO:HI`` strings -> {name: (lo, hi)}; integers are drawn from [LO, HI)."""
    ranges: dict[str, tuple[float, float]] = {}
    for item in items:
        match = _VALUE_RE.match(item)
        parts = match.group("value").split(":") if match else []
        if match is None or len(parts) != 2:
            raise UsageError(f"--input-range {item!r}: expected NAME=LO:HI, e.g. "
                             "input_ids=0:30522")
        what = f"--input-range {item!r}"
        low, high = _number(parts[0], what), _number(parts[1], what)
        if not low < high:
            raise UsageError(f"{what}: LO must be below HI")
        ranges[match.group("name")] = (low, high)
    return ranges


def check_names(settings: InputSettings, specs: list[InputSpec]) -> None:
    """Values and ranges must name model inputs, and no input gets both."""
    names = [spec.name for spec in specs]
    for flag, given in (("--input-value", settings.values), ("--input-range", settings.ranges)):
        unknown = [name for name in given if name not in names]
        if unknown:
            raise UsageError(f"{flag} names unknown input(s) {', '.join(unknown)}; the model's "
                             f"inputs are: {', '.join(names) or '(none)'}")
    both = sorted(set(settings.values) & set(settings.ranges))
    if both:
        raise UsageError(f"input {both[0]!r} has both --input-value and --input-range; give one")


def user_rule(spec: InputSpec, settings: InputSettings) -> ValueRule | None:
    if spec.name in settings.values:
        value = float(settings.values[spec.name])
        if is_integer(spec.dtype) and not value.is_integer():
            raise UsageError(f"--input-value {spec.name}={value:g}: the input holds integers "
                             f"({spec.dtype}); give a whole number")
        return ValueRule("fill", fill=value, source="user", note=f"given: {value:g}")
    if spec.name in settings.ranges:
        low, high = (float(v) for v in settings.ranges[spec.name])
        return ValueRule("range", low=low, high=high, source="user-range",
                         note=f"given range [{low:g}, {high:g})")
    return None


def resolve_rules(model: ModelGraph, settings: InputSettings) -> tuple[dict[str, ValueRule],
                                                                      list[str]]:
    """Each input's rule (the user's, else the graph's) and the warnings they call for."""
    check_names(settings, model.input_specs)
    derived = derive_rules(model.graph, model.input_specs)
    rules: dict[str, ValueRule] = {}
    warnings: list[str] = []
    for spec in model.input_specs:
        given = user_rule(spec, settings)
        rules[spec.name] = given or derived[spec.name]
        warning = value_warning(spec.name, given, derived[spec.name])
        if warning:
            warnings.append(warning)
    return rules, warnings


def value_warning(name: str, given: ValueRule | None, derived: ValueRule) -> str | None:
    """Guessed values, a choice among several constants, or a user value the graph refuses."""
    if given is not None:
        return _outside_warning(name, given, derived)
    if derived.guessed:
        return (f"input {name!r}: values guessed ({derived.note}); set a valid range with "
                f"--input-range {name}=LO:HI")
    if derived.kind == "fill" and "the largest" in derived.note:
        return (f"input {name!r} set to {derived.note}; give another with "
                f"--input-value {name}=...")
    return None


def _outside_warning(name: str, given: ValueRule, derived: ValueRule) -> str | None:
    if derived.kind != "range" or derived.low is None or derived.high is None:
        return None
    low = given.fill if given.kind == "fill" else given.low
    high = given.fill if given.kind == "fill" else given.high
    assert low is not None and high is not None
    upper_ok = high < derived.high if given.kind == "fill" else high <= derived.high
    if low >= derived.low and upper_ok:
        return None
    return (f"input {name!r}: the given values leave the valid range [{derived.low:g}, "
            f"{derived.high:g}) ({derived.note}); the runtime may fail or compute garbage")


def control_values(specs: list[InputSpec],
                   rules: Mapping[str, ValueRule]) -> dict[str, list[float]]:
    """Flat values of small inputs with one value: they can decide control flow."""
    values: dict[str, list[float]] = {}
    for spec in specs:
        rule, count = rules.get(spec.name), element_count(spec)
        if rule is None or rule.kind != "fill" or rule.fill is None or count is None:
            continue
        if count <= MAX_SMALL_ELEMENTS:
            values[spec.name] = [rule.fill] * count
    return values


def with_shapes(settings: InputSettings | None,
                shapes: Mapping[str, tuple[int, ...]] | None) -> InputSettings:
    """``settings`` plus shape overrides given apart (the settings' own shapes win)."""
    settings = settings or InputSettings()
    return replace(settings, shapes={**dict(shapes or {}), **settings.shapes})


def load_with_inputs(path: str, settings: InputSettings | None = None,
                     input_values: Mapping[str, Sequence[float | int]] | None = None,
                     ) -> ModelGraph:
    """Load ``path`` at the settings' shapes, with every input's value rule attached.

    The model is loaded a second time, with those values, only when it has small inputs with
    one value (given or read from the graph): they may decide which If branch runs.
    ``input_values`` (flat, by name) are passed to loading as they are."""
    settings = settings or InputSettings()
    model = load_model(path, settings.shapes)
    rules, warnings = resolve_rules(model, settings)
    wanted: dict[str, Sequence[float | int]] = {**control_values(model.input_specs, rules),
                                                **dict(input_values or {})}
    if wanted:
        model = load_model(path, settings.shapes, wanted)
    model = fit_default_lengths(path, model, settings.shapes, wanted)
    attach_rules(model, rules, warnings)
    return model


def fit_default_lengths(path: str, model: ModelGraph, shapes: Mapping[str, tuple[int, ...]],
                        values: Mapping[str, Sequence[float | int]]) -> ModelGraph:
    """When a default size does not fit the model (a length shorter than a Conv window, an
    image side the architecture cannot reduce: see profiler.model.shape_checks), load again with
    other defaulted sizes, shortest first, until nothing conflicts; the warning says why the
    model runs at that size. Sizes the user gave are never changed."""
    problems = shape_problems(model.graph)
    if not problems:
        return model
    for overrides in _candidate_sizes(model.input_specs, shapes):
        candidate = load_model(path, {**overrides, **shapes}, values or None)
        if not shape_problems(candidate.graph):
            _mark_fitted(candidate, set(overrides), problems[0])
            return candidate
    model.warnings.append(
        f"the model cannot run at the shapes it is analysed at: {problems[0].text()}; set the "
        "input shapes (--shape NAME=...)")
    return model


def _candidate_sizes(specs: list[InputSpec], shapes: Mapping[str, tuple[int, ...]]
                     ) -> Iterator[dict[str, tuple[int, ...]]]:
    """Overrides to try: defaulted sequence lengths doubled, then defaulted image heights,
    widths, and both, over the usual sides."""
    lengths = defaulted_positions(specs, shapes, DEFAULT_SEQUENCE)
    for length in LONGER_DEFAULTS:
        if lengths:
            yield _with_sizes(specs, lengths, length)
    sides = defaulted_positions(specs, shapes, DEFAULT_IMAGE_SIDE)
    for keep in (3, 2, None):  # height only, width only, both
        chosen = {name: [p for p in positions if p != keep] for name, positions in sides.items()}
        chosen = {name: positions for name, positions in chosen.items() if positions}
        for side in IMAGE_SIDES:
            if chosen:
                yield _with_sizes(specs, chosen, side)


def defaulted_positions(specs: list[InputSpec], shapes: Mapping[str, tuple[int, ...]],
                        default: int) -> dict[str, list[int]]:
    """Per input the user left open, the positions filled with ``default``."""
    found: dict[str, list[int]] = {}
    for spec in specs:
        if spec.name in shapes or spec.shape_source != "default" or spec.shape is None:
            continue
        declared = spec.declared_shape or ()
        positions = [index for index, size in enumerate(spec.shape)
                     if index > 0 and size == default and index < len(declared)
                     and not _fixed(declared[index])]
        if positions:
            found[spec.name] = positions
    return found


def _fixed(dim: object) -> bool:
    return isinstance(dim, int) and dim > 0


def _with_sizes(specs: list[InputSpec], positions: Mapping[str, list[int]],
                size: int) -> dict[str, tuple[int, ...]]:
    return {spec.name: tuple(size if index in positions[spec.name] else dim
                             for index, dim in enumerate(spec.shape))
            for spec in specs if spec.name in positions and spec.shape is not None}


def _mark_fitted(model: ModelGraph, names: set[str], problem: Problem) -> None:
    """The fitted sizes are still defaults (not the user's): say so, and why."""
    model.input_specs = [replace(spec, shape_source="default") if spec.name in names else spec
                         for spec in model.input_specs]
    for spec in model.input_specs:
        if spec.name in names:
            model.warnings.append(
                f"input {spec.name!r} is dynamic ({format_shape(spec.declared_shape)}); the "
                f"default size does not fit the model ({problem.text()}), so it is analysed at "
                f"{format_shape(spec.shape)} (set another size with --shape {spec.name}=...)")


def attach_rules(model: ModelGraph, rules: Mapping[str, ValueRule], warnings: list[str]) -> None:
    model.input_specs = [replace(spec, values=rules.get(spec.name, spec.values))
                         for spec in model.input_specs]
    model.warnings.extend(w for w in warnings if w not in model.warnings)
