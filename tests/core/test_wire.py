"""The worker protocol without processes: frames round-trip, a newer peer's extra fields are
ignored, missing fields and other versions are protocol failures, the worker's handshake over
an in-memory transport, and progress that only moves forward with a finite ETA."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import pytest

from profiler.bench.progress import JobProgress, loop_estimate
from profiler.bench.protocol import StopRule, timed_loop
from profiler.bench.requests import MeasureOutcome, MeasureRequest, measure_request
from profiler.bench.wire import (
    PROTOCOL_VERSION,
    Event,
    Failure,
    Hello,
    ProgressEvent,
    ProtocolError,
    StageEvent,
    decode_event,
    decode_failure,
    decode_hello,
    decode_job,
    event_label,
    event_line,
    failure_line,
    hello_line,
    outcome_line,
    read_frame,
    request_line,
)
from profiler.bench.worker import serve
from profiler.records.runs import Run
from tests.core.test_protocol import FakeClock


def test_a_request_round_trips_with_its_settings() -> None:
    request = measure_request("m.onnx", "ort:cpu", threads=2, stop=StopRule(iterations=7),
                              shapes={"x": [1, 4]}, variant="fp16")
    back = decode_job(read_frame(request_line(request)), MeasureRequest, "request")
    assert back == request and back.settings.stop.iterations == 7


def test_events_outcomes_and_failures_round_trip() -> None:
    event = ProgressEvent(stage="latency", fraction=0.5, eta_s=3.0, ci_rel=0.02,
                          ci_target_rel=0.01, samples=40)
    assert decode_event(read_frame(event_line(event))) == event
    assert decode_event(read_frame(event_line(StageEvent(stage="compile")))).stage == "compile"
    failure = Failure(kind="crash", stage="compile", message="boom", signal=11)
    assert decode_failure(read_frame(failure_line(failure))) == failure
    outcome = MeasureOutcome(Run(device="ort:cpu", load_ms=1.5))
    back = decode_job(read_frame(outcome_line("measure", outcome)), MeasureOutcome, "outcome")
    assert back.run.load_ms == 1.5


def test_fields_from_a_newer_peer_are_ignored() -> None:
    line = json.dumps({"v": PROTOCOL_VERSION, "type": "stage", "stage": "load",
                       "board_temperature_c": 51.0})
    assert decode_event(read_frame(line)) == StageEvent(stage="load")


def test_a_missing_field_is_a_protocol_error() -> None:
    line = json.dumps({"v": PROTOCOL_VERSION, "type": "progress", "stage": "latency"})
    with pytest.raises(ProtocolError, match="fraction"):
        decode_event(read_frame(line))


@pytest.mark.parametrize("line, expected", [
    ("not json", "not a protocol frame"),
    ('{"event": "stage"}', "without 'v' and 'type'"),
    (json.dumps({"v": PROTOCOL_VERSION, "type": "telemetry"}), "unknown frame type"),
    (json.dumps({"v": PROTOCOL_VERSION, "type": "stage", "stage": "dance"}), "is not one of"),
])
def test_unreadable_frames_are_protocol_errors(line: str, expected: str) -> None:
    with pytest.raises(ProtocolError, match=expected):
        decode_event(read_frame(line))


def test_another_version_names_both_and_what_to_do() -> None:
    line = json.dumps({"v": PROTOCOL_VERSION + 1, "type": "hello", "role": "worker"})
    with pytest.raises(ProtocolError) as raised:
        decode_hello(read_frame(line))
    assert str(raised.value) == (
        f"the worker speaks protocol {PROTOCOL_VERSION + 1}, this profiler {PROTOCOL_VERSION}: "
        "install the same edge-model-profiler version on both sides")


def test_a_request_of_another_kind_is_refused() -> None:
    request = measure_request("m.onnx", "ort:cpu")
    frame = read_frame(request_line(request).replace('"measure"', '"drift"', 1))
    with pytest.raises(ProtocolError, match="expected a measure request"):
        decode_job(frame, MeasureRequest, "request")


class ListTransport:
    """A scripted peer: lines to receive, and the lines sent."""

    def __init__(self, incoming: list[str]) -> None:
        self.incoming, self.sent = list(incoming), []  # type: list[str], list[str]

    def send(self, line: str) -> None:
        self.sent.append(line)

    def recv(self) -> str | None:
        return self.incoming.pop(0) if self.incoming else None

    def close_send(self) -> None:
        pass


def _handle(request: MeasureRequest, emit: Callable[[Event], None]) -> MeasureOutcome:
    emit(StageEvent(stage="load"))
    return MeasureOutcome(Run(device=request.device, variant=request.variant))


def test_the_worker_says_hello_then_serves_one_request() -> None:
    request = measure_request("m.onnx", "fake:cpu")
    transport = ListTransport([hello_line(Hello(role="parent")), request_line(request)])
    assert serve(transport, MeasureRequest, _handle) == 0
    frames = [read_frame(line) for line in transport.sent]
    assert [f.type for f in frames] == ["hello", "stage", "outcome"]
    hello = decode_hello(frames[0])
    assert hello.role == "worker" and hello.python and "numpy" in hello.runtimes
    assert decode_job(frames[2], MeasureOutcome, "outcome").run.device == "fake:cpu"


def test_the_worker_refuses_a_parent_of_another_version() -> None:
    newer = json.dumps({"v": PROTOCOL_VERSION + 1, "type": "hello", "role": "parent"})
    transport = ListTransport([newer])
    assert serve(transport, MeasureRequest, _handle) == 2
    hello, failure = (read_frame(line) for line in transport.sent)
    assert decode_hello(hello).version == PROTOCOL_VERSION
    refused = decode_failure(failure)
    assert refused.kind == "protocol" and refused.stage == "worker"
    assert refused.message.startswith(f"the parent speaks protocol {PROTOCOL_VERSION + 1}")


def test_a_worker_failure_is_sent_as_a_typed_failure() -> None:
    def failing(request: MeasureRequest, emit: Callable[[Event], None]) -> Failure:
        return Failure(kind="runtime", stage="compile", message="no such device")

    transport = ListTransport([hello_line(Hello(role="parent")),
                               request_line(measure_request("m.onnx", "ov:NPU"))])
    assert serve(transport, MeasureRequest, failing) == 1
    assert decode_failure(read_frame(transport.sent[-1])).message == "no such device"


def test_event_labels_name_variant_and_device() -> None:
    assert event_label(StageEvent(stage="load", device="ov:CPU", variant="fp32")) == "ov:CPU"
    assert event_label(StageEvent(stage="build", variant="fp16", job="build")) == "fp16"
    assert event_label(StageEvent(stage="load", device="ort:cpu", variant="int8-static",
                                  job="measure")) == "int8-static @ ort:cpu"


# progress that tells the truth ---------------------------------------------------------------

def _loop_events(rule: StopRule, costs_ms: Callable[[int], float]) -> list[ProgressEvent]:
    clock, index, events = FakeClock(), [0], []  # type: FakeClock, list[int], list[Event]

    def infer() -> None:
        clock.advance_ms(costs_ms(index[0]))
        index[0] += 1

    timed_loop(infer, rule, events.append, clock)
    return [event for event in events if isinstance(event, ProgressEvent)]


@pytest.mark.parametrize("rule", [StopRule(), StopRule(max_time_s=5.0),
                                  StopRule(iterations=400), StopRule(duration_s=3.0)])
def test_loop_progress_only_moves_forward_with_a_finite_eta(rule: StopRule) -> None:
    events = _loop_events(rule, lambda i: (9.0, 10.0, 11.0, 30.0)[i % 4])
    assert len(events) > 5
    fractions = [event.fraction for event in events]
    assert fractions == sorted(fractions) and fractions[0] >= 0.0 and fractions[-1] <= 1.0
    assert all(event.eta_s is not None and math.isfinite(event.eta_s) and event.eta_s >= 0
               for event in events[1:])
    assert all(event.eta_s is not None and event.eta_s <= rule.max_time_s for event in events)
    assert [event.samples for event in events] == sorted(event.samples for event in events)


def test_adaptive_progress_reports_the_ci_against_its_target() -> None:
    events = _loop_events(StopRule(max_time_s=5.0), lambda i: (9.0, 10.0, 11.0, 30.0)[i % 4])
    with_ci = [event for event in events if event.ci_rel is not None]
    assert with_ci and all(event.ci_target_rel == 0.01 for event in events)


def test_the_eta_follows_the_ci_shrinking_as_one_over_root_n() -> None:
    # 100 samples in 1 s with the CI at 2 % against a 1 % target: 4x the samples, 3 s left
    estimate = loop_estimate(StopRule(), 100, 1.0, 0.02)
    assert estimate.eta_s == pytest.approx(3.0) and estimate.fraction == pytest.approx(0.25)
    capped = loop_estimate(StopRule(max_time_s=2.0), 100, 1.0, 0.02)
    assert capped.eta_s == pytest.approx(1.0)


def test_overall_progress_is_weighted_and_never_goes_back() -> None:
    progress = JobProgress({"load": 1.0, "compile": 1.0, "latency": 8.0})
    assert progress.at("compile") == pytest.approx(0.1)
    assert progress.at("latency", 0.5) == pytest.approx(0.6)
    assert progress.at("compile", 0.5) == pytest.approx(0.6)  # late event: holds still
    assert progress.at("unforeseen") == pytest.approx(0.6)
    assert progress.done() == 1.0
