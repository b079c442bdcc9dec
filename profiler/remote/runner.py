"""Measure on a target board: a device id with a target prefix (``pi5/ov:CPU``) runs here.

``measure_on_target`` is to a board what ``profiler.bench.supervisor.run_job`` is to this
machine: one MeasureRequest in, always a Run out (an error inside it, never an exception).
On the way: the board's information (``remote-info``: its environment, worker protocol and
devices; asked once and kept for ``INFO_TTL_S``), the model (and an ``--input`` data file)
copied into the board's cache once per content hash, then the request, with the board's
paths and the device id without its prefix, runs through the same Supervisor as a local
device, over ``ssh`` (profiler.remote.ssh.worker_argv). The Run comes back with the prefixed
device, this machine's model path, and ``config["target"]``: the board's name, tool version
and environment (CPU, ISA, OS, runtime versions).

Faults fail that run with one plain sentence naming the target: unreachable or refused
(kind "runtime"), a connection dropped mid-run ("crash"), another protocol version
("protocol"), a runtime missing on the board (the worker's own "runtime" failure).
The memory watchdog does not apply (it would see the ssh client, not the worker; the worker
still reports its own peak resident set); the silence timeout does.
"""

from __future__ import annotations

import datetime
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, TypeVar

from profiler.bench.requests import MeasureOutcome, MeasureRequest
from profiler.bench.supervisor import (
    CancelToken,
    Limits,
    ProgressSink,
    Supervisor,
    failed_run,
    run_job,
)
from profiler.bench.wire import PROTOCOL_VERSION, Event, Failure, FailureKind, Request
from profiler.errors import ProfilerError
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.remote import ssh
from profiler.remote.cache import RemoteModel, ensure_model
from profiler.remote.devices import BoardInfo, board_info
from profiler.remote.targets import Target, get_target
from profiler.runtime.devices import (
    DeviceInfo,
    device_backend,
    list_devices,
    split_target,
    target_device_id,
)

INFO_TTL_S = 60.0
"""A board's information is asked once per command (a sweep reuses it for a minute); a
failure forgets it, so a rebooted or upgraded board is asked again."""
OutcomeT = TypeVar("OutcomeT")

_info_lock = threading.Lock()
_info: dict[tuple[str, ...], tuple[float, BoardInfo]] = {}


def is_remote(device_id: str) -> bool:
    """'pi5/ov:CPU' is a device on a target; 'ov:CPU' is one of this machine."""
    return bool(split_target(device_id)[0])


def _key(target: Target) -> tuple[str, ...]:
    return tuple(str(value) for value in vars(target).values())


def cached_board_info(target: Target) -> BoardInfo:
    """``remote-info`` of the target, asked at most once per INFO_TTL_S."""
    with _info_lock:
        found = _info.get(_key(target))
    if found is not None and time.monotonic() - found[0] < INFO_TTL_S:
        return found[1]
    info = board_info(target)
    with _info_lock:
        _info[_key(target)] = (time.monotonic(), info)
    return info


def forget(target: Target) -> None:
    with _info_lock:
        _info.pop(_key(target), None)


def target_devices(name: str) -> list[DeviceInfo]:
    """The devices of target ``name`` with prefixed ids (ProfilerError when unreachable)."""
    return cached_board_info(get_target(name)).devices


def available_devices(device_ids: Sequence[str]) -> list[DeviceInfo]:
    """What ``device_ids`` are checked against: this machine's devices (when a local id is
    asked for) and those of each target a prefixed id names (``pi5/ov:CPU``), each target
    asked once. A target that cannot be reached now is left unchecked: its runs then fail
    with the reason, and the other devices still run."""
    names = list(dict.fromkeys(split_target(device)[0] for device in device_ids))
    available = list_devices() if "" in names else []
    for name in filter(None, names):
        try:
            available += target_devices(name)
        except ssh.RemoteError:
            available += [DeviceInfo(id=d, backend=device_backend(d), device=d)
                          for d in device_ids if split_target(d)[0] == name]
    return available


# running ------------------------------------------------------------------------------------

def measure_job(request: MeasureRequest, progress: ProgressSink | None = None,
                cancel: CancelToken | None = None, limits: Limits | None = None,
                worker_argv: Sequence[str] | None = None) -> Run:
    """One device's run: on this machine (``run_job``), or on a target board when the id has
    a prefix (``pi5/ov:CPU``). ``worker_argv`` applies to local devices only."""
    if is_remote(request.device):
        return measure_device(request, progress, cancel, limits)
    return run_job(request, progress, cancel, limits, worker_argv)


def note_targets(report: Report) -> None:
    """The report's environment (this machine's) names the boards some runs were measured
    on: ``environment["targets"][name]``, each board's own environment."""
    boards = {run.config["target"]["name"]: run.config["target"].get("environment", {})
              for run in report.runs if isinstance(run.config.get("target"), dict)
              and run.config["target"].get("name")}
    if boards:
        report.environment["targets"] = boards


def measure_device(request: MeasureRequest, progress: ProgressSink | None = None,
                   cancel: CancelToken | None = None, limits: Limits | None = None) -> Run:
    """A request whose device carries a target prefix: find the target, measure there."""
    name = split_target(request.device)[0]
    try:
        target = get_target(name)
    except ProfilerError as error:
        return _failed(request, "usage", "worker", str(error))
    return measure_on_target(request, target, progress, cancel, limits)


