"""A document's run list (no widgets): runs accumulate, repeats are told apart, re-measuring
the reference says so, Cancel gives cancelled / skipped, and quantize pairs that were not
measured carry their reason."""

from __future__ import annotations

import datetime as _dt

from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import Run, RunError
from profiler.records.variants import Variant
from tests.helpers import latency
from ui.runs_data import (
    CANCELLED,
    FAILED,
    NOT_STARTED,
    OK,
    ONNX_ON_OPENVINO,
    RUNNING,
    SKIPPED,
    WAITING,
    RunKey,
    RunList,
    run_status,
    status_summary,
    time_text,
    unmeasured_reasons,
)

UTC = _dt.timezone.utc
TODAY = _dt.date(2025, 3, 1)
MODEL = ModelInfo(path="/m/net.onnx", name="net.onnx", format="onnx", sha256="ab" * 32)


def measured(device: str, p50_ms: float, finished: str, variant: str = "fp32") -> Run:
    return Run(device, variant=variant, latency=latency([p50_ms] * 5), finished=finished)


def failed(device: str, message: str, variant: str = "fp32") -> Run:
    return Run(device, variant=variant, error=RunError("compile", message))


def run_list() -> RunList:
    return RunList(today=TODAY, tz=UTC)


def test_runs_accumulate_and_repeats_are_numbered() -> None:
    runs = run_list()
    runs.add_report(Report(model=MODEL, runs=[measured("ov:CPU", 73.1, "2025-03-01T23:41:00Z"),
                                             measured("ov:AUTO", 70.0, "2025-03-01T23:42:00Z")]))
    notes = runs.add_report(Report(model=MODEL, runs=[
        measured("ov:CPU", 96.0, "2025-03-01T23:55:10Z")]), source="quantize")
    labels = [runs.label(entry) for entry in runs.entries]
    assert labels == ["ov:CPU fp32, 23:41", "ov:AUTO fp32, 23:42", "ov:CPU fp32 #2, 23:55"]
    assert notes == ["FP32 on ov:CPU measured again: 73.1 -> 96.0 ms (+31 %); both runs are kept"]
    assert runs.notes == notes
    assert [entry.status for entry in runs.entries] == [OK, OK, OK]


def test_the_same_run_reopened_is_listed_once() -> None:
    report = Report(model=MODEL, runs=[measured("ort:cpu", 8.0, "2025-03-01T10:00:00Z")])
    runs = run_list()
    runs.add_report(report, "history")
    assert runs.add_report(report, "history") == []
    assert len(runs.entries) == 1


def test_two_presses_finishing_within_one_second_keep_both_runs() -> None:
    """A run a batch measured is new even when its device, variant and time match an
    earlier one (a fast model measured twice within a second): nothing replaced silently."""
    runs = run_list()
    for p50_ms in (8.0, 9.0):
        batch = runs.start_batch([("ort:cpu", "fp32")], "profile")
        runs.finish_run(batch, measured("ort:cpu", p50_ms, "2025-03-01T10:00:00+00:00"), MODEL)
    assert [(e.status, e.p50_ms) for e in runs.entries] == [("ok", 8.0), ("ok", 9.0)]
    assert any("measured again" in note for note in runs.notes)


def test_runs_of_old_reports_take_the_report_time() -> None:
    runs = run_list()
    runs.add_report(Report(created="2025-02-27T08:05:00+00:00", model=MODEL,
                           runs=[measured("ov:CPU", 5.0, "")]))
    assert runs.entries[0].key.finished == "2025-02-27T08:05:00+00:00"
    assert runs.label(runs.entries[0]) == "ov:CPU fp32, 2025-02-27 08:05"


def test_time_text_today_older_and_unknown() -> None:
    assert time_text("2025-03-01T23:41:09+00:00", TODAY, UTC) == "23:41"
    assert time_text("2025-02-28T23:41:09+00:00", TODAY, UTC) == "2025-02-28 23:41"
    assert time_text("not a time", TODAY, UTC) == ""
    assert time_text("", TODAY, UTC) == ""


def test_visibility_and_chart_report() -> None:
    runs = run_list()
    report = Report(model=MODEL, runs=[measured("ov:CPU", 6.0, "2025-03-01T10:00:00Z"),
                                       measured("ort:cpu", 8.0, "2025-03-01T10:01:00Z"),
                                       failed("ov:GPU.0", "device lost")])
    runs.add_report(report)
    gpu = runs.entries[2]
    assert gpu.status == FAILED and not gpu.visible and gpu.note == "device lost"
    cpu_key = runs.entries[0].key
    assert runs.set_visible(cpu_key, False)
    assert not runs.set_visible(cpu_key, False)
    assert [run.device for run in runs.chart_report(report).runs] == ["ort:cpu"]
    assert [run.device for run in report.runs] == ["ov:CPU", "ort:cpu", "ov:GPU.0"]
    assert runs.visible_keys() == [runs.entries[1].key]


