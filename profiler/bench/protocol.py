"""The measurement protocol: what one device run does, in order, and when the timed loop stops.

1. load, compile and the first inference are timed separately (``time.perf_counter_ns``);
2. warm-up: at least ``WARMUP_MIN_RUNS`` runs and at least ``WARMUP_MIN_SECONDS``, discarded
   (caches, thread pools, lazy kernel selection and CPU clocks settle);
3. the timed loop times each synchronous ``infer`` call and stops on ``--iterations N``,
   ``--duration S`` or, by default, when the median's 95 % CI lies within ±1 % of the median
   (checked once there are ``ADAPTIVE_MIN_SAMPLES`` samples and ``ADAPTIVE_MIN_SECONDS`` of
   timed loop, then every few percent more samples), capped by ``--max-time`` (default 60 s).
   The minimum time keeps a fast model from stopping after a tenth of a second: a loop that
   short sees too little of the machine's periodic noise (timer ticks, other processes);
4. throughput mode replaces 3 with ``infer_throughput`` for a duration (parallel requests);
5. the per-layer pass runs afterwards in its own compile, never inside the latency pass.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np

from profiler.bench.memory import StagePeaks
from profiler.bench.stats import latency_stats, median_ci_within, noise_warnings
from profiler.bench.types import LayerProfile, MemoryStats, Run, RunError
from profiler.environment import runtime_versions
from profiler.errors import ProfilerError
from profiler.model.graph import ValueRule
from profiler.report.serialize import to_dict
from profiler.runtime.backend import coverage_warning, rebase_coverage
from profiler.runtime.precision import arithmetic_precision, normalise

T = TypeVar("T")

WARMUP_MIN_RUNS = 3
WARMUP_MIN_SECONDS = 0.5
ADAPTIVE_MIN_SAMPLES = 10
ADAPTIVE_MIN_SECONDS = 1.0
ADAPTIVE_CI_RELATIVE = 0.01
DEFAULT_MAX_TIME_S = 60.0
DEFAULT_THROUGHPUT_S = 10.0
DEFAULT_LAYER_ITERATIONS = 20
PROGRESS_INTERVAL_S = 0.25
"""How often the loops report progress (also the parent's sign that the child is alive)."""

Clock = Callable[[], int]
"""Nanosecond clock; ``time.perf_counter_ns`` outside tests."""
Emit = Callable[[dict[str, Any]], None]
"""Sends one progress event (a JSON-ready dict) to whoever watches the run."""


@dataclass
class StopRule:
    """When the timed loop ends; iterations win over duration, duration over adaptive."""

    iterations: int | None = None
    duration_s: float | None = None
    max_time_s: float = DEFAULT_MAX_TIME_S
    ci_relative: float = ADAPTIVE_CI_RELATIVE
    min_samples: int = ADAPTIVE_MIN_SAMPLES
    min_seconds: float = ADAPTIVE_MIN_SECONDS

    @property
    def kind(self) -> str:
        if self.iterations is not None:
            return "iterations"
        return "duration" if self.duration_s is not None else "adaptive"

    def describe(self) -> dict[str, Any]:
        """The rule as recorded in Run.config (only the parts that applied)."""
        if self.kind == "iterations":
            return {"kind": "iterations", "iterations": self.iterations}
        if self.kind == "duration":
            return {"kind": "duration", "duration_s": self.duration_s}
        return {"kind": "adaptive", "median_ci95_within": self.ci_relative,
                "min_samples": self.min_samples, "min_seconds": self.min_seconds,
                "max_time_s": self.max_time_s}


@dataclass
class Job:
    """Everything a worker needs to measure one model on one device (sent as JSON)."""

    model_path: str
    device: str
    variant: str = "fp32"
    mode: str = "latency"
    threads: int | None = None
    cpus: list[int] | None = None
    precision: str | None = None
    shapes: dict[str, list[int]] = field(default_factory=dict)
    input_source: str | None = None
    seed: int = 0
    stop: StopRule = field(default_factory=StopRule)
    warmup_min_runs: int = WARMUP_MIN_RUNS
    warmup_min_seconds: float = WARMUP_MIN_SECONDS
    throughput_seconds: float = DEFAULT_THROUGHPUT_S
    layers: bool = True
    layer_iterations: int = DEFAULT_LAYER_ITERATIONS
    model_file_bytes: int = 0
    input_rules: dict[str, ValueRule] = field(default_factory=dict)
    """How each input's values are made (random by dtype where none is given)."""
    backend_factory: str = ""
    """'module:callable' building the backend from the device id; '' = create_backend.
    Lets tests (and other embedders) run the protocol with their own backend."""


@dataclass
class LoopResult:
    samples_ms: list[float]
    stop_reason: str
    total_seconds: float


def _elapsed_s(start_ns: int, clock: Clock) -> float:
    return (clock() - start_ns) / 1e9


def warm_up(infer: Callable[[], None], min_runs: int, min_seconds: float,
            clock: Clock = time.perf_counter_ns) -> int:
    """Run ``infer`` until both minimums are met; returns the runs done."""
    start_ns, runs = clock(), 0
    while True:
        if runs >= min_runs and _elapsed_s(start_ns, clock) >= min_seconds:
            return runs
        infer()
        runs += 1


class _Progress:
    """Rate-limited loop progress: at most one event per PROGRESS_INTERVAL_S."""

    def __init__(self, emit: Emit | None, clock: Clock) -> None:
        self._emit, self._clock, self._last_ns = emit, clock, clock()

    def maybe(self, fraction: float, message: str) -> None:
        now = self._clock()
        if self._emit is None or now - self._last_ns < PROGRESS_INTERVAL_S * 1e9:
            return
        self._last_ns = now
        self._emit({"event": "progress", "fraction": min(1.0, max(0.0, fraction)),
                    "message": message})


def _loop_fraction(rule: StopRule, count: int, elapsed_s: float) -> float:
    if rule.kind == "iterations":
        return count / max(1, rule.iterations or 1)
    if rule.kind == "duration":
        return elapsed_s / max(1e-9, rule.duration_s or 0.0)
    return elapsed_s / max(1e-9, rule.max_time_s)


def _stop_reason(rule: StopRule, samples: list[float], elapsed_s: float,
                 next_check: list[int]) -> str | None:
    """Why to stop now, or None to go on. ``next_check`` holds the adaptive check point."""
    count = len(samples)
    if rule.kind == "iterations":
        return "iterations" if count >= (rule.iterations or 0) else None
    if rule.kind == "duration":
        return "duration" if elapsed_s >= (rule.duration_s or 0.0) else None
    if elapsed_s >= rule.max_time_s:
        return "time_cap"
    if elapsed_s >= rule.min_seconds and count >= max(rule.min_samples, next_check[0]):
        # Sorting every sample is O(n log n): check again after ~5 % more samples.
        next_check[0] = count + max(5, count // 20)
        if median_ci_within(samples, rule.ci_relative):
            return "stable"
    return None


def timed_loop(infer: Callable[[], None], rule: StopRule, emit: Emit | None = None,
               clock: Clock = time.perf_counter_ns) -> LoopResult:
    """Time each ``infer`` call (ms) until the stop rule says so. Samples are kept raw."""
    samples: list[float] = []
    progress = _Progress(emit, clock)
    next_check = [rule.min_samples]
    start_ns = clock()
    while True:
        elapsed = _elapsed_s(start_ns, clock)
        reason = _stop_reason(rule, samples, elapsed, next_check)
        if reason is not None:
            return LoopResult(samples, reason, elapsed)
        before = clock()
        infer()
        samples.append((clock() - before) / 1e6)
        progress.maybe(_loop_fraction(rule, len(samples), elapsed),
                       f"{len(samples)} samples, {elapsed:.1f} s")


def timed_call(action: Callable[[], Any], clock: Clock = time.perf_counter_ns) -> float:
    """Run ``action`` once; its wall time in milliseconds."""
    start = clock()
    action()
    return (clock() - start) / 1e6


class BackendLike(Protocol):
    """The part of profiler.runtime.backend.Backend the protocol calls."""

    name: str

    def load(self, model_path: str, settings: Any) -> None: ...
    def compile(self) -> None: ...
    def input_specs(self) -> list[tuple[str, str, list[int]]]: ...
    def infer(self, inputs: dict[str, np.ndarray]) -> None: ...
    def infer_throughput(self, inputs: dict[str, np.ndarray],
                         duration_s: float) -> tuple[int, float]: ...
    def actual_precision(self) -> str: ...
    def device_name(self) -> str: ...
    def applied_config(self) -> dict[str, Any]: ...
    def profile_layers(self, inputs: dict[str, np.ndarray], iterations: int) -> LayerProfile: ...
    def close(self) -> None: ...


class StageFailed(Exception):
    """A stage raised; carries the stage name for Run.error."""

    def __init__(self, stage: str, error: BaseException) -> None:
        super().__init__(error_text(error))
        self.stage = stage


def error_text(error: BaseException) -> str:
    """One readable line: runtimes often put the useful part on a later line."""
    text = " ".join(str(error).split())
    if not isinstance(error, ProfilerError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


MAX_ERROR_CHARS = 500


def run_settings(job: Job) -> Any:
    from profiler.runtime.backend import RunSettings

    return RunSettings(device=job.device, mode=job.mode, threads=job.threads, cpus=job.cpus,
                       precision=job.precision, shapes=dict(job.shapes))


def make_inputs(specs: list[tuple[str, str, list[int]]], source: str | None,
                seed: int, rules: dict[str, ValueRule] | None = None) -> dict[str, np.ndarray]:
    """Same seed, specs and rules give the same arrays, so every device sees the same data."""
    from profiler.runtime.inputs import make_inputs as build

    return dict(build(specs, source, seed=seed, rules=rules))


def job_config(job: Job) -> dict[str, Any]:
    """What Run.config records before the runtime adds its applied properties."""
    return {
        "mode": job.mode, "threads": job.threads, "cpus": job.cpus,
        "precision_hint": job.precision, "shapes": job.shapes,
        "inputs": job.input_source or f"random (seed {job.seed})",
        "input_values": {name: to_dict(rule) for name, rule in job.input_rules.items()},
        "stop_rule": job.stop.describe(),
        "warmup": {"min_runs": job.warmup_min_runs, "min_seconds": job.warmup_min_seconds},
        "layers": {"enabled": job.layers, "iterations": job.layer_iterations},
        "clock": "time.perf_counter_ns",
        "runtime_versions": runtime_versions(),
    }


class DeviceRun:
    """Runs the protocol for one job on one backend, emitting a stage event before each stage."""

    def __init__(self, job: Job, backend: BackendLike, emit: Emit,
                 peaks: StagePeaks | None = None, clock: Clock = time.perf_counter_ns) -> None:
        self.job, self.backend, self.emit, self.peaks, self.clock = job, backend, emit, peaks, clock
        self.run = Run(device=job.device, backend=backend.name, variant=job.variant,
                       model_path=job.model_path, config=job_config(job))

    def stage(self, name: str, action: Callable[[], T]) -> T:
        self.emit({"event": "stage", "stage": name, "device": self.job.device})
        try:
            return action()
        except Exception as error:
            raise StageFailed(name, error) from error

    def execute(self, memory: MemoryStats | None = None) -> Run:
        """The whole protocol; a failing stage ends the run with Run.error set."""
        self.run.memory = memory
        try:
            inputs = self._compile_and_first()
            self._measure(inputs)
            self._memory_stage("inference")
            if self.job.layers:
                self._layers(inputs)
        except StageFailed as failure:
            self.run.error = RunError(stage=failure.stage, message=str(failure))
        return self.run

    def _timed(self, stage: str, action: Callable[[], Any]) -> float:
        return self.stage(stage, lambda: timed_call(action, self.clock))

    def _compile_and_first(self) -> dict[str, np.ndarray]:
        job, backend, run = self.job, self.backend, self.run
        run.load_ms = self._timed("load", lambda: backend.load(job.model_path, run_settings(job)))
        run.compile_ms = self._timed("compile", backend.compile)
        self._memory_stage("compile")
        inputs = self.stage("inputs", lambda: make_inputs(
            backend.input_specs(), job.input_source, seed=job.seed, rules=job.input_rules))
        run.first_inference_ms = self._timed("first_inference", lambda: backend.infer(inputs))
        run.device_name = backend.device_name()
        run.precision = backend.actual_precision()
        weight_precision = getattr(backend, "weight_precision", None)  # optional for embedders
        run.weight_precision = weight_precision() if callable(weight_precision) else ""
        run.config["runtime_properties"] = backend.applied_config()
        return inputs

    def _memory_stage(self, stage: str) -> None:
        if self.peaks is None or self.run.memory is None:
            return
        peak_bytes = self.peaks.end_stage()
        if stage == "compile":
            self.run.memory.compile_peak_rss_bytes = peak_bytes
        else:
            self.run.memory.inference_peak_rss_bytes = peak_bytes

    def _measure(self, inputs: dict[str, np.ndarray]) -> None:
        if self.job.mode == "throughput":
            self._throughput(inputs)
        else:
            self._latency(inputs)

    def _warm_up(self, infer: Callable[[], None]) -> None:
        started = self.clock()
        runs = warm_up(infer, self.job.warmup_min_runs, self.job.warmup_min_seconds, self.clock)
        self.run.config["warmup"].update(runs=runs, seconds=_elapsed_s(started, self.clock))

    def _latency(self, inputs: dict[str, np.ndarray]) -> None:
        def infer() -> None:
            self.backend.infer(inputs)

        self.stage("warmup", lambda: self._warm_up(infer))
        loop = self.stage("latency", lambda: timed_loop(infer, self.job.stop, self.emit,
                                                         self.clock))
        stats = latency_stats(loop.samples_ms, loop.stop_reason, loop.total_seconds)
        self.run.latency = stats
        if loop.total_seconds > 0:
            self.run.throughput_fps = stats.count / loop.total_seconds
        adaptive = self.job.stop.kind == "adaptive"
        self.run.warnings += noise_warnings(stats, self.job.stop.ci_relative if adaptive else None)

    def _throughput(self, inputs: dict[str, np.ndarray]) -> None:
        backend, job = self.backend, self.job
        self.stage("warmup", lambda: backend.infer_throughput(inputs, job.warmup_min_seconds))
        done, seconds = self.stage(
            "throughput", lambda: backend.infer_throughput(inputs, job.throughput_seconds))
        self.run.throughput_fps = done / seconds if seconds > 0 else None
        self.run.config["throughput"] = {"inferences": done, "seconds": seconds}

    def _layers(self, inputs: dict[str, np.ndarray]) -> None:
        iterations = self.job.layer_iterations
        profile = self.stage("layers", lambda: self.backend.profile_layers(inputs, iterations))
        self.run.layer_profile = profile
        self.run.precision = _precision_by_time(self.run.precision, profile)
        latency = self.run.latency
        if latency is not None and latency.count:
            rebase_coverage(profile, latency.mean if profile.statistic == "mean" else latency.p50)
        warning = coverage_warning(profile)
        if warning:
            self.run.warnings.append(warning)


def _precision_by_time(reported: str, profile: LayerProfile) -> str:
    """The arithmetic most of the matrix layers' time ran in, when the layer pass says and it
    differs from what the backend reported at compile (which counts layers, not time)."""
    timed = arithmetic_precision(profile.layers)
    return timed if timed and timed != normalise(reported) else reported
