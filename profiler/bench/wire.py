"""The worker protocol: typed, versioned frames between a parent and a worker, over any
transport that carries lines of text (a pipe today, an SSH channel to a target board later).

A frame is one JSON object on one UTF-8 line, with ``"v"`` (the protocol version) and
``"type"``. The conversation:

    parent -> worker   hello     {v, role: "parent", tool}
    worker -> parent   hello     {v, role: "worker", tool, python, platform, runtimes}
    parent -> worker   request   {v, kind, request: {...}}          (kind: measure|build|drift)
    worker -> parent   stage / progress ...                         (any number)
    worker -> parent   outcome   {v, kind, outcome: {...}}   or   failure {v, kind, stage, ...}

Versioning rule: a peer may add optional fields without changing ``PROTOCOL_VERSION``
(unknown fields are ignored on reading); anything else (a new frame type, stage or kind, a
required field, a changed meaning) bumps it, and two peers of different versions refuse each
other with a ``Failure(kind="protocol")`` naming both versions.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import asdict, field, fields
from typing import Any, ClassVar, Literal, Protocol, TextIO, TypeVar, get_args

from profiler import __version__
from profiler.errors import ProfilerError
from profiler.records.record import record
from profiler.records.serialize import from_dict, to_dict

PROTOCOL_VERSION = 1
MAX_FRAME_CHARS = 64 * 1024 * 1024
"""A measured run with a minute of raw samples is a few MB; more is a broken peer."""

Stage = Literal[
    "worker", "start", "load", "compile", "inputs", "first_inference", "warmup", "latency",
    "throughput", "layers", "build", "compile_reference", "compile_variant", "eval_data",
    "drift", "layer_drift",
]
STAGES: tuple[str, ...] = get_args(Stage)
JobKind = Literal["measure", "build", "drift"]
JOB_KINDS: tuple[str, ...] = get_args(JobKind)
FailureKind = Literal["crash", "timeout", "memory", "cancelled", "protocol", "runtime", "usage"]
FAILURE_KINDS: tuple[str, ...] = get_args(FailureKind)

STAGE_VERBS: dict[str, str] = {
    "worker": "starting the worker", "start": "starting the runtime", "load": "loading",
    "compile": "compiling", "inputs": "preparing inputs",
    "first_inference": "running the first inference", "warmup": "warming up",
    "latency": "measuring latency", "throughput": "measuring throughput",
    "layers": "profiling layers", "build": "building", "compile_reference":
    "compiling the reference", "compile_variant": "compiling the variant",
    "eval_data": "reading evaluation data", "drift": "measuring drift",
    "layer_drift": "comparing layers",
}


class ProtocolError(ProfilerError):
    """A frame this side cannot read (bad JSON, wrong version, missing field): one line."""


def stage_verb(stage: str) -> str:
    return STAGE_VERBS.get(stage, stage)


# --- what travels ---------------------------------------------------------------------------


@record(frozen=True)
class Hello:
    role: Literal["parent", "worker"]
    version: int = PROTOCOL_VERSION
    tool: str = __version__
    """edge-model-profiler version of the sender."""
    python: str = ""
    platform: str = ""
    runtimes: dict[str, str] = field(default_factory=dict)
    """Runtime package versions of the worker (they may differ from the parent's)."""


@record(frozen=True)
class StageEvent:
    """A stage began. ``device``/``variant``/``job``/``overall`` are filled in by the parent."""

    stage: Stage
    detail: str = ""
    """What the stage works on, when the stage alone does not say (the variant being built)."""
    device: str = ""
    variant: str = ""
    job: JobKind = "measure"
    overall: float = 0.0
    """Share of the whole job done, 0..1, weighted by each stage's expected time; never
    decreases within a job."""


@record(frozen=True)
class ProgressEvent:
    """Progress inside a stage (at most a few per second)."""

    stage: Stage
    fraction: float
    """Share of this stage done, 0..1; never decreases within a stage."""
    eta_s: float | None = None
    """Estimated seconds left in this stage; None when there is no basis for one yet."""
    ci_rel: float | None = None
    """Adaptive latency loop: the median's 95 % CI half-width relative to the median."""
    ci_target_rel: float | None = None
    """...and the width it must reach for the loop to stop."""
    samples: int = 0
    message: str = ""
    device: str = ""
    variant: str = ""
    job: JobKind = "measure"
    overall: float = 0.0


Event = StageEvent | ProgressEvent
Emit = Callable[[Event], None]
"""Where a worker's job sends its events."""


@record(frozen=True)
class Failure:
    """Why a job gave no outcome: the kind to branch on, the stage it was in, the signal that
    ended the worker (crashes), and one line for the user."""

    kind: FailureKind
    stage: Stage
    message: str
    signal: int | None = None


class Request(Protocol):
    kind: ClassVar[JobKind]

    @property
    def device(self) -> str: ...
    @property
    def variant(self) -> str: ...
    def where(self, stage: str) -> str:
        """'compiling on ov:CPU': what the job was doing, for messages."""
        ...
    def crashed(self, signal_text: str, stage: str) -> str:
        """The message for a worker that died of a signal."""
        ...
    def stage_weights_s(self) -> dict[str, float]:
        """Expected seconds per stage, in order: the weights of ``overall``."""
        ...


# --- encoding -------------------------------------------------------------------------------


def _line(frame_type: str, body: dict[str, Any]) -> str:
    return json.dumps({"v": PROTOCOL_VERSION, "type": frame_type, **body},
                      ensure_ascii=False, allow_nan=False)


def hello_line(hello: Hello) -> str:
    return _line("hello", to_dict(hello))


def request_line(request: Any) -> str:
    return _line("request", {"kind": request.kind, "request": to_dict(request)})


def event_line(event: Event) -> str:
    frame_type = "stage" if isinstance(event, StageEvent) else "progress"
    return _line(frame_type, to_dict(event))


def outcome_line(kind: JobKind, outcome: Any) -> str:
    return _line("outcome", {"kind": kind, "outcome": to_dict(outcome)})


def failure_line(failure: Failure) -> str:
    return _line("failure", {"failure": to_dict(failure)})


# --- decoding -------------------------------------------------------------------------------


@record(frozen=True)
class Frame:
    type: str
    body: dict[str, Any]


FRAME_TYPES = ("hello", "request", "stage", "progress", "outcome", "failure")
T = TypeVar("T")


def version_message(peer: str, theirs: object) -> str:
    return (f"the {peer} speaks protocol {theirs}, this profiler {PROTOCOL_VERSION}: install "
            f"the same edge-model-profiler version on both sides")


def read_frame(line: str, peer: str = "worker") -> Frame:
    """One line -> Frame; ProtocolError when it is not a frame of this version."""
    if len(line) > MAX_FRAME_CHARS:
        raise ProtocolError(f"the {peer} sent a frame of {len(line)} characters; the limit is "
                            f"{MAX_FRAME_CHARS}")
    try:
        data = json.loads(line)
    except json.JSONDecodeError:
        raise ProtocolError(f"the {peer} sent a line that is not a protocol frame: "
                            f"{line.strip()[:80]!r}") from None
    if not isinstance(data, dict) or "v" not in data or "type" not in data:
        raise ProtocolError(f"the {peer} sent a frame without 'v' and 'type': "
                            f"{line.strip()[:80]!r}")
    if data["v"] != PROTOCOL_VERSION:
        raise ProtocolError(version_message(peer, data["v"]))
    if data["type"] not in FRAME_TYPES:
        raise ProtocolError(f"the {peer} sent an unknown frame type {data['type']!r}")
    return Frame(str(data["type"]), data)


def _typed(cls: type[T], data: Any, what: str) -> T:
    try:
        value = from_dict(cls, data, where=what)
    except ProfilerError as error:
        raise ProtocolError(f"unreadable {error}") from None
    _check_literals(value, what)
    return value


_LITERALS: dict[str, tuple[str, ...]] = {"stage": STAGES, "job": JOB_KINDS}


def _check_literals(value: Any, what: str) -> None:
    allowed_kinds = FAILURE_KINDS if isinstance(value, Failure) else None
    for item in fields(value):
        allowed = allowed_kinds if item.name == "kind" else _LITERALS.get(item.name)
        if allowed is not None and getattr(value, item.name) not in allowed:
            raise ProtocolError(f"unreadable {what}: {item.name} "
                                f"{getattr(value, item.name)!r} is not one of {', '.join(allowed)}")


def decode_hello(frame: Frame, peer: str = "worker") -> Hello:
    if frame.type != "hello":
        raise ProtocolError(f"the {peer} sent {frame.type!r} before 'hello'")
    return _typed(Hello, frame.body, f"{peer} hello")


def decode_event(frame: Frame) -> Event:
    if frame.type == "stage":
        return _typed(StageEvent, frame.body, "stage event")
    return _typed(ProgressEvent, frame.body, "progress event")


def decode_failure(frame: Frame) -> Failure:
    return _typed(Failure, frame.body.get("failure"), "failure")


def decode_job(frame: Frame, cls: type[T], key: Literal["request", "outcome"]) -> T:
    """The request or outcome of a frame, which must be of ``cls``'s job kind."""
    kind = getattr(cls, "kind", None)
    if frame.type != key or frame.body.get("kind") != kind:
        raise ProtocolError(f"expected a {kind} {key}, got {frame.type!r} of kind "
                            f"{frame.body.get('kind')!r}")
    return _typed(cls, frame.body.get(key), f"{kind} {key}")


def label_event(event: Event, request: Request, overall: float) -> Event:
    """The event as the parent passes it on: whose it is, and the whole job's share done."""
    values = asdict(event)
    values.update(device=request.device, variant=request.variant, job=request.kind,
                  overall=overall)
    return type(event)(**values)


def event_label(event: Event) -> str:
    """'ov:CPU' for a plain measurement, 'int8-static @ ort:cpu' for a variant's job."""
    if event.job == "measure" and event.variant in ("", "fp32"):
        return event.device
    return f"{event.variant} @ {event.device}" if event.device else event.variant


_JOB_STARTS = {"build": "building the variant", "drift": "measuring drift"}


def stage_text(event: Event) -> str:
    """The stage in words; a job's first stage says which job it is."""
    if event.stage == "worker" and event.job in _JOB_STARTS:
        return _JOB_STARTS[event.job]
    if event.stage == "worker" and event.variant not in ("", "fp32"):
        return "measuring the variant"
    return stage_verb(event.stage)



def event_text(event: Event) -> str:
    """'measuring latency, CI ±1.8 % (target ±1 %), ~12 s left'."""
    parts = [stage_text(event)]
    if isinstance(event, ProgressEvent):
        if event.ci_rel is not None and event.ci_target_rel is not None:
            parts.append(f"CI ±{100 * event.ci_rel:.1f} % "
                         f"(target ±{100 * event.ci_target_rel:g} %)")
        if event.eta_s is not None:
            parts.append(f"~{event.eta_s:.0f} s left")
    return ", ".join(parts)

# --- transport ------------------------------------------------------------------------------


class Transport(Protocol):
    """Lines of text both ways; a pipe pair, or later an SSH channel."""

    def send(self, line: str) -> None: ...
    def recv(self) -> str | None:
        """The next line without its newline; None once the peer closed its side."""
        ...
    def close_send(self) -> None: ...


class StreamTransport:
    """A Transport over two text streams (a worker's stdin and its private stdout)."""

    def __init__(self, reader: TextIO, writer: TextIO) -> None:
        self._reader, self._writer = reader, writer

    def send(self, line: str) -> None:
        self._writer.write(line + "\n")
        self._writer.flush()

    def recv(self) -> str | None:
        line = self._reader.readline(MAX_FRAME_CHARS + 1)
        return line.rstrip("\n") if line else None

    def close_send(self) -> None:
        self._writer.close()


def worker_hello() -> Hello:
    from profiler.environment import runtime_versions

    return Hello(role="worker", python=platform.python_version(),
                 platform=platform.platform(), runtimes=runtime_versions())


def accept(transport: Transport, request_type: type[T]) -> T | Failure:
    """The worker's side of the handshake: the parent's hello, ours, then the request.
    A Failure (already sent) when the parent speaks another version or sends no request."""
    try:
        line = transport.recv()
        if line is None:
            raise ProtocolError("the parent closed the connection before saying hello")
        decode_hello(read_frame(line, "parent"), "parent")
    except ProtocolError as error:
        return _refuse(transport, str(error), worker_hello())
    transport.send(hello_line(worker_hello()))
    try:
        line = transport.recv()
        if line is None:
            raise ProtocolError("the parent closed the connection before sending a request")
        return decode_job(read_frame(line, "parent"), request_type, "request")
    except ProtocolError as error:
        return _refuse(transport, str(error), None)


def _refuse(transport: Transport, message: str, hello: Hello | None) -> Failure:
    failure = Failure(kind="protocol", stage="worker", message=message)
    if hello is not None:
        transport.send(hello_line(hello))
    transport.send(failure_line(failure))
    return failure
