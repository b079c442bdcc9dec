"""A document's runs: every run measured or reopened for one model, kept side by side.

Nothing is replaced: a run is added once (the same measurement reopened again is recognised by
device, variant and finish time) and a second measurement of the same pair gets its own row,
told apart by its label ("ov:CPU fp32 #2, 23:41"). Measuring the FP32 reference again adds a
note that says so with both medians. A batch (one Profile or Quantize press) first lists its
pairs as "waiting"; each finished run fills its pair; when the batch ends, pairs never started
become "skipped" with the reason, and the run stopped by Cancel reads "cancelled", not failed.
Pure data, no Qt: the Runs pane and the charts read it.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.records.variants import Variant

REFERENCE_VARIANT = "fp32"
OK, FAILED, CANCELLED, SKIPPED, RUNNING, WAITING = (
    "ok", "failed", "cancelled", "skipped", "running", "waiting")
STATUSES = (OK, FAILED, CANCELLED, SKIPPED, RUNNING, WAITING)
FINAL_STATUSES = (OK, FAILED, CANCELLED, SKIPPED)
CANCEL_PREFIX = "cancelled"
"""How the supervisor's error for a run stopped by Cancel begins ("cancelled while ...")."""
NOT_STARTED = "cancelled before it started"


@dataclass(frozen=True)
class RunKey:
    """Names one run of a document: device, variant, when it finished, and the batch it came
    in (which only tells apart pairs still waiting: their ``finished`` is '')."""

    device: str
    variant: str
    finished: str = ""
    batch: int = 0

    def same_measurement(self, other: RunKey) -> bool:
        return bool(self.finished) and (self.device, self.variant, self.finished) == (
            other.device, other.variant, other.finished)


@dataclass
class RunEntry:
    key: RunKey
    run: Run | None
    """None while waiting or running, and for a skipped pair."""
    status: str
    source: str = ""
    """Where it came from: 'profile', 'quantize', 'history', 'report'."""
    model: ModelInfo | None = None
    visible: bool = True
    """Shown in the charts (ok runs only: the others have no figures to draw)."""
    note: str = ""
    """Why it failed, was cancelled or skipped."""

    @property
    def p50_ms(self) -> float | None:
        latency = self.run.latency if self.run is not None else None
        return latency.p50 if latency is not None and latency.count else None


# statuses ---------------------------------------------------------------------------------

def run_failed(run: Run) -> bool:
    """True when the run measured nothing (an error in the per-layer pass alone keeps it);
    the same rule as profiler.bench.profile.run_failed."""
    return run.error is not None and run.latency is None and run.throughput_fps is None


def was_cancelled(run: Run) -> bool:
    return run.error is not None and run.error.message.startswith(CANCEL_PREFIX)


def run_status(run: Run | None, started: bool = False, batch_over: bool = False) -> str:
    """The status a run's row shows: a finished run by its outcome; a pair without a run is
    running, waiting, or (once its batch is over) skipped."""
    if run is None:
        if batch_over:
            return SKIPPED
        return RUNNING if started else WAITING
    if run_failed(run):
        return CANCELLED if was_cancelled(run) else FAILED
    return OK


def status_note(run: Run | None) -> str:
    if run is None or run.error is None:
        return ""
    return run.error.message


def status_summary(statuses: Iterable[str]) -> str:
    """'2 ok, 1 cancelled, 1 skipped': what a batch ended with, in the statuses' order."""
    counts = {status: 0 for status in STATUSES}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    return ", ".join(f"{count} {status}" for status, count in counts.items() if count)


# labels -----------------------------------------------------------------------------------

def local_time(iso: str, tz: _dt.tzinfo | None = None) -> _dt.datetime | None:
    try:
        moment = _dt.datetime.fromisoformat(iso)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(tz)


def time_text(iso: str, today: _dt.date | None = None, tz: _dt.tzinfo | None = None) -> str:
    """'23:41' for a run of today, '2025-03-01 23:41' for an older one, '' when unknown."""
    moment = local_time(iso, tz) if iso else None
    if moment is None:
        return ""
    today = today or _dt.datetime.now(tz).date()
    return moment.strftime("%H:%M" if moment.date() == today else "%Y-%m-%d %H:%M")


