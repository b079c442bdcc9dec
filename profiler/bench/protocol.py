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
from typing import Any, Protocol, TypeVar

import numpy as np

from profiler.bench.memory import StagePeaks
from profiler.bench.progress import Heartbeat, Monotonic, ci_relative, loop_estimate
from profiler.bench.requests import (  # noqa: F401 (re-exported: settings live with requests)
    ADAPTIVE_CI_RELATIVE,
    ADAPTIVE_MIN_SAMPLES,
    ADAPTIVE_MIN_SECONDS,
    DEFAULT_LAYER_ITERATIONS,
    DEFAULT_MAX_TIME_S,
    DEFAULT_THROUGHPUT_S,
    WARMUP_MIN_RUNS,
    WARMUP_MIN_SECONDS,
    MeasureRequest,
    MeasureSettings,
    StopRule,
    measure_request,
)
from profiler.bench.stats import latency_stats, median_ci_within, noise_warnings
from profiler.bench.wire import Event, ProgressEvent, Stage, StageEvent
from profiler.environment import runtime_versions
from profiler.errors import ProfilerError
from profiler.model.graph import ValueRule
from profiler.records.record import record
from profiler.records.runs import LayerProfile, MemoryStats, Run, RunError
from profiler.records.serialize import to_dict
from profiler.runtime.backend import coverage_warning, rebase_coverage
from profiler.runtime.precision import arithmetic_precision, normalise

T = TypeVar("T")

PROGRESS_INTERVAL_S = 0.25
"""How often the loops report progress (also the parent's sign that the child is alive)."""
LAYER_PASS_OVERHEAD = 1.5
"""The per-layer pass runs slower than plain inference (profiling on): its expected time is
this many times iterations x the measured median, plus a compile."""

Clock = Callable[[], int]
"""Nanosecond clock; ``time.perf_counter_ns`` outside tests."""
Emit = Callable[[Event], None]
"""Sends one typed event (profiler.bench.wire) to whoever watches the run."""


@record
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

    def __init__(self, emit: Emit | None, clock: Clock, rule: StopRule) -> None:
        self._emit, self._clock, self._last_ns = emit, clock, clock()
        self._rule, self._fraction = rule, Monotonic()

    def maybe(self, count: int, elapsed_s: float, ci_rel: float | None) -> None:
        now = self._clock()
        if self._emit is None or now - self._last_ns < PROGRESS_INTERVAL_S * 1e9:
            return
        self._last_ns = now
        estimate = loop_estimate(self._rule, count, elapsed_s, ci_rel)
        adaptive = self._rule.kind == "adaptive"
        self._emit(ProgressEvent(
            stage="latency", fraction=self._fraction(estimate.fraction), eta_s=estimate.eta_s,
            ci_rel=ci_rel if adaptive else None,
            ci_target_rel=self._rule.ci_relative if adaptive else None, samples=count,
            message=f"{count} samples, {elapsed_s:.1f} s"))


@record
class _LoopState:
    next_check: int
    """The sample count at which the adaptive rule checks the CI next."""
    ci_rel: float | None = None
    """The median CI's relative half-width at the last check."""


