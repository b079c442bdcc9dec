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

import collections
import datetime
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

import psutil

from profiler.bench.protocol import Job, error_text
from profiler.bench.types import Run, RunError
from profiler.errors import UsageError
from profiler.report.serialize import from_dict, to_dict
from profiler.report.units import size_bytes

DEFAULT_TIMEOUT_S = 300.0
"""No event from the worker for this long means it hangs (the loops report 4x a second)."""
POLL_S = 0.05
TERM_GRACE_S = 0.3
"""Between SIGTERM and SIGKILL on cancel: cancel must complete well within a second."""
STDERR_TAIL_LINES = 20
DEFAULT_MEMORY_SHARE = 0.8
"""The default memory cap: this share of the RAM available when a run starts."""
WORKER_ARGV = (sys.executable, "-m", "profiler.bench.worker")

STAGE_VERBS = {
    "worker": "starting the worker", "start": "starting the runtime", "load": "loading",
    "compile": "compiling", "inputs": "preparing inputs",
    "first_inference": "running the first inference", "warmup": "warming up",
    "latency": "measuring latency", "throughput": "measuring throughput",
    "layers": "profiling layers",
}

ProgressSink = Callable[[dict[str, Any]], None]


class CancelToken(Protocol):
    def is_set(self) -> bool: ...


def default_memory_limit_bytes() -> int:
    return int(psutil.virtual_memory().available * DEFAULT_MEMORY_SHARE)


@dataclass
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


def stage_verb(stage: str) -> str:
    return STAGE_VERBS.get(stage, stage)


def signal_text(number: int) -> str:
    """'signal 11 (SIGSEGV)'; SIGKILL hints at the out-of-memory killer."""
    try:
        name = signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
    hint = ", killed: out of memory?" if name == "SIGKILL" else ""
    return f"signal {number} ({name}{hint})"


def _pump_events(stream: IO[str], events: queue.Queue[dict[str, Any] | None]) -> None:
    for line in stream:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            event = {"event": "log", "message": line.rstrip()}
        events.put(event if isinstance(event, dict) else {"event": "log", "message": line})
    events.put(None)


def _pump_tail(stream: IO[str], tail: collections.deque[str]) -> None:
    for line in stream:
        if line.strip():
            tail.append(line.rstrip())