def measure_note(device: str, variant: str, before_ms: float, after_ms: float) -> str:
    """The note when a pair already measured is measured again (both rows are kept)."""
    change = 100.0 * (after_ms - before_ms) / before_ms if before_ms else 0.0
    name = "FP32" if variant == REFERENCE_VARIANT else variant
    return (f"{name} on {device} measured again: {before_ms:.1f} -> {after_ms:.1f} ms "
            f"({change:+.0f} %); both runs are kept")


# the list ---------------------------------------------------------------------------------

class RunList:
    """Every run of one document, in the order they came; see the module docstring."""

    def __init__(self, today: _dt.date | None = None, tz: _dt.tzinfo | None = None) -> None:
        self.entries: list[RunEntry] = []
        self.notes: list[str] = []
        self.batches = 0
        self.today, self.tz = today, tz

    # reading ----------------------------------------------------------------------------

    def entry(self, key: RunKey) -> RunEntry | None:
        return next((entry for entry in self.entries if entry.key == key), None)

    def label(self, entry: RunEntry) -> str:
        """'ov:CPU fp32', with '#2' from the second measurement of a pair and its time."""
        same = [e for e in self.entries
                if (e.key.device, e.key.variant) == (entry.key.device, entry.key.variant)]
        number = next(i for i, e in enumerate(same, 1) if e is entry)
        text = f"{entry.key.device} {entry.key.variant}" + (f" #{number}" if number > 1 else "")
        when = time_text(entry.key.finished, self.today, self.tz)
        return f"{text}, {when}" if when else text

    def visible_keys(self) -> list[RunKey]:
        return [e.key for e in self.entries if e.visible and e.status == OK]

    def visible_runs(self) -> list[Run]:
        return [e.run for e in self.entries if e.visible and e.status == OK and e.run]

    def chart_report(self, report: Report) -> Report:
        """The report the charts draw: its runs are the visible ones (a shallow copy)."""
        return replace(report, runs=self.visible_runs())

    def set_visible(self, key: RunKey, visible: bool) -> bool:
        """Show or hide a measured run in the charts; False when nothing changed."""
        entry = self.entry(key)
        if entry is None or entry.status != OK or entry.visible == visible:
            return False
        entry.visible = visible
        return True

    def compare_pair(self, keys: Sequence[RunKey]) -> tuple[RunEntry, RunEntry] | None:
        """Exactly two measured runs, older first (A), or None: Compare is then disabled."""
        entries = [e for e in self.entries if e.key in keys]
        if len(keys) != 2 or len(entries) != 2 or any(e.run is None for e in entries):
            return None
        return entries[0], entries[1]

    # adding -----------------------------------------------------------------------------

    def add_report(self, report: Report, source: str = "report") -> list[str]:
        """Every run of a saved or finished report, each added once; the notes it caused."""
        self.batches += 1
        notes: list[str] = []
        for run in report.runs:
            notes += self._add_run(run, report.model, source, report.created, self.batches)
        return notes

    def start_batch(self, pairs: Sequence[tuple[str, str]], source: str) -> int:
        """A Profile or Quantize press: its (device, variant) pairs listed as waiting."""
        self.batches += 1
        for device, variant in pairs:
            self.entries.append(RunEntry(RunKey(device, variant, "", self.batches), None,
                                         WAITING, source))
        return self.batches

    def mark_running(self, batch: int, device: str, variant: str) -> None:
        entry = self._pending(batch, device, variant)
        if entry is not None:
            entry.status = RUNNING

    def finish_run(self, batch: int, run: Run, model: ModelInfo | None,
                   created: str = "") -> list[str]:
        """A run of the batch came back: it fills its pair (or is added); the notes."""
        pending = self._pending(batch, run.device, run.variant)
        slot = None if pending is None else self.entries.index(pending)
        if pending is not None:
            self.entries.remove(pending)
        source = pending.source if pending is not None else ""
        # a run the batch measured is new by definition: never taken for one reopened
        return self._add_run(run, model, source, created, batch, at=slot, reopened=False)

    def end_batch(self, batch: int, reasons: dict[tuple[str, str], str] | None = None,
                  cancelled: bool = False) -> None:
        """Pairs the batch never measured: skipped, with the reason given (or Cancel's)."""
        reasons = reasons or {}
        for entry in self.entries:
            if entry.key.batch != batch or entry.status not in (WAITING, RUNNING):
                continue
            pair = (entry.key.device, entry.key.variant)
            started = entry.status == RUNNING
            entry.status = CANCELLED if cancelled and started else SKIPPED
            entry.visible = False
            entry.note = reasons.get(pair) or (NOT_STARTED if cancelled else "not measured")

    def add_skipped(self, batch: int, device: str, variant: str, reason: str,
                    source: str = "") -> None:
        """A pair that was asked for but never queued (e.g. a variant on a device it does
        not run on)."""
        if self._pending(batch, device, variant) is None:
            self.entries.append(RunEntry(RunKey(device, variant, "", batch), None, SKIPPED,
                                         source, visible=False, note=reason))

    # inside -----------------------------------------------------------------------------

    def _pending(self, batch: int, device: str, variant: str) -> RunEntry | None:
        return next((e for e in self.entries if e.run is None and e.key.batch == batch
                     and (e.key.device, e.key.variant) == (device, variant)), None)

    def _add_run(self, run: Run, model: ModelInfo | None, source: str, created: str,
                 batch: int, at: int | None = None, reopened: bool = True) -> list[str]:
        key = RunKey(run.device, run.variant, run.finished or created, batch)
        if reopened and any(key.same_measurement(e.key) for e in self.entries):
            return []  # the same run reopened: already listed
        status = run_status(run)
        entry = RunEntry(key, run, status, source, model, visible=status == OK,
                         note=status_note(run))
        notes = self._remeasured(entry)
        self.entries.insert(len(self.entries) if at is None else at, entry)
        self.notes += notes
        return notes

    def _remeasured(self, entry: RunEntry) -> list[str]:
        """A note when an earlier ok run measured the same pair (the reference always)."""
        after = entry.p50_ms
        earlier = [e for e in self.entries if e.status == OK and e.p50_ms is not None
                   and (e.key.device, e.key.variant) == (entry.key.device, entry.key.variant)]
        if after is None or not earlier:
            return []
        before = earlier[-1].p50_ms
        assert before is not None
        return [measure_note(entry.key.device, entry.key.variant, before, after)]


