"""High-level entry points shared by the CLI and the desktop app."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import field, replace
from typing import TYPE_CHECKING

from profiler.errors import ModelLoadError
from profiler.model.input_settings import InputSettings, with_shapes
from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo
from profiler.records.record import record
from profiler.records.report import Report
from profiler.sandbox import run_isolated

if TYPE_CHECKING:
    from profiler.bench.profile import ProfileOptions
    from profiler.bench.supervisor import CancelToken, ProgressSink
    from profiler.quant.session import QuantizeOptions
    from profiler.report.compare import Comparison


def analyze_model(
    path: str,
    shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
    input_values: Mapping[str, Sequence[float | int]] | None = None,
    inputs: InputSettings | None = None,
    cancel: CancelToken | None = None,
) -> Report:
    """Load ``path`` and build a report holding its static analysis (no runtime involved).

    ``input_values`` give flat values for some inputs (``{"sr": [16000]}``): branches whose
    condition they decide are counted as they would run. ``inputs`` are the user's input
    settings (shapes, values, ranges); every input records how its values are made.
    Parsing and analysis run in a sandboxed child (profiler.sandbox): a file that crashes a
    parser raises ModelLoadError here and leaves this process as it was. Setting ``cancel``
    stops the child at once (Cancelled).
    """
    from profiler.analysis.file_analysis import analyze_file_in_parts, join_layer_parts
    from profiler.environment import environment

    settings = with_shapes(inputs, shape_overrides)
    values = {name: list(v) for name, v in (input_values or {}).items()}
    machine = environment()  # first: a prestarted child is still importing meanwhile
    answer = run_isolated(analyze_file_in_parts, (path, settings, values), path, cancel=cancel)
    try:
        info, analysis, parts = answer
        if not (isinstance(info, ModelInfo) and isinstance(analysis, StaticAnalysis) and
                isinstance(parts, list)):
            raise TypeError("not a model, an analysis and its layers")
        analysis = join_layer_parts(analysis, parts)
    except (TypeError, ValueError) as error:
        raise ModelLoadError(path, f"the analysis gave no report (internal error: {error})"
                             ) from None
    return Report(environment=machine, model=info, analysis=analysis)


def analyze_model_here(
    path: str,
    settings: InputSettings | None = None,
    input_values: Mapping[str, Sequence[float | int]] | None = None,
) -> Report:
    """``analyze_model`` in this process, without the sandbox (benchmarks, tests)."""
    from profiler.analysis.file_analysis import analyze_file
    from profiler.environment import environment

    info, analysis = analyze_file(path, settings, input_values)
    return Report(environment=environment(), model=info, analysis=analysis)


# One flow per use case: the CLI and the app both call these. ------------------------------

RunSink = Callable[[Report], None]
"""Called after each device's run with the report so far (a copy: the flow goes on)."""


@record
class ProfileResult:
    report: Report
    cancelled: bool = False
    saved_run_ids: list[int] = field(default_factory=list)
    history_error: str = ""
    """Why the runs were not saved ('' when saved or not asked to)."""


def profile(model_path: str, devices: Sequence[str], options: ProfileOptions | None = None,
            shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
            progress: ProgressSink | None = None, cancel: CancelToken | None = None,
            on_run: RunSink | None = None, save_history: bool = False,
            backend_factory: str = "", worker_argv: Sequence[str] | None = None
            ) -> ProfileResult:
    """Static analysis, then one measured Run per device, one device after the other
    (``on_run`` after each); the runs go to the history when asked and not cancelled.
    ``backend_factory`` ('module:callable') swaps the workers' backends (tests)."""
    report = measure_devices(model_path, devices, options, shape_overrides, progress, cancel,
                             on_run, backend_factory, worker_argv)
    cancelled = cancel is not None and cancel.is_set()
    result = ProfileResult(report, cancelled)
    if save_history and not cancelled:
        result.saved_run_ids, result.history_error = save_to_history(report)
    return result


def measure_devices(model_path: str, devices: Sequence[str],
                    options: ProfileOptions | None = None,
                    shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
                    progress: ProgressSink | None = None, cancel: CancelToken | None = None,
                    on_run: RunSink | None = None, backend_factory: str = "",
                    worker_argv: Sequence[str] | None = None) -> Report:
    """The measuring part of ``profile``: every device in its own worker process."""
    from profiler.bench.profile import (
        ProfileOptions,
        build_jobs,
        check_options,
        concrete_shapes,
        input_rules,
        input_settings,
        mark_file_inputs,
        profile_jobs,
    )
    from profiler.remote.runner import measure_job, note_targets

    options = options or ProfileOptions()
    check_options(options)
    report = analyze_model(model_path, inputs=input_settings(options, shape_overrides))
    assert report.model is not None
    if options.input_source:
        mark_file_inputs(report.model.inputs, options.input_source)
    jobs = build_jobs(model_path, devices, concrete_shapes(report.model.inputs), options,
                      report.model.file_bytes, input_rules(report.model.inputs),
                      backend_factory)
    report.runs = profile_jobs(
        jobs, options.limits, progress, cancel, worker_argv, measure=measure_job,
        on_run=None if on_run is None else lambda runs: on_run(replace(report, runs=runs)))
    report.errors += [f"{run.device}: {run.error.message}" for run in report.runs if run.error]
    note_targets(report)
    return report


def quantize_model(model_path: str, options: QuantizeOptions,
                   shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
                   progress: ProgressSink | None = None,
                   cancel: CancelToken | None = None) -> Report:
    """Static analysis, the FP32 reference and every variant measured, in one Report."""
    from profiler.bench.profile import input_settings
    from profiler.quant.session import quantize_report, require_devices

    require_devices(options)
    report = analyze_model(model_path, inputs=input_settings(options.profile, shape_overrides))
    return quantize_report(report, model_path, options, progress, cancel)


def save_to_history(report: Report) -> tuple[list[int], str]:
    """The report's runs into the history store: (their ids, '') or ([], why not)."""
    from profiler.errors import ProfilerError
    from profiler.history.store import HistoryStore

    try:
        return list(HistoryStore().save_report(report)), ""
    except ProfilerError as error:
        return [], str(error)


def quantize(model_path: str, options: QuantizeOptions,
             shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
             progress: ProgressSink | None = None, cancel: CancelToken | None = None,
             save_history: bool = False) -> ProfileResult:
    """Static analysis, the FP32 reference and every variant measured, in one Report."""
    report = quantize_model(model_path, options, shape_overrides, progress, cancel)
    cancelled = cancel is not None and cancel.is_set()
    result = ProfileResult(report, cancelled)
    if save_history and not cancelled:
        result.saved_run_ids, result.history_error = save_to_history(report)
    return result


def compare(a: Report, b: Report, a_name: str = "A", b_name: str = "B",
            top: int | None = None) -> Comparison:
    """Runs of ``b`` against the matching runs of ``a`` (per device, then per layer)."""
    from profiler.report.compare import DEFAULT_TOP_LAYERS, compare_reports

    return compare_reports(a, b, a_name, b_name, top=DEFAULT_TOP_LAYERS if top is None else top)
