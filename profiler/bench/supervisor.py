"""The parent side of a device run: start the worker, stream its progress, enforce the timeout,
cancel on request, and turn a crash or a hang into a Run with an error (never an exception).

A long job is a plain function taking a progress sink and a cancel token (any object with
``is_set()``, e.g. ``threading.Event``); the UI layer alone turns those into Qt signals.
The worker runs in its own session (process group), so cancel and timeouts kill everything it
started, and every child is reaped: no zombies, no orphans.

Memory cap: a watchdog here samples the resident set (RSS) of the worker and what it started,
every POLL_S, and stops the run when it passes ``Limits.memory_limit_bytes`` (default: 80 %
of the RAM available when the run starts). RSS is what the cap promises; a kernel limit
(RLIMIT_AS or RLIMIT_DATA) caps address space instead, which runtimes reserve far beyond what
they touch (OpenVINO compiling MobileNetV2 here: 502 MB of address space for 105 MB resident;
glibc reserves 64 MB of heap arena per thread), so it would fail runs that fit. A spike faster
than one sample can overshoot; the worker then offers itself first to the kernel's
out-of-memory killer (oom_score_adj), which the parent reports as SIGKILL.
"""

from __future__ import annotations

import datetime
import queue
import re
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import field
from typing import Protocol, TypeVar

from profiler.bench.child import Child
from profiler.bench.progress import JobProgress
from profiler.bench.protocol import error_text
from profiler.bench.requests import MeasureOutcome, MeasureRequest
from profiler.bench.wire import (
    STAGE_VERBS,  # noqa: F401 (re-exported for older callers)
    Event,
    Failure,
    FailureKind,
    Hello,
    ProgressEvent,
    ProtocolError,
    Request,
    Stage,
    StageEvent,
    decode_event,
    decode_failure,
    decode_hello,
    decode_job,
    hello_line,
    label_event,
    read_frame,
    request_line,
    stage_verb,  # noqa: F401 (re-exported for older callers)
)
from profiler.errors import UsageError
from profiler.processes import default_memory_limit_bytes, signal_text
from profiler.records.record import record
from profiler.records.runs import Run, RunError
from profiler.units import size_bytes

DEFAULT_TIMEOUT_S = 300.0
"""No event from the worker for this long means it hangs (the loops report 4x a second)."""
POLL_S = 0.05
WORKER_ARGV = (sys.executable, "-m", "profiler.bench.worker")

ProgressSink = Callable[[Event], None]
"""Receives typed events (StageEvent, ProgressEvent), labelled with the job's device and
variant and the whole job's share done (``overall``)."""
OutcomeT = TypeVar("OutcomeT")


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


@record
class Limits:
    timeout_s: float = DEFAULT_TIMEOUT_S
    """Longest silence from the worker (per stage: every event restarts the clock)."""
    total_timeout_s: float | None = None
    """Longest whole run, or None for no overall limit."""
    memory_limit_bytes: int | None = field(default_factory=default_memory_limit_bytes)
    """Largest resident set of the worker and its children; None for no cap."""


_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_memory_limit(text: str) -> int | None:
    """'4G', '512M', '1.5GiB', '2000000000' (bytes) -> bytes (binary units); 'none' -> None."""
    if text.strip().lower() == "none":
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", text, re.IGNORECASE)
    if match is None or float(match.group(1)) <= 0:
        raise UsageError(f"--memory-limit {text!r}: expected a size such as 4G, 512M or none")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).upper()])