# pairs a quantize batch did not measure -----------------------------------------------------

CROSS_RUNTIME_OPTION = "Also measure ONNX variants on OpenVINO devices"
"""The Quantize panel's check box for QuantizeOptions.cross_runtime."""
ONNX_ON_OPENVINO = ("ONNX variants are measured on ONNX Runtime devices only; measuring them "
                    f"on OpenVINO devices too is off (Quantize: \"{CROSS_RUNTIME_OPTION}\")")
"""profiler.quant.session.runs_on without cross_runtime (QuantizeOptions.cross_runtime)."""


def unmeasured_reasons(report: Report, variant_ids: Sequence[str], devices: Sequence[str],
                       cross_runtime: bool = False,
                       cancelled: bool = False) -> dict[tuple[str, str], str]:
    """(device, variant) -> why a requested pair has no run in the quantize report. An
    OpenVINO IR never runs on ONNX Runtime by design: those pairs are not listed."""
    from profiler.quant.session import runs_on  # the session's own rule, imported on use
    from profiler.quant.sizes import IR_FAMILY, ONNX_FAMILY

    measured = {(run.device, run.variant) for run in report.runs}
    built = {variant.id: variant for variant in report.variants}
    reasons: dict[tuple[str, str], str] = {}
    for variant_id in variant_ids:
        variant = built.get(variant_id)
        family = variant.format if variant is not None else ""
        for device in devices:
            if (device, variant_id) in measured:
                continue
            if family == IR_FAMILY and device.startswith("ort:"):
                continue
            if family == ONNX_FAMILY and not runs_on(family, device, cross_runtime):
                reasons[(device, variant_id)] = ONNX_ON_OPENVINO
            else:
                reasons[(device, variant_id)] = _missing_reason(variant, cancelled)
    return reasons


def _missing_reason(variant: Variant | None, cancelled: bool) -> str:
    if variant is not None and variant.error:
        return f"the variant could not be built: {variant.error}"
    if cancelled:
        return NOT_STARTED if variant is not None else "cancelled before it was built"
    return "not measured" if variant is not None else "not built"
