"""Small helpers several test modules share: hand-made latency statistics, process checks."""

from __future__ import annotations

import time

import psutil

from profiler.records.runs import LatencyStats


def latency(samples: list[float]) -> LatencyStats:
    """Statistics by nearest rank, computed here so the test controls every number."""
    ordered = sorted(samples)
    count = len(ordered)
    mean = sum(ordered) / count
    std = (sum((s - mean) ** 2 for s in ordered) / count) ** 0.5

    def rank(q: float) -> float:
        return ordered[min(int(q * count), count - 1)]

    return LatencyStats(samples_ms=samples, count=count, min=ordered[0], mean=mean, std=std,
                        cv=std / mean, p50=rank(0.5), p90=rank(0.9), p95=rank(0.95),
                        p99=rank(0.99), p99_9=rank(0.999), max=ordered[-1],
                        stop_reason="stable", total_seconds=sum(samples) / 1000)


def process_gone(pid: int, timeout_s: float = 10.0) -> bool:
    """True once ``pid`` has ended (a zombie waiting for init to reap it counts as ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def leftover_children() -> list[psutil.Process]:
    """This process's descendants, less the sandbox's fork server and its resource tracker:
    a process with threads starts those once and keeps them for every file it parses."""
    def sandbox_helper(child: psutil.Process) -> bool:
        try:
            command = " ".join(child.cmdline())
        except psutil.Error:  # gone meanwhile
            return True
        return "multiprocessing.forkserver" in command or "resource_tracker" in command
    return [child for child in psutil.Process().children(recursive=True)
            if not sandbox_helper(child)]