class Supervisor:
    """Runs one request in a worker process; always an outcome or a Failure, never raises
    for what the worker does."""

    def __init__(self, progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                 limits: Limits | None = None, worker_argv: Sequence[str] | None = None) -> None:
        self.progress = progress
        self.cancel = cancel
        self.limits = limits or Limits()
        self.worker_argv = list(worker_argv or WORKER_ARGV)
        self.worker_hello: Hello | None = None
        """The worker's hello (its runtime versions), once the handshake is done."""
        self._stage: Stage = "worker"
        self._outcome: object | None = None
        self._failure: Failure | None = None
        self._progress = JobProgress({})

    def run(self, request: Request, outcome_type: type[OutcomeT]) -> OutcomeT | Failure:
        self._stage, self._outcome, self._failure = "worker", None, None
        self.worker_hello = None
        self._progress = JobProgress(request.stage_weights_s())
        self._pass_on(StageEvent(stage="worker"), request)
        try:
            child = Child(self.worker_argv)
        except OSError as error:
            return self._fail("runtime", f"cannot start the worker: {error_text(error)}")
        child.send(hello_line(Hello(role="parent")))
        try:
            problem = self._watch(child, request, outcome_type)
        except BaseException:  # Ctrl-C or a failing progress sink: never leave the child
            child.stop()
            raise
        if problem is not None:
            child.stop()
            if isinstance(self._outcome, outcome_type):  # done, then stuck on the way out
                getattr(self._outcome, "note", lambda text: None)(problem.message)
                return self._outcome
            return problem
        code = child.finish()
        return self._ending(request, outcome_type, code, list(child.stderr_tail))

    def _watch(self, child: Child, request: Request, outcome_type: type) -> Failure | None:
        """Read frames until the worker closes its side; a reason to stop it, or None."""
        started = last_line = last_memory_check = time.monotonic()
        while True:
            if self.cancel is not None and self.cancel.is_set():
                return self._fail("cancelled", f"cancelled while {request.where(self._stage)}")
            try:
                line = child.recv(POLL_S)
            except queue.Empty:
                line = ""
            now = time.monotonic()
            if line is None:
                return None
            if line:
                last_line = now
                problem = self._handle(line, child, request, outcome_type)
                if problem is not None:
                    return problem
            problem = self._overdue(request, now - last_line, now - started)
            if problem is None and now - last_memory_check >= POLL_S:
                last_memory_check = now
                problem = self._over_memory(child, request)
            if problem is not None:
                return problem

    def _handle(self, line: str, child: Child, request: Request,
                outcome_type: type) -> Failure | None:
        try:
            frame = read_frame(line)
            if self.worker_hello is None:
                self.worker_hello = decode_hello(frame)
                child.send(request_line(request))
                child.close_send()
            elif frame.type in ("stage", "progress"):
                self._pass_on(decode_event(frame), request)
            elif frame.type == "outcome":
                self._outcome = decode_job(frame, outcome_type, "outcome")
            elif frame.type == "failure":
                self._failure = decode_failure(frame)
            else:
                raise ProtocolError(f"the worker sent an unexpected {frame.type!r} frame")
        except ProtocolError as error:
            return self._fail("protocol", f"{error} (while {request.where(self._stage)})")
        return None

    def _pass_on(self, event: Event, request: Request) -> None:
        self._stage = event.stage
        fraction = event.fraction if isinstance(event, ProgressEvent) else 0.0
        overall = self._progress.at(event.stage, fraction)
        if self.progress is not None:
            self.progress(label_event(event, request, overall))

    def _overdue(self, request: Request, silent_s: float, total_s: float) -> Failure | None:
        where = request.where(self._stage)
        if silent_s >= self.limits.timeout_s:
            return self._fail("timeout", f"no response for {self.limits.timeout_s:g} s while "
                                         f"{where}; stopped")
        total = self.limits.total_timeout_s
        if total is not None and total_s >= total:
            return self._fail("timeout", f"did not finish within {total:g} s (was {where}); "
                                         f"stopped")
        return None

    def _over_memory(self, child: Child, request: Request) -> Failure | None:
        limit = self.limits.memory_limit_bytes
        if limit is None:
            return None
        rss = child.rss_bytes()
        if rss <= limit:
            return None
        return self._fail("memory", f"exceeded the memory limit of {size_bytes(limit)} while "
                                    f"{request.where(self._stage)} (resident set reached "
                                    f"{size_bytes(rss)}); stopped")

    def _ending(self, request: Request, outcome_type: type[OutcomeT], code: int,
                stderr_tail: list[str]) -> OutcomeT | Failure:
        if isinstance(self._outcome, outcome_type):
            return self._outcome
        if self._failure is not None:
            return self._failure
        if code < 0:
            return Failure(kind="crash", stage=self._stage, signal=-code,
                           message=request.crashed(signal_text(-code), self._stage))
        detail = f": {stderr_tail[-1]}" if stderr_tail else ""
        return self._fail("crash", f"worker exited with code {code} without a result while "
                                   f"{request.where(self._stage)}{detail}")

    def _fail(self, kind: FailureKind, message: str) -> Failure:
        return Failure(kind=kind, stage=self._stage, message=message)


def failed_run(request: MeasureRequest, failure: Failure) -> Run:
    return Run(device=request.device, variant=request.variant, model_path=request.model_path,
               config={"mode": request.settings.mode},
               error=RunError(stage=failure.stage, message=failure.message, kind=failure.kind))


def run_job(request: MeasureRequest, progress: ProgressSink | None = None,
            cancel: CancelToken | None = None, limits: Limits | None = None,
            worker_argv: Sequence[str] | None = None) -> Run:
    """Measure one request in its own process (see Supervisor); always a Run, stamped with the
    time it finished, so runs of one batch keep their own times in the history."""
    result = Supervisor(progress, cancel, limits, worker_argv).run(request, MeasureOutcome)
    run = result.run if isinstance(result, MeasureOutcome) else failed_run(request, result)
    # milliseconds: two runs of one pair can finish within a second, and stay two runs
    run.finished = datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="milliseconds")
    return run