def measure_on_target(request: MeasureRequest, target: Target,
                      progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                      limits: Limits | None = None) -> Run:
    """Measure ``request`` on ``target``; always a Run, stamped with its finish time.

    ``request.device`` may be prefixed ('pi5/ov:CPU') or not ('ov:CPU'); the Run's device is
    the prefixed id either way. ``request.model_path`` (and ``settings.input_source``) are
    files of this machine: they are copied to the board's cache when not there yet.
    ``progress`` gets the events labelled with the prefixed device; ``cancel`` stops the run
    (the board's worker ends with its connection); ``limits``: the silence and total timeouts
    apply, the memory cap does not (see the module docstring)."""
    shown = target_device_id(target.name, split_target(request.device)[1])
    request = replace(request, device=shown)
    try:
        info, remote_request, model = _prepare(request, target)
    except ProfilerError as error:
        forget(target)
        kind: FailureKind = "protocol" if "protocol" in str(error) else "runtime"
        return _failed(request, kind, "worker", _named(target, str(error)))
    supervisor = _RemoteSupervisor(target, shown, _relabelled(progress, shown), cancel,
                                   replace(limits or Limits(), memory_limit_bytes=None),
                                   ssh.worker_argv(target))
    result = supervisor.run(remote_request, MeasureOutcome)
    if isinstance(result, Failure):
        forget(target)
        run = _failed(request, result.kind, result.stage,
                      _named(target, _shown_device(result.message, remote_request, shown)))
    else:
        run = result.run
        if run.error is not None:  # the worker's own failure (a runtime missing there)
            run.error.message = _named(target, run.error.message)
    return _finish(run, request, _target_record(target, info, supervisor, model))


def _prepare(request: MeasureRequest, target: Target
             ) -> tuple[BoardInfo, MeasureRequest, RemoteModel]:
    """Board information, the model (and input file) in its cache, the board's request."""
    info = cached_board_info(target)
    if info.worker_protocol is not None and info.worker_protocol != PROTOCOL_VERSION:
        raise ssh.RemoteError(target.name, (
            f"{target.name} speaks worker protocol {info.worker_protocol}, this machine "
            f"{PROTOCOL_VERSION}: install the same edge-model-profiler version there "
            f"(edge-model-profiler {info.version} there)"))
    model = ensure_model(target, request.model_path)
    settings = request.settings
    if settings.input_source:
        source = ensure_model(target, settings.input_source, companions=[]).path
        settings = replace(settings, input_source=source)
    local_device = split_target(request.device)[1]
    return info, replace(request, model_path=model.path, device=local_device,
                         settings=settings), model


def _failed(request: MeasureRequest, kind: FailureKind, stage: Any, message: str) -> Run:
    run = failed_run(request, Failure(kind=kind, stage=stage, message=message))
    run.finished = _now()
    return run


def _finish(run: Run, request: MeasureRequest, target_record: dict[str, Any]) -> Run:
    run.device, run.model_path = request.device, request.model_path
    run.config["target"] = target_record
    if request.settings.input_source and run.config.get("input_source"):
        run.config["input_source"] = request.settings.input_source
    run.finished = _now()
    return run


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")


def _target_record(target: Target, info: BoardInfo, supervisor: Supervisor,
                   model: RemoteModel) -> dict[str, Any]:
    """What the report keeps of the board: its name, tool version and environment (no
    destination: a report may be shared; the name is the user's own label)."""
    hello = supervisor.worker_hello
    return {"name": target.name, "tool_version": info.version,
            "environment": info.environment,
            "worker": {"python": hello.python, "platform": hello.platform,
                       "runtimes": dict(hello.runtimes)} if hello else {},
            "model_copied_bytes": model.copied_bytes}


def _named(target: Target, message: str) -> str:
    """Every message of a remote run names the board."""
    return message if message.startswith(f"{target.name}") else f"{target.name}: {message}"


def _shown_device(message: str, request: MeasureRequest, shown: str) -> str:
    return message.replace(f" on {request.device}", f" on {shown}")


def _relabelled(progress: ProgressSink | None, shown: str) -> ProgressSink | None:
    if progress is None:
        return None

    def sink(event: Event) -> None:
        progress(replace(event, device=shown))

    return sink


class _RemoteSupervisor(Supervisor):
    """A Supervisor whose worker is ``ssh``: an exit without a result is ssh's, so the
    reason is the connection's (dropped, refused, no Python there) in plain words."""

    def __init__(self, target: Target, shown: str, *args: Any) -> None:
        super().__init__(*args)
        self.target, self.shown = target, shown

    def _ending(self, request: Request, outcome_type: type[OutcomeT], code: int,
                stderr_tail: list[str]) -> OutcomeT | Failure:
        if self._outcome is not None or self._failure is not None or code == 0:
            return super()._ending(request, outcome_type, code, stderr_tail)
        reason = ssh.explain_failure(self.target, code, "\n".join(stderr_tail))
        if self._stage == "worker":  # never got going: the board could not start a worker
            return self._fail("runtime", reason)
        return self._fail("crash", f"{reason} while {request.where(self._stage)}")
