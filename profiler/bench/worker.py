"""The child process that measures one device: ``python -m profiler.bench.worker``.

Reads one Job as JSON on stdin, writes JSON lines on stdout:
``{"event": "stage", "stage": "compile", "device": ...}``, ``{"event": "progress",
"fraction": 0.4, "message": ...}`` and finally ``{"event": "result", "run": {...}}``.
Anything a native runtime prints goes to stderr: the worker moves the process's stdout
(file descriptor 1) onto stderr and keeps a private copy for the event stream.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar, cast

from profiler.bench.memory import StagePeaks, model_file_bytes
from profiler.bench.protocol import BackendLike, DeviceRun, Job, error_text
from profiler.bench.types import MemoryStats, Run, RunError
from profiler.report.serialize import from_dict, to_dict

BackendFactory = Callable[[str], BackendLike]
Emit = Callable[[dict[str, Any]], None]
T = TypeVar("T")


class EventWriter:
    """Writes one JSON object per line and flushes, so the parent sees each event at once."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, event: dict[str, Any]) -> None:
        self._stream.write(json.dumps(event) + "\n")
        self._stream.flush()


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


def failed_run(job: Job, stage: str, error: BaseException) -> Run:
    return Run(device=job.device, variant=job.variant, model_path=job.model_path,
               error=RunError(stage=stage, message=error_text(error)))


def measure_job(job: Job, emit: Callable[[dict[str, Any]], None]) -> Run:
    """Affinity, runtime start (the memory baseline), then the protocol; always a Run."""
    emit({"event": "stage", "stage": "start", "device": job.device})
    try:
        apply_affinity(job.cpus)
    except (OSError, ValueError) as error:
        return failed_run(job, "worker", error)
    peaks = StagePeaks()
    try:
        backend = backend_factory(job.backend_factory)(job.device)
    except Exception as error:
        return failed_run(job, "load", error)
    memory = MemoryStats(method=peaks.method, baseline_peak_rss_bytes=peaks.end_stage(),
                         model_file_bytes=job.model_file_bytes or model_file_bytes(job.model_path))
    try:
        run = DeviceRun(job, backend, emit, peaks).execute(memory)
    finally:
        peaks.close()
        _close_quietly(backend)
    run.config["memory_method"] = memory.method
    return run


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


def serve_one_job(job_type: type[T], measure: Callable[[T, Emit], Any]) -> int:
    """The life of a worker process: guard rails, read one job from stdin, emit the result.

    Every worker (profiling, drift) goes through here, so each dies with its parent, is the
    first one the kernel's OOM killer picks, and keeps stdout for its event stream.
    """
    die_with_parent()
    prefer_oom_kill()
    emit = EventWriter(claim_stdout())
    try:
        job = from_dict(job_type, json.loads(sys.stdin.read()), where="job")
    except Exception as error:
        emit({"event": "error", "message": f"bad job: {error_text(error)}"})
        return 2
    emit({"event": "result", "run": to_dict(measure(job, emit))})
    return 0


def main() -> int:
    return serve_one_job(Job, measure_job)


if __name__ == "__main__":
    sys.exit(main())
