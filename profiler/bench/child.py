"""A worker child process: started in its own session (process group), read line by line,
its stderr's tail kept for messages, its resident set measurable, stopped and reaped so that
nothing it started is left behind (no zombie, no orphan)."""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from typing import IO

import psutil

TERM_GRACE_S = 0.3
EXIT_GRACE_S = 2.0
"""How long a worker whose stream ended may take to exit on its own before it is killed."""
"""Between SIGTERM and SIGKILL on cancel: cancel must complete well within a second."""
STDERR_TAIL_LINES = 20


def _pump_lines(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)


def _pump_tail(stream: IO[str], tail: collections.deque[str]) -> None:
    for line in stream:
        if line.strip():
            tail.append(line.rstrip())


class Child:
    """One worker process with its reader threads; a Transport (send, recv, close_send) to
    the worker protocol, with the process's own controls (memory, stop, reap) beside it."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.process = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, encoding="utf-8", errors="replace", bufsize=1,
            start_new_session=os.name == "posix",
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self._ps = psutil.Process(self.process.pid)
        self.stderr_tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL_LINES)
        assert self.process.stdout is not None and self.process.stderr is not None
        self._threads = [
            threading.Thread(target=_pump_lines, args=(self.process.stdout, self.lines),
                             daemon=True),
            threading.Thread(target=_pump_tail, args=(self.process.stderr, self.stderr_tail),
                             daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(line + "\n")
            self.process.stdin.flush()
        except (OSError, ValueError):
            pass  # the child died (or the pipe closed): its exit status tells why

    def recv(self, timeout_s: float | None = None) -> str | None:
        """The next line; None at the end; queue.Empty when none came within the timeout."""
        return self.lines.get(timeout=timeout_s)

    def close_send(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):  # already gone: its exit status tells why
            self.process.stdin.close()

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
        """Let the worker end by itself (its own exit code: after its stream closes, ssh
        standing in for a board's worker still has to say the link dropped), then kill whatever
        it left in its group, reap it and close the pipes."""
        self._wait_unreaped(EXIT_GRACE_S)
        self._signal_group(signal.SIGKILL)
        code = self.process.wait()
        for thread in self._threads:
            thread.join(timeout=1.0)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code