class _Child:
    """One worker process with its reader threads."""

    def __init__(self, argv: Sequence[str], job: Job) -> None:
        self.process = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", bufsize=1,
            start_new_session=os.name == "posix",
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._ps = psutil.Process(self.process.pid)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._threads = [
            threading.Thread(target=_pump_events, args=(self.process.stdout, self.events),
                             daemon=True),
            threading.Thread(target=_pump_tail, args=(self.process.stderr, self.stderr_tail),
                             daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        self._send(job)

    def _send(self, job: Job) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(to_dict(job)))
            self.process.stdin.close()
        except OSError:
            pass  # the child died at once: its exit status tells why

    def rss_bytes(self) -> int:
        """Resident set of the worker plus everything it started (0 once it is gone)."""
        try:
            processes = [self._ps, *self._ps.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in processes:
            try:
                total += process.memory_info().rss
            except psutil.Error:  # exited between the listing and the reading
                continue
        return total

    def _signal_group(self, number: int) -> None:
        try:
            if os.name == "posix":
                os.killpg(self.process.pid, number)
            else:
                self.process.kill()
        except (ProcessLookupError, PermissionError):
            pass

    def _wait_unreaped(self, timeout_s: float) -> bool:
        """Wait for the leader to exit without reaping it, so its process group id stays
        reserved for the final sweep. True when it exited."""
        if not hasattr(os, "waitid"):
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                return False
            return True
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                info = os.waitid(os.P_PID, self.process.pid,
                                 os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return True  # already reaped
            if info is not None or time.monotonic() >= deadline:
                return info is not None
            time.sleep(0.01)

    def stop(self, grace_s: float = TERM_GRACE_S) -> None:
        """Terminate politely, then kill; sweep the group; reap. Returns within ~grace + 0.1 s."""
        if not self._wait_unreaped(0.0):
            self._signal_group(signal.SIGTERM)
            if not self._wait_unreaped(grace_s):
                self._signal_group(signal.SIGKILL)
                self._wait_unreaped(1.0)
        self.finish()

    def finish(self) -> int:
        """Kill whatever the worker left in its group, reap it and close the pipes."""
        self._signal_group(signal.SIGKILL)
        code = self.process.wait()
        for thread in self._threads:
            thread.join(timeout=1.0)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code


class Supervisor:
    """Runs one Job in a worker process and always returns a Run."""

    def __init__(self, progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                 limits: Limits | None = None, worker_argv: Sequence[str] | None = None) -> None:
        self.progress = progress
        self.cancel = cancel
        self.limits = limits or Limits()
        self.worker_argv = list(worker_argv or WORKER_ARGV)
        self._stage = "worker"
        self._result: dict[str, Any] | None = None

    def run(self, job: Job) -> Run:
        self._stage, self._result = "worker", None
        try:
            child = _Child(self.worker_argv, job)
        except OSError as error:
            return self._failed(job, f"cannot start the worker: {error_text(error)}")
        try:
            problem = self._watch(child, job)
        except BaseException:  # Ctrl-C or a failing progress sink: never leave the child
            child.stop()
            raise
        if problem is not None:
            child.stop()
            if self._result is not None:  # measured, then stuck on the way out: keep it
                run = self._outcome(job, 0, [])
                run.warnings.append(problem)
                return run
            return self._failed(job, problem)
        code = child.finish()
        return self._outcome(job, code, list(child.stderr_tail))

    def _watch(self, child: _Child, job: Job) -> str | None:
        """Read events until the worker closes stdout; a reason to stop it, or None."""
        started = last_event = last_memory_check = time.monotonic()
        while True:
            if self.cancel is not None and self.cancel.is_set():
                return f"cancelled while {stage_verb(self._stage)} on {job.device}"
            try:
                event = child.events.get(timeout=POLL_S)
            except queue.Empty:
                event = {}
            now = time.monotonic()
            if event is None:
                return None
            if event:
                last_event = now
                self._handle(event, job)
            problem = self._overdue(job, now - last_event, now - started)
            if problem is None and now - last_memory_check >= POLL_S:
                last_memory_check = now
                problem = self._over_memory(child, job)
            if problem is not None:
                return problem

    def _overdue(self, job: Job, silent_s: float, total_s: float) -> str | None:
        where = f"{stage_verb(self._stage)} on {job.device}"
        if silent_s >= self.limits.timeout_s:
            return f"no response for {self.limits.timeout_s:g} s while {where}; stopped"
        total = self.limits.total_timeout_s
        if total is not None and total_s >= total:
            return f"did not finish within {total:g} s (was {where}); stopped"
        return None

    def _over_memory(self, child: _Child, job: Job) -> str | None:
        limit = self.limits.memory_limit_bytes
        if limit is None:
            return None
        rss = child.rss_bytes()
        if rss <= limit:
            return None
        return (f"exceeded the memory limit of {size_bytes(limit)} while "
                f"{stage_verb(self._stage)} on {job.device} (resident set reached "
                f"{size_bytes(rss)}); stopped")

    def _handle(self, event: dict[str, Any], job: Job) -> None:
        kind = event.get("event")
        if kind == "result":
            run = event.get("run")
            self._result = run if isinstance(run, dict) else {}
            return
        if kind == "stage":
            self._stage = str(event.get("stage", self._stage))
        if self.progress is not None and kind in ("stage", "progress", "error"):
            self.progress({**event, "device": job.device, "stage": self._stage})

    def _outcome(self, job: Job, code: int, stderr_tail: list[str]) -> Run:
        where = f"{stage_verb(self._stage)} on {job.device}"
        if code < 0 and self._result is None:
            return self._failed(job, f"runtime crashed: {signal_text(-code)} while {where}")
        if self._result is None:
            detail = f": {stderr_tail[-1]}" if stderr_tail else ""
            return self._failed(job, f"worker exited with code {code} without a result "
                                     f"while {where}{detail}")
        try:
            return from_dict(Run, self._result, where="worker result")
        except Exception as error:
            return self._failed(job, f"unreadable worker result: {error_text(error)}")

    def _failed(self, job: Job, message: str) -> Run:
        return Run(device=job.device, variant=job.variant, model_path=job.model_path,
                   config={"mode": job.mode},
                   error=RunError(stage=self._stage, message=message))


def run_job(job: Job, progress: ProgressSink | None = None, cancel: CancelToken | None = None,
            limits: Limits | None = None, worker_argv: Sequence[str] | None = None) -> Run:
    """Measure one job in its own process (see Supervisor); the run is stamped with the time
    it finished, so runs of one batch keep their own times in the history."""
    run = Supervisor(progress, cancel, limits, worker_argv).run(job)
    run.finished = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return run
