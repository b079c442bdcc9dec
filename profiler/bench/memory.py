"""Peak resident memory (RSS, not virtual size) of this process, stage by stage.

Linux: the kernel keeps the RSS high-water mark (``VmHWM`` in /proc/self/status) and resets
it to the current RSS when "5" is written to /proc/self/clear_refs, which gives exact
per-stage peaks ("linux-vmhwm"). Where that is missing or not permitted, a thread samples
the RSS with psutil every few milliseconds ("psutil-sampled"); short spikes between samples
can be missed, so the method is recorded with the figures.
"""

from __future__ import annotations

import os
import threading

import psutil

STATUS_PATH = "/proc/self/status"
CLEAR_REFS_PATH = "/proc/self/clear_refs"
RESET_HWM = "5"
"""clear_refs value that resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0)."""
SAMPLE_INTERVAL_S = 0.005
METHOD_VMHWM = "linux-vmhwm"
METHOD_SAMPLED = "psutil-sampled"


def read_vmhwm_bytes() -> int | None:
    """The process's peak RSS from /proc (bytes), or None where there is no such file."""
    try:
        with open(STATUS_PATH, encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # the kernel reports kB
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_vmhwm() -> bool:
    """Reset the peak RSS to the current RSS; False when the kernel does not allow it."""
    try:
        with open(CLEAR_REFS_PATH, "w", encoding="ascii") as handle:
            handle.write(RESET_HWM)
    except OSError:
        return False
    return True


def vmhwm_usable() -> bool:
    return read_vmhwm_bytes() is not None and reset_vmhwm()


class StagePeaks:
    """Measures the peak RSS of consecutive stages: ``peak = tracker.end_stage()``.

    The first stage runs from process start (so the baseline includes the imports); every
    ``end_stage`` returns that stage's peak and starts the next one.
    """

    def __init__(self, force_sampling: bool = False) -> None:
        self.method = METHOD_SAMPLED if force_sampling or not vmhwm_usable() else METHOD_VMHWM
        self._process = psutil.Process()
        self._lock = threading.Lock()
        self._sampled_peak = self._current_rss()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.method == METHOD_SAMPLED:
            self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)
            self._thread.start()

    def _current_rss(self) -> int:
        return int(self._process.memory_info().rss)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_INTERVAL_S):
            rss = self._current_rss()
            with self._lock:
                self._sampled_peak = max(self._sampled_peak, rss)

    def end_stage(self) -> int:
        """Peak RSS (bytes) since the previous call (or since start), then reset the mark."""
        if self.method == METHOD_VMHWM:
            peak = read_vmhwm_bytes() or 0
            reset_vmhwm()
            return peak
        rss = self._current_rss()
        with self._lock:
            peak = max(self._sampled_peak, rss)
            self._sampled_peak = rss
        return peak

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)


def model_file_bytes(model_path: str) -> int:
    """Bytes of the model file plus its companion weights (.bin for OpenVINO IR, .data)."""
    total = 0
    stem = os.path.splitext(model_path)[0]
    for path in (model_path, stem + ".bin", model_path + ".data", stem + ".data"):
        if os.path.isfile(path):
            total += os.path.getsize(path)
    return total
