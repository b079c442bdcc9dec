"""The child process that measures one device: ``python -m profiler.bench.worker``.

Speaks the worker protocol (profiler.bench.wire) over stdin and a private stdout: hello both
ways, one MeasureRequest in, stage and progress frames out, then a MeasureOutcome (a Run) or
a Failure. Anything a native runtime prints goes to stderr: the worker moves the process's
stdout (file descriptor 1) onto stderr and keeps a private copy for the frames.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, TextIO, TypeVar, cast

from profiler.bench.memory import StagePeaks, model_file_bytes
from profiler.bench.protocol import BackendLike, DeviceRun, error_text
from profiler.bench.requests import MeasureOutcome, MeasureRequest
from profiler.bench.wire import (
    Event,
    Failure,
    StageEvent,
    StreamTransport,
    Transport,
    accept,
    event_line,
    failure_line,
    outcome_line,
)
from profiler.records.runs import MemoryStats, Run, RunError

BackendFactory = Callable[[str], BackendLike]
Emit = Callable[[Event], None]
T = TypeVar("T")
R = TypeVar("R")


class EventWriter:
    """Sends each event as one frame at once; a lock keeps frames whole when a heartbeat
    thread and the job both emit."""

    def __init__(self, transport: Transport) -> None:
        self._transport, self._lock = transport, threading.Lock()

    def __call__(self, event: Event) -> None:
        self.send(event_line(event))

    def send(self, line: str) -> None:
        with self._lock:
            self._transport.send(line)


def claim_stdout() -> TextIO:
    """A private stream on the original stdout; fd 1 (and sys.stdout) now lead to stderr."""
    sys.stdout.flush()
    private = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return private


def apply_affinity(cpus: list[int] | None) -> None:
    """Pin the process before the runtime starts its thread pools (they size by the mask)."""
    if not cpus:
        return
    if not hasattr(os, "sched_setaffinity"):
        raise OSError("--cpus needs CPU affinity, which this OS does not offer")
    try:
        os.sched_setaffinity(0, set(cpus))
    except OSError as error:
        usable = ", ".join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))
        raise OSError(f"cannot pin the worker to CPUs {cpus} ({error.strerror}); "
                      f"usable CPUs: {usable}") from None


def backend_factory(spec: str) -> BackendFactory:
    """'module:callable' or, when empty, profiler.runtime.backend.create_backend."""
    if not spec:
        from profiler.runtime.backend import create_backend

        return cast(BackendFactory, create_backend)
    module_name, _, attribute = spec.partition(":")
    factory: BackendFactory = getattr(importlib.import_module(module_name), attribute)
    return factory


def failed_run(request: MeasureRequest, stage: Any, error: BaseException) -> Run:
    return Run(device=request.device, variant=request.variant, model_path=request.model_path,
               error=RunError(stage=stage, message=error_text(error), kind="runtime"))


def measure_job(request: MeasureRequest, emit: Emit) -> MeasureOutcome:
    """Affinity, runtime start (the memory baseline), then the protocol; always a Run (a
    stage that fails is recorded in it: the stages before it keep their figures)."""
    emit(StageEvent(stage="start"))
    settings = request.settings
    try:
        apply_affinity(settings.cpus)
    except (OSError, ValueError) as error:
        return MeasureOutcome(failed_run(request, "worker", error))
    peaks = StagePeaks()
    try:
        backend = backend_factory(settings.backend_factory)(request.device)
    except Exception as error:
        return MeasureOutcome(failed_run(request, "load", error))
    memory = MemoryStats(method=peaks.method, baseline_peak_rss_bytes=peaks.end_stage(),
                         model_file_bytes=request.model_file_bytes
                         or model_file_bytes(request.model_path))
    try:
        run = DeviceRun(request, backend, emit, peaks).execute(memory)
    finally:
        peaks.close()
        _close_quietly(backend)
    run.config["memory_method"] = memory.method
    return MeasureOutcome(run)


def _close_quietly(backend: BackendLike) -> None:
    try:
        backend.close()
    except Exception as error:  # closing must not turn a measured run into a failure
        print(f"warning: closing the backend failed: {error_text(error)}", file=sys.stderr)


PR_SET_PDEATHSIG = 1
"""prctl option: a signal the kernel sends this process when its parent dies."""


def die_with_parent() -> None:
    """Linux: the worker is killed if the app or CLI that started it dies (even by SIGKILL),
    so no runtime process is ever left behind. Elsewhere the supervisor's cleanup applies."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: best effort only
        return
    if os.getppid() == 1:  # the parent died before prctl took effect
        os._exit(1)


def prefer_oom_kill() -> None:
    """Linux: when memory runs out faster than the supervisor's RSS watchdog samples, the
    kernel's out-of-memory killer takes the worker, not the app or CLI (raising one's own
    score needs no privilege)."""
    try:
        with open("/proc/self/oom_score_adj", "w", encoding="ascii") as handle:
            handle.write("1000")
    except OSError:  # not Linux, or /proc not writable: the watchdog alone applies
        return


def serve_one_job(request_type: type[R], handle: Callable[[R, Emit], Any]) -> int:
    """The life of a worker process: guard rails, the handshake, one request, its outcome
    (or a Failure).

    Every worker (profiling, builds, drift) goes through here, so each dies with its parent,
    is the first one the kernel's OOM killer picks, and keeps stdout for its frames.
    """
    die_with_parent()
    prefer_oom_kill()
    return serve(StreamTransport(sys.stdin, claim_stdout()), request_type, handle)


def serve(transport: Transport, request_type: type[R], handle: Callable[[R, Emit], Any]) -> int:
    """One job over any transport; ``handle`` returns an outcome or a Failure."""
    request = accept(transport, request_type)
    if isinstance(request, Failure):
        return 2
    writer = EventWriter(transport)
    result = handle(request, writer)
    if isinstance(result, Failure):
        writer.send(failure_line(result))
        return 1
    writer.send(outcome_line(result.kind, result))
    return 0


def main() -> int:
    return serve_one_job(MeasureRequest, measure_job)


if __name__ == "__main__":
    sys.exit(main())