def test_compare_pair_needs_exactly_two_measured_runs() -> None:
    runs = run_list()
    runs.add_report(Report(model=MODEL, runs=[measured("ov:CPU", 6.0, "2025-03-01T10:00:00Z"),
                                              measured("ort:cpu", 8.0, "2025-03-01T10:01:00Z")]))
    batch = runs.start_batch([("ov:GPU.0", "fp32")], "profile")
    first, second, waiting = (entry.key for entry in runs.entries)
    pair = runs.compare_pair([second, first])
    assert pair is not None and [e.key for e in pair] == [first, second]
    assert runs.compare_pair([first]) is None
    assert runs.compare_pair([first, second, waiting]) is None
    assert runs.compare_pair([first, waiting]) is None
    assert waiting.batch == batch


def test_a_batch_fills_its_pairs_in_place() -> None:
    runs = run_list()
    batch = runs.start_batch([("ov:CPU", "fp32"), ("ort:cpu", "fp32")], "profile")
    assert [entry.status for entry in runs.entries] == [WAITING, WAITING]
    runs.mark_running(batch, "ov:CPU", "fp32")
    assert runs.entries[0].status == RUNNING
    runs.finish_run(batch, measured("ort:cpu", 8.0, "2025-03-01T10:01:00Z"), MODEL)
    assert [(e.key.device, e.status) for e in runs.entries] == [("ov:CPU", RUNNING),
                                                                ("ort:cpu", OK)]
    assert runs.entries[1].source == "profile" and runs.entries[1].model is MODEL


def test_cancel_gives_cancelled_and_skipped_not_failed() -> None:
    runs = run_list()
    batch = runs.start_batch([("ov:CPU", "fp32"), ("ort:cpu", "fp32"), ("ov:GPU", "fp32")],
                             "profile")
    runs.finish_run(batch, measured("ov:CPU", 6.0, "2025-03-01T10:00:00Z"), MODEL)
    runs.mark_running(batch, "ort:cpu", "fp32")
    cancelled = failed("ort:cpu", "cancelled while measuring latency on ort:cpu")
    runs.finish_run(batch, cancelled, MODEL)
    runs.end_batch(batch, cancelled=True)
    statuses = [entry.status for entry in runs.entries]
    assert statuses == [OK, CANCELLED, SKIPPED]
    assert runs.entries[2].note == NOT_STARTED
    assert status_summary(statuses) == "1 ok, 1 cancelled, 1 skipped"


def test_a_running_pair_without_a_run_is_cancelled_by_cancel() -> None:
    runs = run_list()
    batch = runs.start_batch([("ov:CPU", "fp32")], "quantize")
    runs.mark_running(batch, "ov:CPU", "fp32")
    runs.end_batch(batch, cancelled=True)
    assert runs.entries[0].status == CANCELLED


def test_run_status_mapping() -> None:
    assert run_status(None) == WAITING
    assert run_status(None, started=True) == RUNNING
    assert run_status(None, batch_over=True) == SKIPPED
    assert run_status(failed("ov:CPU", "cancelled while compiling on ov:CPU")) == CANCELLED
    assert run_status(failed("ov:CPU", "GPU plugin: device lost")) == FAILED
    layers_only = measured("ov:CPU", 5.0, "")
    layers_only.error = RunError("layers", "profiling not supported")
    assert run_status(layers_only) == OK


def test_unmeasured_quantize_pairs_carry_their_reason() -> None:
    report = Report(model=MODEL, runs=[
        measured("ort:cpu", 8.0, "t1"), measured("ov:CPU", 6.0, "t2"),
        measured("ort:cpu", 4.0, "t3", "int8-static"), measured("ov:CPU", 3.0, "t4", "ov-int8")],
        variants=[Variant(id="fp32", format="onnx"), Variant(id="int8-static", format="onnx"),
                  Variant(id="ov-int8", format="openvino-ir"),
                  Variant(id="int8-dynamic", format="onnx", error="no calibration data")])
    reasons = unmeasured_reasons(report, ["int8-static", "ov-int8", "int8-dynamic", "fp16"],
                                 ["ort:cpu", "ov:CPU"], cancelled=True)
    assert reasons == {
        ("ov:CPU", "int8-static"): ONNX_ON_OPENVINO,
        ("ort:cpu", "int8-dynamic"): "the variant could not be built: no calibration data",
        ("ov:CPU", "int8-dynamic"): ONNX_ON_OPENVINO,
        ("ort:cpu", "fp16"): "cancelled before it was built",
        ("ov:CPU", "fp16"): "cancelled before it was built",
    }
    crossed = unmeasured_reasons(report, ["int8-static"], ["ov:CPU"], cross_runtime=True)
    assert crossed == {("ov:CPU", "int8-static"): "not measured"}


def test_skipped_pairs_are_listed_with_the_reason() -> None:
    runs = run_list()
    batch = runs.start_batch([("ov:CPU", "fp32")], "quantize")
    runs.add_skipped(batch, "ov:CPU", "int8-static", ONNX_ON_OPENVINO, "quantize")
    runs.finish_run(batch, measured("ov:CPU", 6.0, "2025-03-01T10:00:00Z"), MODEL)
    runs.end_batch(batch)
    assert [(e.key.variant, e.status, e.note) for e in runs.entries] == [
        ("fp32", OK, ""), ("int8-static", SKIPPED, ONNX_ON_OPENVINO)]
    assert RunKey("ov:CPU", "int8-static", "", batch) == runs.entries[1].key
