"""The Profile panel's plain parts: the work run off the GUI thread (device discovery,
``api.profile``) and the words its progress rows show; no widgets."""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, Any

from ui.jobs import Sink
from ui.runs_data import OK, run_status, status_note
from ui.state import ProgressRow

if TYPE_CHECKING:
    from profiler.bench.profile import ProfileOptions
    from profiler.records.report import Report
    from profiler.records.runs import Run
    from profiler.runtime.devices import DeviceInfo

STAGES = ("worker", "start", "load", "compile", "inputs", "first_inference", "warmup",
          "latency", "throughput", "layers")
"""Stage order of the untyped events of older workers (typed events carry ``overall``)."""
_DISCOVERED: list[DeviceInfo] | None = None
"""Devices found by the first discovery: the runtimes do not change while the app runs."""


def discover_devices(_progress: Sink, _cancel: threading.Event, _partial: Sink) -> list[Any]:
    global _DISCOVERED
    if _DISCOVERED is None:
        from profiler.runtime.devices import list_devices

        _DISCOVERED = list_devices()
        # what Run needs first (options, the profile flow) imported here, off the GUI thread:
        # importing it on the first click stalled the window for 60-170 ms
        for module in ("profiler.api", "profiler.bench.profile"):
            importlib.import_module(module)
    return _DISCOVERED


def history_text(saved_ids: list[int], error: str, cancelled: bool) -> str:
    if cancelled:
        return "runs not saved (cancelled)"
    if error:
        return f"runs not saved to the history: {error}"
    return f"Saved {len(saved_ids)} run(s) to the history" if saved_ids else "nothing to save"


def profile_document(model_path: str, devices: list[str], options: ProfileOptions,
                     shapes: dict[str, tuple[int, ...]], backend_factory: str,
                     progress: Sink, cancel: threading.Event, partial: Sink
                     ) -> tuple[Report, str]:
    """``api.profile``; ``partial`` gets the report so far after each device. Returns the
    report and the history status (the app's state merges the runs)."""
    from profiler.api import profile

    result = profile(model_path, devices, options, shapes, progress, cancel, partial,
                     save_history=True, backend_factory=backend_factory)
    status = history_text(result.saved_run_ids, result.history_error, result.cancelled)
    return result.report, status


def event_row(event: Any) -> ProgressRow:
    """A worker event as its device's row: the share of the job done (weighted by each
    stage's expected time) and the stage, with the CI against its target and the time left."""
    from profiler.bench.wire import event_label, event_text, stage_verb

    if isinstance(event, dict):  # the untyped events of older workers
        return ProgressRow(str(event.get("device", "")), round(100 * stage_fraction(event)),
                           stage_verb(str(event.get("stage", ""))))
    overall = max(0.0, min(float(event.overall), 1.0))
    return ProgressRow(event_label(event), round(100 * overall), event_text(event))


def stage_fraction(event: dict[str, Any]) -> float:
    """Overall share done for one device, from its stage and the stage's own fraction."""
    stage = str(event.get("stage", ""))
    index = STAGES.index(stage) if stage in STAGES else 0
    inner = float(event.get("fraction", 0.0)) if event.get("event") == "progress" else 0.0
    return min((index + max(0.0, min(inner, 1.0))) / len(STAGES), 1.0)


def run_row(run: Run, label: str = "") -> ProgressRow:
    """A finished run's row: 'ok: p50 1.234 ms', 'failed: why', 'cancelled: while ...'."""
    status = run_status(run)
    p50 = run.latency.p50 if run.latency and run.latency.count else None
    if status == OK:
        text = f"ok: p50 {p50:.3f} ms" if p50 is not None else "ok"
        return ProgressRow(label or run.device, 100, text)
    return ProgressRow(label or run.device, None, f"{status}: {status_note(run)}")
