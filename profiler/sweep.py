"""Sweeps: every model measured on every device, targets in parallel.

The plan is models × devices grouped by target (the prefix of ``pi5/ov:CPU``; this machine's
own devices form one target too). Each target gets one thread that measures its queue one
pair after the other, so measurements never share a board, while different boards work at
the same time. A cancel token is checked between pairs and passed into each measurement (the
supervisor kills the worker at once), so a cancelled sweep stops within about a second.

Each finished pair is saved to the history (when asked) and recorded in a state file
(``SweepState``) as soon as it finishes; ``resume`` skips the pairs recorded as measured, so
an interrupted sweep goes on where it stopped (failed pairs are tried again).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING, Any, Literal

from profiler.errors import ProfilerError, ReportError
from profiler.records.record import record
from profiler.records.runs import Run, RunError
from profiler.records.serialize import from_dict, loads_strict, to_dict
from profiler.runtime.devices import split_target
from profiler.sweep_report import PairResult, SweepModelRow, SweepSummary, now_iso

if TYPE_CHECKING:
    from profiler.bench.profile import ProfileOptions
    from profiler.bench.supervisor import CancelToken, ProgressSink
    from profiler.bench.wire import Event
    from profiler.records.report import Report

LOCAL_TARGET = "local"
"""How this machine's own devices are named as a target in progress and summaries."""
STATE_SCHEMA = "edgeprof.sweep-state"
STOP_GRACE_S = 1.5
"""How long a cancelled sweep waits for its target threads before giving up on them."""
JOIN_POLL_S = 0.1
HASH_CHUNK_BYTES = 1 << 20


@record
class SweepModel:
    path: str
    sha256: str
    name: str
    report: Report | None = None
    """The model's analysed report (model info, analysis): the base of each pair's report."""
    error: str = ""
    """Why the model cannot be measured (it did not load); its pairs fail with this."""


EventKind = Literal["start", "stage", "done", "failed", "skipped", "stopped"]


@record
class SweepEvent:
    """What the progress sink hears: one per pair started and finished, plus stage events."""

    target: str
    kind: EventKind
    model: str = ""
    device: str = ""
    index: int = 0
    """1-based position of the pair in its target's queue."""
    total: int = 0
    text: str = ""


SweepSink = Callable[[SweepEvent], None]
Measure = Callable[[SweepModel, str, "ProgressSink | None", "CancelToken"], Run]
"""Measures one model on one device: (model, device id, progress, cancel) -> Run."""
SaveRun = Callable[["Report"], tuple[list[int], str]]


# models and plan -----------------------------------------------------------------------------

def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HASH_CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def sweep_model(path: str, analyse: Callable[[str], Report] | None = None) -> SweepModel:
    """Hash the model and, with ``analyse``, load it; a model that fails keeps the reason."""
    model = SweepModel(path=path, sha256=file_sha256(path), name=os.path.basename(path))
    if analyse is not None:
        try:
            model.report = analyse(path)
        except ProfilerError as error:
            model.error = str(error)
    return model


def target_name(device: str) -> str:
    return split_target(device)[0] or LOCAL_TARGET


def plan(models: Sequence[SweepModel], devices: Sequence[str]
         ) -> dict[str, list[tuple[SweepModel, str]]]:
    """Models × devices grouped by target, in the order given (model first, then device)."""
    queues: dict[str, list[tuple[SweepModel, str]]] = {}
    for model in models:
        for device in devices:
            queues.setdefault(target_name(device), []).append((model, device))
    return queues


# state ---------------------------------------------------------------------------------------

