"""Profile one model on several devices, one after the other, each in its own worker process.

Every device gets the same inputs (same shapes, same source, same seed), so runs compare.
A device that fails (compile error, crash, hang) gets a Run with an error; the others go on.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from profiler.bench.protocol import (
    DEFAULT_LAYER_ITERATIONS,
    DEFAULT_THROUGHPUT_S,
    Job,
    StopRule,
)
from profiler.bench.supervisor import CancelToken, Limits, ProgressSink, run_job
from profiler.bench.types import Run
from profiler.errors import ShapeError, UsageError
from profiler.report.model import Report, TensorSpec

MODES = ("latency", "throughput")
PRECISIONS = ("f32", "bf16", "f16")
_CPU_RANGE_RE = re.compile(r"^(\d+)(?:-(\d+))?$")


@dataclass
class ProfileOptions:
    """The measurement settings shared by every device of one profile."""

    mode: str = "latency"
    threads: int | None = None
    cpus: list[int] | None = None
    precision: str | None = None
    input_source: str | None = None
    seed: int = 0
    stop: StopRule = field(default_factory=StopRule)
    throughput_seconds: float = DEFAULT_THROUGHPUT_S
    layers: bool = True
    layer_iterations: int = DEFAULT_LAYER_ITERATIONS
    variant: str = "fp32"
    limits: Limits = field(default_factory=Limits)


def parse_cpus(text: str) -> list[int]:
    """'0-3,6' -> [0, 1, 2, 3, 6]."""
    cpus: set[int] = set()
    for part in text.split(","):
        match = _CPU_RANGE_RE.match(part.strip())
        if match is None:
            raise UsageError(f"--cpus {text!r}: expected a list like 0-3,6")
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if last < first:
            raise UsageError(f"--cpus {text!r}: range {part.strip()} runs backwards")
        cpus.update(range(first, last + 1))
    return sorted(cpus)


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
    """Input shapes for the runtime; a dim still unknown names the --shape to give."""
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


def build_jobs(model_path: str, devices: Sequence[str], shapes: Mapping[str, list[int]],
               options: ProfileOptions, model_file_bytes: int = 0) -> list[Job]:
    return [
        Job(model_path=model_path, device=device, variant=options.variant, mode=options.mode,
            threads=options.threads, cpus=options.cpus, precision=options.precision,
            shapes=dict(shapes), input_source=options.input_source, seed=options.seed,
            stop=options.stop, throughput_seconds=options.throughput_seconds,
            layers=options.layers, layer_iterations=options.layer_iterations,
            model_file_bytes=model_file_bytes)
        for device in devices
    ]


def profile_jobs(jobs: Sequence[Job], limits: Limits | None = None,
                 progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                 worker_argv: Sequence[str] | None = None) -> list[Run]:
    """Run the jobs one after the other (devices must not compete for the CPU).
    After a cancel, the jobs not started yet are left out."""
    runs = []
    for job in jobs:
        if cancel is not None and cancel.is_set():
            break
        runs.append(run_job(job, progress, cancel, limits, worker_argv))
    return runs


def run_failed(run: Run) -> bool:
    """True when the run measured nothing (an error in the per-layer pass alone keeps it)."""
    return run.error is not None and run.latency is None and run.throughput_fps is None


def profile_model(model_path: str, devices: Sequence[str],
                  shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
                  options: ProfileOptions | None = None, progress: ProgressSink | None = None,
                  cancel: CancelToken | None = None,
                  worker_argv: Sequence[str] | None = None) -> Report:
    """Static analysis plus one measured Run per device, in one Report."""
    from profiler.api import analyze_model

    options = options or ProfileOptions()
    check_options(options)
    report = analyze_model(model_path, shape_overrides)
    assert report.model is not None
    jobs = build_jobs(model_path, devices, concrete_shapes(report.model.inputs), options,
                      report.model.file_bytes)
    report.runs = profile_jobs(jobs, options.limits, progress, cancel, worker_argv)
    report.errors += [f"{run.device}: {run.error.message}" for run in report.runs if run.error]
    return report
