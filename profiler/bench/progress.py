"""Progress that tells the truth: how far a timed loop is, how long it has left, and the share
of a whole job done with each stage weighted by its expected time.

The adaptive loop stops once the median's 95 % CI is within the target; the CI's width shrinks
about as 1 / sqrt(samples), so the samples still needed are ``n * (ci / target)^2``, at the
rate seen so far, never past the time cap.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from profiler.bench.requests import StopRule
from profiler.bench.stats import median_ci
from profiler.bench.wire import ProgressEvent, Stage
from profiler.records.record import record


@record(frozen=True)
class LoopEstimate:
    fraction: float
    eta_s: float | None


def ci_relative(samples_ms: Sequence[float]) -> float | None:
    """The median's 95 % CI half-width relative to the median (the wider side)."""
    if len(samples_ms) < 2:
        return None
    low, high = median_ci(samples_ms)
    median = float(np.median(samples_ms))
    if median <= 0:
        return None
    return max(median - low, high - median) / median


def loop_estimate(rule: StopRule, count: int, elapsed_s: float,
                  ci_rel: float | None) -> LoopEstimate:
    """Share of the timed loop done and the seconds left, for any stop rule."""
    if rule.kind == "iterations":
        total = max(1, rule.iterations or 1)
        eta = elapsed_s * (total - count) / count if count else None
        return LoopEstimate(_clamp(count / total), eta)
    if rule.kind == "duration":
        duration_s = max(1e-9, rule.duration_s or 0.0)
        return LoopEstimate(_clamp(elapsed_s / duration_s), max(0.0, duration_s - elapsed_s))
    total_s = min(rule.max_time_s, _adaptive_total_s(rule, count, elapsed_s, ci_rel))
    return LoopEstimate(_clamp(elapsed_s / max(1e-9, total_s)), max(0.0, total_s - elapsed_s))


def _adaptive_total_s(rule: StopRule, count: int, elapsed_s: float,
                      ci_rel: float | None) -> float:
    """When the adaptive loop is expected to stop, in seconds from its start."""
    if count <= 0 or elapsed_s <= 0:
        return max(rule.min_seconds, 1e-9)
    rate = count / elapsed_s
    needed = float(rule.min_samples)
    if ci_rel is not None and rule.ci_relative > 0:
        needed = max(needed, count * (ci_rel / rule.ci_relative) ** 2)
    return max(rule.min_seconds, needed / rate)


def _clamp(value: float) -> float:
    return min(1.0, max(0.0, value)) if math.isfinite(value) else 0.0


class Monotonic:
    """Keeps a fraction from going backwards (estimates may shift, the bar must not)."""

    def __init__(self) -> None:
        self.value = 0.0

    def __call__(self, fraction: float) -> float:
        self.value = max(self.value, _clamp(fraction))
        return self.value

    def reset(self) -> None:
        self.value = 0.0


class JobProgress:
    """Share of a whole job done, from the current stage and that stage's own fraction,
    each stage weighted by its expected seconds (given once, so the share never jumps back)."""

    def __init__(self, weights_s: Mapping[str, float]) -> None:
        total = sum(weights_s.values()) or 1.0
        self._start: dict[str, float] = {}
        self._share: dict[str, float] = {}
        done = 0.0
        for stage, seconds in weights_s.items():
            self._start[stage], self._share[stage] = done / total, seconds / total
            done += seconds
        self._overall = Monotonic()

    def at(self, stage: str, fraction: float = 0.0) -> float:
        if stage not in self._start:  # a stage the weights did not foresee: hold still
            return self._overall.value
        return self._overall(self._start[stage] + self._share[stage] * _clamp(fraction))

    def done(self) -> float:
        return self._overall(1.0)


class Heartbeat:
    """Progress from a thread while one long call runs that reports none of its own (a layer
    pass, a quantizer): time against the expected time, held below 95 % until it returns.
    Without an expected time the fraction stays 0 and there is no ETA; the beat still tells
    the parent the worker is alive."""

    def __init__(self, emit: Callable[[ProgressEvent], None], stage: Stage,
                 expected_s: float | None, what: str, interval_s: float = 1.0) -> None:
        self._emit, self._stage, self._expected_s = emit, stage, expected_s
        self._what, self._interval_s = what, interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _beat(self) -> None:
        started = time.monotonic()
        while not self._stop.wait(self._interval_s):
            self._emit(self.event(time.monotonic() - started))

    def event(self, elapsed_s: float) -> ProgressEvent:
        expected = self._expected_s
        message = f"{self._what} ({elapsed_s:.0f} s)"
        if not expected or expected <= 0:
            return ProgressEvent(stage=self._stage, fraction=0.0, message=message)
        return ProgressEvent(stage=self._stage, fraction=min(HEARTBEAT_CEILING,
                                                             elapsed_s / expected),
                             eta_s=max(0.0, expected - elapsed_s), message=message)


HEARTBEAT_CEILING = 0.95