class SweepState:
    """The pairs a sweep has finished, on disk after each one (atomic rename), shared by the
    target threads."""

    def __init__(self, path: str | None, settings: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self.settings = dict(settings or {})
        self.results: dict[tuple[str, str], PairResult] = {}
        self._lock = threading.Lock()

    @classmethod
    def load(cls, path: str, settings: Mapping[str, Any] | None = None) -> SweepState:
        """The state at ``path``; an empty one when the file does not exist."""
        state = cls(path, settings)
        try:
            with open(path, encoding="utf-8") as handle:
                document = loads_strict(handle.read(), path)
        except FileNotFoundError:
            return state
        except (OSError, UnicodeDecodeError) as error:
            raise ReportError(f"{path}: cannot read the sweep state ({error}); remove it to "
                              "start over") from None
        if not isinstance(document, dict) or document.get("schema") != STATE_SCHEMA:
            raise ReportError(f"{path}: not a sweep state file; remove it to start over")
        for raw in document.get("results") or []:
            result = from_dict(PairResult, raw, where=f"{path}: results")
            state.results[(result.model_sha256, result.device)] = result
        return state

    def done(self, model: SweepModel, device: str) -> bool:
        with self._lock:
            result = self.results.get((model.sha256, device))
        return result is not None and result.ok

    def record(self, result: PairResult) -> None:
        with self._lock:
            self.results[(result.model_sha256, result.device)] = result
            self._write()

    def _write(self) -> None:
        if self.path is None:
            return
        document = {"schema": STATE_SCHEMA, "settings": self.settings,
                    "results": to_dict(list(self.results.values()))}
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        temporary = f"{self.path}.{os.getpid()}.tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(document, handle, indent=1)
        os.replace(temporary, self.path)


def plan_key(models: Sequence[SweepModel], devices: Sequence[str]) -> str:
    """Names a plan: the same models and devices give the same state file."""
    text = "\n".join(sorted(m.sha256 for m in models)) + "\n" + "\n".join(sorted(devices))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# running -------------------------------------------------------------------------------------

@record
class SweepOutcome:
    summary: SweepSummary
    cancelled: bool = False
    measured: int = 0
    skipped: int = 0
    failed: int = 0
    history_errors: list[str] = field(default_factory=list)


def pair_result(model: SweepModel, device: str, run: Run, run_id: int | None) -> PairResult:
    stats = run.latency if run.latency and run.latency.count else None
    error = "" if stats else (run.error.message if run.error else "no latency was measured")
    return PairResult(model_sha256=model.sha256, device=device, model_name=model.name,
                      model_path=model.path, p50_ms=stats.p50 if stats else None,
                      p90_ms=stats.p90 if stats else None, error=error, run_id=run_id,
                      finished=run.finished or now_iso())


def failed(model: SweepModel, device: str, message: str, kind: str = "runtime") -> Run:
    return Run(device=device, model_path=model.path, finished=now_iso(),
               error=RunError(stage="worker", message=message, kind=kind))


class _TargetWorker:
    """One target's queue, measured one pair at a time."""

    def __init__(self, sweep: Sweep, target: str, queue: list[tuple[SweepModel, str]]) -> None:
        self.sweep, self.target, self.queue = sweep, target, queue

    def __call__(self) -> None:
        total = len(self.queue)
        for index, (model, device) in enumerate(self.queue, start=1):
            if self.sweep.cancel.is_set():
                self.sweep.emit(SweepEvent(self.target, "stopped", index=index, total=total))
                return
            event = SweepEvent(self.target, "start", model.name, device, index, total)
            if self.sweep.state.done(model, device):
                self.sweep.count("skipped")
                self.sweep.emit(replace(event, kind="skipped", text="measured before"))
                continue
            self.sweep.emit(event)
            self.sweep.measure_pair(model, device, event)


class Sweep:
    """Runs a plan: one thread per target; see the module's docstring."""

    def __init__(self, measure: Measure, state: SweepState, progress: SweepSink | None = None,
                 cancel: threading.Event | None = None, save: SaveRun | None = None) -> None:
        self.measure, self.state, self.progress, self.save = measure, state, progress, save
        self.cancel = cancel or threading.Event()
        self.counts = {"measured": 0, "skipped": 0, "failed": 0}
        self.history_errors: list[str] = []
        self._lock = threading.Lock()

    def emit(self, event: SweepEvent) -> None:
        if self.progress is not None:
            with self._lock:  # lines from several targets never interleave
                self.progress(event)

    def count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1

    def measure_pair(self, model: SweepModel, device: str, event: SweepEvent) -> None:
        run = self._measured(model, device, event)
        if self.cancel.is_set() and run.error is not None:
            return  # cancelled midway: not a result, a resumed sweep measures it again
        run_id = self._saved(model, run)
        result = pair_result(model, device, run, run_id)
        self.state.record(result)
        self.count("measured" if result.ok else "failed")
        kind: EventKind = "done" if result.ok else "failed"
        text = f"median {result.p50_ms:.3f} ms" if result.ok else result.error
        self.emit(replace(event, kind=kind, text=text))

    def _measured(self, model: SweepModel, device: str, event: SweepEvent) -> Run:
        if model.error:
            return failed(model, device, model.error, kind="usage")

        def stages(stage_event: Event) -> None:
            from profiler.bench.wire import StageEvent, stage_text

            if isinstance(stage_event, StageEvent):
                self.emit(replace(event, kind="stage", text=stage_text(stage_event)))

        try:
            return self.measure(model, device, stages, self.cancel)
        except ProfilerError as error:  # an unreachable target, a model it cannot read
            return failed(model, device, str(error))
        except Exception as error:  # a fault in one pair never stops the other targets
            return failed(model, device, f"unexpected error ({type(error).__name__}): {error}")

    def _saved(self, model: SweepModel, run: Run) -> int | None:
        if self.save is None or model.report is None:
            return None
        from profiler.remote.runner import note_targets

        report = replace(model.report, runs=[run], errors=[],
                         environment=dict(model.report.environment))
        note_targets(report)  # a board's run: the report names the board's environment
        ids, problem = self.save(report)
        if problem:
            with self._lock:
                self.history_errors.append(problem)
        return ids[0] if ids else None

    def run(self, models: Sequence[SweepModel], devices: Sequence[str]) -> SweepOutcome:
        """Measure the plan; on KeyboardInterrupt, cancel, wait up to STOP_GRACE_S, re-raise."""
        threads = [threading.Thread(target=_TargetWorker(self, target, queue),
                                    name=f"sweep-{target}", daemon=True)
                   for target, queue in plan(models, devices).items()]
        for thread in threads:
            thread.start()
        try:
            _join(threads)
        except KeyboardInterrupt:
            self.stop(threads)
            raise
        return self.outcome(models, devices)

    def stop(self, threads: Sequence[threading.Thread]) -> None:
        self.cancel.set()
        deadline = time.monotonic() + STOP_GRACE_S
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def outcome(self, models: Sequence[SweepModel], devices: Sequence[str]) -> SweepOutcome:
        keys = {(m.sha256, d) for m in models for d in devices}
        results = [r for key, r in self.state.results.items() if key in keys]
        rows = [SweepModelRow(m.name, m.path, m.sha256, m.error) for m in models]
        summary = SweepSummary(models=rows, devices=list(devices), results=results,
                               cancelled=self.cancel.is_set(), created=now_iso())
        return SweepOutcome(summary, self.cancel.is_set(), self.counts["measured"],
                            self.counts["skipped"], self.counts["failed"],
                            list(self.history_errors))


def _join(threads: Sequence[threading.Thread]) -> None:
    """Wait in short steps: the main thread stays responsive to Ctrl-C."""
    while any(thread.is_alive() for thread in threads):
        for thread in threads:
            thread.join(JOIN_POLL_S)


# the default measurement ---------------------------------------------------------------------

class DeviceMeasure:
    """Measures a pair the way ``profile`` does: one request in a worker process, here or,
    for a ``target/`` device, on that board (profiler.remote.runner.measure_job)."""

    def __init__(self, options: ProfileOptions) -> None:
        self.options = options

    def __call__(self, model: SweepModel, device: str, progress: ProgressSink | None,
                 cancel: CancelToken) -> Run:
        from profiler.remote.runner import measure_job

        return measure_job(self.request(model, device), progress, cancel, self.options.limits)

    def request(self, model: SweepModel, device: str) -> Any:
        from profiler.bench.profile import build_jobs, concrete_shapes, input_rules
        from profiler.runtime.devices import check_device_format

        check_device_format(device, model.path)
        assert model.report is not None and model.report.model is not None
        info = model.report.model
        return build_jobs(model.path, [device], concrete_shapes(info.inputs), self.options,
                          info.file_bytes, input_rules(info.inputs))[0]


def analyse_for(options: ProfileOptions) -> Callable[[str], Report]:
    """The analysis a sweep's pairs share: each model is analysed once, with the options'
    input settings, as ``profile`` does."""
    def analyse(path: str) -> Report:
        from profiler.api import analyze_model
        from profiler.bench.profile import input_settings, mark_file_inputs

        report = analyze_model(path, inputs=input_settings(options, None))
        if options.input_source and report.model is not None:
            mark_file_inputs(report.model.inputs, options.input_source)
        return report

    return analyse
