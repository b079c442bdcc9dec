"""Profile one model on several devices, one after the other, each in its own worker process.

Every device gets the same inputs (same shapes, same source, same seed), so runs compare.
A device that fails (compile error, crash, hang) gets a Run with an error; the others go on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field

from profiler.bench.requests import MeasureRequest, MeasureSettings
from profiler.bench.supervisor import CancelToken, Limits, ProgressSink, run_job
from profiler.errors import ShapeError, UsageError
from profiler.model.describe import value_rule
from profiler.model.graph import ValueRule
from profiler.model.input_settings import InputSettings
from profiler.records.model import TensorSpec
from profiler.records.record import record
from profiler.records.runs import Run

MODES = ("latency", "throughput")
PRECISIONS = ("f32", "bf16", "f16")
_CPU_RANGE_RE = re.compile(r"^(\d+)(?:-(\d+))?$")


@record
class ProfileOptions(MeasureSettings):
    """The measurement settings shared by every device of one profile (MeasureSettings, as the
    worker receives them) plus what stays on this side: input values, limits, the variant."""

    input_values: dict[str, float] = field(default_factory=dict)
    """One value per named input (a scalar, or a fill): --input-value."""
    input_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    """[low, high) per named input: --input-range."""
    variant: str = "fp32"
    limits: Limits = field(default_factory=Limits)


MAX_CPU_ID = 65_535
"""Beyond any machine's CPU numbers: a larger id is a typo, refused before a range expands."""
MAX_CPUS_TEXT = 4096


def parse_cpus(text: str) -> list[int]:
    """'0-3,6' -> [0, 1, 2, 3, 6]; every number is checked before any range is expanded."""
    if len(text) > MAX_CPUS_TEXT:
        raise UsageError(f"--cpus: the list is longer than {MAX_CPUS_TEXT} characters")
    bounds = [_cpu_range(part.strip(), text) for part in text.split(",")]
    cpus: set[int] = set()
    for first, last in bounds:
        cpus.update(range(first, last + 1))
    return sorted(cpus)


def _cpu_range(part: str, text: str) -> tuple[int, int]:
    match = _CPU_RANGE_RE.match(part)
    if match is None:
        raise UsageError(f"--cpus {text!r}: expected a list like 0-3,6")
    numbers = [number for number in match.groups() if number is not None]
    if any(len(number) > 5 or int(number) > MAX_CPU_ID for number in numbers):
        raise UsageError(f"--cpus {text!r}: CPU numbers go up to {MAX_CPU_ID}")
    first, last = int(numbers[0]), int(numbers[-1])
    if last < first:
        raise UsageError(f"--cpus {text!r}: range {part} runs backwards")
    return first, last


def check_options(options: ProfileOptions) -> None:
    if options.mode not in MODES:
        raise UsageError(f"--mode {options.mode}: use one of {', '.join(MODES)}")
    if options.precision is not None and options.precision not in PRECISIONS:
        raise UsageError(f"--precision {options.precision}: use one of {', '.join(PRECISIONS)}")
    if options.threads is not None and options.threads < 1:
        raise UsageError("--threads must be at least 1")
    check_cpus(options.cpus)
    stop = options.stop
    if stop.iterations is not None and stop.iterations < 1:
        raise UsageError("--iterations must be at least 1")
    for name, value in (("--duration", stop.duration_s), ("--max-time", stop.max_time_s)):
        if value is not None and value <= 0:
            raise UsageError(f"{name} must be positive")


def check_cpus(cpus: list[int] | None) -> None:
    """--cpus must name CPUs this process may run on (where the OS can tell)."""
    if not cpus or not hasattr(os, "sched_getaffinity"):
        return
    usable = os.sched_getaffinity(0)
    missing = [cpu for cpu in cpus if cpu not in usable]
    if missing:
        raise UsageError(
            f"--cpus: CPU(s) {', '.join(map(str, missing))} are not usable here; usable: "
            f"{', '.join(map(str, sorted(usable)))}"
        )


def concrete_shapes(inputs: Sequence[TensorSpec]) -> dict[str, list[int]]:
    """Input shapes for the runtime (``[]`` for a scalar); a dim still unknown names the
    --shape to give."""
    shapes: dict[str, list[int]] = {}
    for spec in inputs:
        dims = spec.shape or []
        if spec.shape is None or not all(isinstance(d, int) and d > 0 for d in dims):
            raise ShapeError(
                f"input {spec.name!r} has no usable size ({_shape_text(spec.shape)}); give one "
                f"with --shape {spec.name}=DIMxDIM..."
            )
        shapes[spec.name] = [int(d) for d in dims if isinstance(d, int)]
    return shapes


def _shape_text(shape: Sequence[object] | None) -> str:
    return "x".join("?" if d in (None, "") else str(d) for d in shape) if shape else "unknown"


def input_rules(inputs: Sequence[TensorSpec]) -> dict[str, ValueRule]:
    """How each input's values are made, as the report records it."""
    return {spec.name: value_rule(spec) for spec in inputs}


def input_settings(options: ProfileOptions,
                   shape_overrides: Mapping[str, tuple[int, ...]] | None) -> InputSettings:
    return InputSettings(dict(shape_overrides or {}), dict(options.input_values),
                         dict(options.input_ranges))


def build_jobs(model_path: str, devices: Sequence[str], shapes: Mapping[str, list[int]],
               options: ProfileOptions, model_file_bytes: int = 0,
               rules: Mapping[str, ValueRule] | None = None,
               backend_factory: str = "") -> list[MeasureRequest]:
    """One request per device, all with the same settings ('' backend_factory: the options')."""
    settings = options.measure_settings()
    if backend_factory:
        settings.backend_factory = backend_factory
    return [MeasureRequest(model_path=model_path, device=device, settings=settings,
                           variant=options.variant, shapes=dict(shapes),
                           input_rules=dict(rules or {}), model_file_bytes=model_file_bytes)
            for device in devices]


MeasureJob = Callable[[MeasureRequest, ProgressSink | None, CancelToken | None,
                       Limits | None, Sequence[str] | None], Run]
"""Measures one request: ``run_job`` here; callers above pass one that also reaches boards."""


def profile_jobs(jobs: Sequence[MeasureRequest], limits: Limits | None = None,
                 progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                 worker_argv: Sequence[str] | None = None, measure: MeasureJob = run_job,
                 on_run: Callable[[list[Run]], None] | None = None) -> list[Run]:
    """Run the jobs one after the other (devices must not compete for the CPU), ``on_run``
    with the runs so far after each. After a cancel, the jobs not started yet are left out."""
    runs: list[Run] = []
    for job in jobs:
        if cancel is not None and cancel.is_set():
            break
        runs.append(measure(job, progress, cancel, limits, worker_argv))
        if on_run is not None:
            on_run(list(runs))
    return runs


def run_failed(run: Run) -> bool:
    """True when the run measured nothing (an error in the per-layer pass alone keeps it)."""
    return run.error is not None and run.latency is None and run.throughput_fps is None


def mark_file_inputs(inputs: Sequence[TensorSpec], source: str) -> None:
    """Every input comes from the user's data file: the report says so."""
    for spec in inputs:
        spec.value_source, spec.value_note = "file", f"from {source}"
        spec.value_range, spec.value_fill, spec.value_guessed = None, None, False
