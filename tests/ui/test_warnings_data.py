"""Every warning of a document collected (no widgets): classified, in app words (no
command-line flags), each with the action that addresses it."""

from __future__ import annotations

from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import LatencyStats, Run, RunError
from profiler.records.variants import Variant
from tests.helpers import latency
from ui.app_words import app_text
from ui.warnings_data import (
    ERROR,
    INFO,
    LONGER_RUN,
    PIN_CPUS,
    REPROFILE,
    SET_INPUTS,
    document_warnings,
    note_warnings,
    summary_text,
)

NOISY = ("noisy run: CV 16.0 % (> 10 %); close other programs or pin the run with --cpus")
TIME_CAP = ("the median did not settle within ±2 % before the time cap (12.0 s, 150 samples); "
            "raise --max-time or give --iterations")
GUESSED = ("input 'input_ids': values guessed (integers in [0, 100): nothing bounds them); set "
           "a valid range with --input-range input_ids=LO:HI")
DYNAMIC = ("input 'pixel_values' is dynamic ([batch, 3, H, W]); analysed at [1, 3, 224, 224] "
           "(set another size with --shape pixel_values=...)")
UNKNOWN = ("2 node(s) have output sizes that could not be computed from the input shapes, e.g. "
           "'r1', 'r2': shown as unknown (?)")
COVERAGE = ("per-layer times sum to 62 % of the end-to-end median: the layer figures are "
            "distorted (time outside the layers: runtime overhead, thread wake-ups, copies); "
            "compare layers with each other, not with the total")


def noisy_report() -> Report:
    model = ModelInfo(path="/m/bert.onnx", name="bert.onnx", format="onnx",
                      warnings=[GUESSED, DYNAMIC, UNKNOWN])
    analysis = StaticAnalysis(unsupported_ops={"MyOp": 3}, unknown_shape_nodes=["r1", "r2"],
                              notes=["loop: trip count unknown; body counted once"])
    capped = LatencyStats(count=150, stop_reason="time_cap")
    runs = [Run("ov:CPU", latency=latency([5.0] * 5), warnings=[NOISY, COVERAGE]),
            Run("ort:cpu", latency=capped, warnings=[TIME_CAP]),
            Run("ov:GPU.0", error=RunError("compile", "GPU plugin: device lost")),
            Run("ov:NPU", error=RunError("compile", "cancelled while compiling on ov:NPU"))]
    variants = [Variant(id="int8-static", warnings=["calibrated on random data"])]
    return Report(model=model, analysis=analysis, runs=runs, variants=variants,
                  errors=["ov:GPU.0: GPU plugin: device lost", "size reference failed"])


def test_every_kind_is_classified_with_its_action() -> None:
    found = {(w.kind, w.action, w.payload) for w in document_warnings(noisy_report())}
    assert found == {
        ("guessed_inputs", SET_INPUTS, "input_ids"),
        ("defaulted_shape", SET_INPUTS, "pixel_values"),
        ("unknown_shapes", SET_INPUTS, ""),
        ("unsupported_ops", "", ""),
        ("analysis_note", "", ""),
        ("noisy_run", PIN_CPUS, "ov:CPU"),
        ("coverage", "", "ov:CPU"),
        ("time_cap", LONGER_RUN, "ort:cpu"),
        ("failed_run", REPROFILE, "ov:GPU.0"),
        ("variant", "", ""),
        ("report_error", "", ""),
    }


def test_errors_come_first_and_cancel_is_no_warning() -> None:
    warnings = document_warnings(noisy_report())
    assert [w.severity for w in warnings[:2]] == [ERROR, ERROR]
    assert warnings[0].text == "ov:GPU.0 fp32 failed: GPU plugin: device lost."
    assert not any("ov:NPU" in w.text for w in warnings)
    assert sum("device lost" in w.text for w in warnings) == 1


def test_no_command_line_flag_reaches_the_user() -> None:
    texts = [w.text for w in document_warnings(noisy_report())]
    assert not any("--" in text for text in texts)
    noisy = next(text for text in texts if text.startswith("ov:CPU fp32: Noisy run"))
    assert "pin the run to a few CPUs (Profile panel: CPUs)" in noisy
    capped = next(text for text in texts if "time cap" in text)
    assert "allow a longer run (Profile panel: Stop, max time)" in capped
    guessed = next(text for text in texts if "values guessed" in text)
    assert "set a range for input_ids in Inputs" in guessed


def test_app_text_keeps_the_inputs_wording() -> None:
    assert app_text("give one with --shape sr=DIMxDIM...") == "set the shape of sr in Inputs"
    assert app_text("raise --max-time") == "raise the max time (Profile panel: Stop)"


def test_runs_beyond_the_report_and_notes() -> None:
    report = Report(runs=[])
    extra = [Run("ov:CPU", latency=latency([5.0] * 5), warnings=[NOISY])]
    notes = note_warnings(["FP32 on ov:CPU measured again: 73.1 -> 96.0 ms (+31 %); both runs "
                           "are kept"])
    warnings = document_warnings(report, runs=extra, extra=notes)
    assert [w.kind for w in warnings] == ["noisy_run", "run_note"]
    assert warnings[1].severity == INFO and warnings[1].text.endswith("kept.")


def test_summary_text() -> None:
    warnings = document_warnings(noisy_report())
    assert summary_text(warnings) == "2 errors, 9 warnings"
    assert summary_text(warnings[2:3]) == "1 warning"
    assert summary_text([]) == "No warnings"