def _stop_reason(rule: StopRule, samples: list[float], elapsed_s: float,
                 state: _LoopState) -> str | None:
    """Why to stop now, or None to go on."""
    count = len(samples)
    if rule.kind == "iterations":
        return "iterations" if count >= (rule.iterations or 0) else None
    if rule.kind == "duration":
        return "duration" if elapsed_s >= (rule.duration_s or 0.0) else None
    if elapsed_s >= rule.max_time_s:
        return "time_cap"
    if elapsed_s >= rule.min_seconds and count >= max(rule.min_samples, state.next_check):
        # Sorting every sample is O(n log n): check again after ~5 % more samples.
        state.next_check = count + max(5, count // 20)
        state.ci_rel = ci_relative(samples)
        if median_ci_within(samples, rule.ci_relative):
            return "stable"
    return None


def timed_loop(infer: Callable[[], None], rule: StopRule, emit: Emit | None = None,
               clock: Clock = time.perf_counter_ns) -> LoopResult:
    """Time each ``infer`` call (ms) until the stop rule says so. Samples are kept raw."""
    samples: list[float] = []
    progress = _Progress(emit, clock, rule)
    state = _LoopState(next_check=rule.min_samples)
    start_ns = clock()
    while True:
        elapsed = _elapsed_s(start_ns, clock)
        reason = _stop_reason(rule, samples, elapsed, state)
        if reason is not None:
            return LoopResult(samples, reason, elapsed)
        before = clock()
        infer()
        samples.append((clock() - before) / 1e6)
        progress.maybe(len(samples), _elapsed_s(start_ns, clock), state.ci_rel)


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
    """A stage raised; carries the stage for Run.error (every worker uses this one)."""

    def __init__(self, stage: Stage, error: BaseException) -> None:
        super().__init__(error_text(error))
        self.stage = stage


def error_text(error: BaseException) -> str:
    """One readable line: runtimes often put the useful part on a later line."""
    text = " ".join(str(error).split())
    if not isinstance(error, ProfilerError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 3] + "..."


MAX_ERROR_CHARS = 500


def run_settings(device: str, settings: MeasureSettings, shapes: dict[str, list[int]]) -> Any:
    from profiler.runtime.backend import RunSettings

    return RunSettings(device=device, mode=settings.mode, threads=settings.threads,
                       cpus=settings.cpus, precision=settings.precision, shapes=dict(shapes))


def make_inputs(specs: list[tuple[str, str, list[int]]], source: str | None,
                seed: int, rules: dict[str, ValueRule] | None = None) -> dict[str, np.ndarray]:
    """Same seed, specs and rules give the same arrays, so every device sees the same data."""
    from profiler.runtime.inputs import make_inputs as build

    return dict(build(specs, source, seed=seed, rules=rules))


def job_config(request: MeasureRequest) -> dict[str, Any]:
    """What Run.config records before the runtime adds its applied properties."""
    job = request.settings
    return {
        "mode": job.mode, "threads": job.threads, "cpus": job.cpus,
        "precision_hint": job.precision, "shapes": request.shapes,
        "inputs": job.input_source or f"random (seed {job.seed})",
        "input_values": {name: to_dict(rule) for name, rule in request.input_rules.items()},
        "stop_rule": job.stop.describe(),
        "warmup": {"min_runs": job.warmup_min_runs, "min_seconds": job.warmup_min_seconds},
        "layers": {"enabled": job.layers, "iterations": job.layer_iterations},
        "clock": "time.perf_counter_ns",
        "runtime_versions": runtime_versions(),
    }


class DeviceRun:
    """Runs the protocol for one job on one backend, emitting a stage event before each stage."""

    def __init__(self, request: MeasureRequest, backend: BackendLike, emit: Emit,
                 peaks: StagePeaks | None = None, clock: Clock = time.perf_counter_ns) -> None:
        self.request, self.job = request, request.settings
        self.backend, self.emit, self.peaks, self.clock = backend, emit, peaks, clock
        self.run = Run(device=request.device, backend=backend.name, variant=request.variant,
                       model_path=request.model_path, config=job_config(request))

    def stage(self, name: Stage, action: Callable[[], T]) -> T:
        self.emit(StageEvent(stage=name))
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

    def _timed(self, stage: Stage, action: Callable[[], Any]) -> float:
        return self.stage(stage, lambda: timed_call(action, self.clock))

    def _compile_and_first(self) -> dict[str, np.ndarray]:
        job, backend, run, request = self.job, self.backend, self.run, self.request
        settings = run_settings(request.device, job, request.shapes)
        run.load_ms = self._timed("load", lambda: backend.load(request.model_path, settings))
        run.compile_ms = self._timed("compile", backend.compile)
        self._memory_stage("compile")
        inputs = self.stage("inputs", lambda: make_inputs(
            backend.input_specs(), job.input_source, seed=job.seed, rules=request.input_rules))
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
        with Heartbeat(self.emit, "layers", _expected_layer_pass_s(self.run, iterations),
                       "profiling layers", PROGRESS_INTERVAL_S):
            profile = self.stage("layers",
                                 lambda: self.backend.profile_layers(inputs, iterations))
        self.run.layer_profile = profile
        self.run.precision = _precision_by_time(self.run.precision, profile)
        latency = self.run.latency
        if latency is not None and latency.count:
            rebase_coverage(profile, latency.mean if profile.statistic == "mean" else latency.p50)
        warning = coverage_warning(profile)
        if warning:
            self.run.warnings.append(warning)


def _expected_layer_pass_s(run: Run, iterations: int) -> float | None:
    """A fresh compile plus the profiled iterations (and one warm-up) at the measured pace."""
    latency = run.latency
    if latency is None or not latency.count:
        return None
    return ((run.compile_ms or 0.0) + LAYER_PASS_OVERHEAD * (iterations + 1) * latency.p50) / 1e3


def _precision_by_time(reported: str, profile: LayerProfile) -> str:
    """The arithmetic most of the matrix layers' time ran in, when the layer pass says and it
    differs from what the backend reported at compile (which counts layers, not time)."""
    timed = arithmetic_precision(profile.layers)
    return timed if timed and timed != normalise(reported) else reported
