"""``edgeprof-cli devices``, ``profile`` and ``compare``: the commands that touch runtimes.

Heavy imports (runtimes, numpy) happen inside the command functions, so ``--help`` stays fast.
Exit codes as defined in profiler.cli_common: 0 ok; 1 any run failed (the report is still
written); 2 usage error (a device that cannot read the model included); 3 a budget exceeded
while every run succeeded.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, TextIO

from profiler.cli_common import (
    EXIT_BUDGET,
    EXIT_FAILED,
    EXIT_OK,
    check_output,
    escape_controls,
    latency_ms,
    memory_size,
    note,
    positive_count,
    say,
    seconds,
    seed_value,
    terminal_safe,
    thread_count,
    top_count,
)

if TYPE_CHECKING:
    from profiler.bench.profile import ProfileOptions
    from profiler.bench.wire import Event
    from profiler.records.report import Report
    from profiler.records.runs import Run
    from profiler.runtime.devices import DeviceInfo

DEFAULT_DEVICE = "ov:CPU"
BAR_WIDTH = 24


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    _add_devices(subparsers)
    _add_profile(subparsers)
    _add_compare(subparsers)


# devices -------------------------------------------------------------------------------------

def _add_devices(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "devices", help="list the devices the installed runtimes offer",
        description="List the devices (ov:CPU, ort:cpu, ...) the installed runtimes report.")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--model", metavar="FILE",
                        help="say which devices can run this model file (by its format)")
    parser.add_argument("--target", metavar="NAME",
                        help="list the devices of a target board (see `edgeprof-cli targets`)")
    parser.set_defaults(command=_run_devices)


def _run_devices(args: argparse.Namespace) -> int:
    import json

    from profiler.environment import cpu_info
    from profiler.records.serialize import to_dict
    from profiler.runtime.devices import devices_for_format, discover, model_format

    if args.target:
        from profiler.cli_remote import run_remote_devices

        return run_remote_devices(args)
    (devices, notes), cpu = discover(), cpu_info()
    refused = devices_for_format(devices, model_format(args.model))[1] if args.model else {}
    if args.json:
        print(json.dumps({"devices": to_dict(devices), "cpu": cpu, "notes": notes,
                          "cannot_run_model": refused}, indent=1))
        return EXIT_OK
    for text in notes:  # a runtime that is missing or broken: say so, the rest still lists
        note(f"note: {text}")
    say(_devices_table(devices, refused if args.model else None))
    say(f"\nCPU: {cpu['name']} ({cpu['architecture']}), {cpu['physical_cores']} cores / "
        f"{cpu['logical_cores']} threads, {cpu['usable_cores']} usable")
    say(f"ISA: {' '.join(cpu['isa_flags']) or '-'}")
    return EXIT_OK


def _devices_table(devices: list[DeviceInfo], refused: dict[str, str] | None) -> str:
    """The device table; with a model, a column saying whether each device can run it."""
    from profiler.report.compare import text_table

    headers = ["id", "name", "type", "capabilities"]
    rows = [[d.id, d.name, d.type, ", ".join(d.capabilities)] for d in terminal_safe(devices)]
    if refused is not None:
        headers.append("this model")
        for row, device in zip(rows, devices, strict=True):
            row.append(refused.get(device.id, "yes").split(": ", 1)[-1])
    return "\n".join(text_table(headers, rows))


# profile -------------------------------------------------------------------------------------

def _add_profile(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "profile", help="measure latency, throughput, memory and per-layer time on devices",
        description="Measure a model on one or more devices, each in its own worker process.")
    from profiler.cli_inputs import add_input_options
    parser.add_argument("model", help="model file: .onnx, OpenVINO .xml (with its .bin), .tflite")
    parser.add_argument("--device", action="append", default=[], metavar="ID",
                        help=f"device id, repeatable (default {DEFAULT_DEVICE}); "
                             "see `edgeprof-cli devices`")
    add_input_options(parser)
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--iterations", type=positive_count, metavar="N",
                      help="timed runs (fixed count)")
    stop.add_argument("--duration", type=seconds, metavar="S",
                      help="seconds of timed runs (throughput mode: seconds measured)")
    parser.add_argument("--max-time", type=seconds, default=60.0, metavar="S",
                        help="cap of the default adaptive stop (median's 95%% CI within "
                             "±1%%, after at least 10 samples and 1 s; default 60 s)")
    parser.add_argument("--mode", choices=("latency", "throughput"), default="latency",
                        help="latency: one request at a time; throughput: parallel requests, FPS")
    parser.add_argument("--threads", type=thread_count, metavar="N", help="inference threads")
    parser.add_argument("--cpus", metavar="LIST", help="CPU affinity of the worker, e.g. 0-3,6")
    parser.add_argument("--precision", choices=("f32", "bf16", "f16"),
                        help="inference precision hint (OpenVINO)")
    parser.add_argument("--input", metavar="FILE", help="input data: .npy (one input) or .npz")
    parser.add_argument("--seed", type=seed_value, default=0, help="seed of the random inputs")
    parser.add_argument("--layers", action=argparse.BooleanOptionalAction, default=True,
                        help="per-layer pass after the latency pass (default on)")
    parser.add_argument("--timeout", type=seconds, default=300.0, metavar="S",
                        help="stop a device run when its worker is silent this long "
                             "(default 300 s)")
    parser.add_argument("--memory-limit", type=memory_size, metavar="SIZE",
                        help="stop a device run whose worker's resident memory exceeds SIZE, "
                             "e.g. 4G, 512M or none (default: 80%% of the RAM available)")
    parser.add_argument("--max-latency-ms", type=latency_ms, metavar="X",
                        help="exit 3 when any run's median latency exceeds X ms")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report; format from extension: .json .csv .md .html")
    parser.add_argument("--history", action=argparse.BooleanOptionalAction, default=True,
                        help="save the runs to the history (`edgeprof-cli history`; default on)")
    parser.set_defaults(command=_run_profile)


def profile_options(args: argparse.Namespace) -> ProfileOptions:
    from profiler.bench.profile import ProfileOptions, parse_cpus
    from profiler.bench.protocol import DEFAULT_THROUGHPUT_S, StopRule
    from profiler.bench.supervisor import Limits, parse_memory_limit
    from profiler.cli_inputs import value_options
    from profiler.errors import UsageError
    from profiler.processes import default_memory_limit_bytes

    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    throughput = args.mode == "throughput"
    return ProfileOptions(
        mode=args.mode, threads=args.threads, precision=args.precision,
        cpus=parse_cpus(args.cpus) if args.cpus else None, input_source=args.input,
        seed=args.seed, layers=args.layers, **value_options(args),
        limits=Limits(timeout_s=args.timeout, memory_limit_bytes=parse_memory_limit(
            args.memory_limit) if args.memory_limit else default_memory_limit_bytes()),
        stop=StopRule(iterations=args.iterations,
                      duration_s=None if throughput else args.duration,
                      max_time_s=args.max_time),
        throughput_seconds=args.duration if throughput and args.duration else
        DEFAULT_THROUGHPUT_S,
    )


def check_devices(devices: list[str]) -> None:
    from profiler.remote.runner import available_devices
    from profiler.runtime.devices import check_device

    available = available_devices(devices)  # a target's own list for 'pi5/ov:CPU'
    for device in devices:
        check_device(device, available)


def check_formats(devices: list[str], model_path: str) -> None:
    """Before any work: every device's runtime reads the model's format (exit 2 if not)."""
    from profiler.runtime.devices import check_device_format

    for device in devices:
        check_device_format(device, model_path)


def _run_profile(args: argparse.Namespace) -> int:
    from profiler.api import profile
    from profiler.model.shapes import parse_shape_overrides
    from profiler.report.exporters import EXPORT_EXTENSIONS, write_report

    if args.output:
        check_output(args.output, EXPORT_EXTENSIONS, ("model file", args.model))
    options = profile_options(args)
    devices = list(dict.fromkeys(args.device)) or [DEFAULT_DEVICE]
    check_formats(devices, args.model)
    check_devices(devices)
    printer = ProgressPrinter(sys.stderr)
    try:
        result = profile(args.model, devices, options, parse_shape_overrides(args.shape),
                         progress=printer, save_history=args.history)
    finally:
        printer.close()
    report = result.report
    if result.history_error:
        note(f"warning: run not saved to the history: {result.history_error}; "
             "--no-history skips it")
    if args.output:
        write_report(report, args.output)
        note(f"wrote {args.output}")
    else:
        say(runs_summary(terminal_safe(report)))
    return _profile_exit_code(report, args.max_latency_ms)


def _profile_exit_code(report: Report, max_latency_ms: float | None) -> int:
    """1 when any run failed (even if others measured), else 3 when over budget, else 0."""
    from profiler.bench.profile import run_failed

    for warning in (report.model.warnings if report.model else []):
        note(f"warning: {warning}")
    for run in report.runs:
        for warning in run.warnings:
            note(f"warning: {run.device}: {warning}")
        if run.error is not None:
            note(f"edgeprof-cli: {run.device}: {run.error.message}")
    over_budget = _budget_exit_code(report.runs, max_latency_ms) == EXIT_BUDGET
    failed = [run for run in report.runs if run_failed(run)]
    if not report.runs or len(failed) == len(report.runs):
        note("edgeprof-cli: error: every run failed")
        return EXIT_FAILED
    if failed:
        note(f"edgeprof-cli: error: {len(failed)} of {len(report.runs)} runs failed "
             f"({', '.join(run.device for run in failed)})")
        return EXIT_FAILED
    return EXIT_BUDGET if over_budget else EXIT_OK


def _budget_exit_code(runs: list[Run], max_latency_ms: float | None) -> int:
    if max_latency_ms is None:
        return EXIT_OK
    over = [run for run in runs if run.latency and run.latency.count
            and run.latency.p50 > max_latency_ms]
    for run in over:
        assert run.latency is not None
        note(f"edgeprof-cli: budget exceeded: {run.device} median latency "
             f"{run.latency.p50:.3f} ms > --max-latency-ms {max_latency_ms:g}")
    return EXIT_BUDGET if over else EXIT_OK


SUMMARY_HEADERS = ["device", "precision", "weights", "compile ms", "first ms", "p50 ms", "p90 ms",
                   "p99 ms", "CV", "throughput FPS", "peak RSS", "error"]


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "-" if value is None else format(value, spec)


def run_row(run: Run) -> list[str]:
    from profiler.units import size_bytes

    stats = run.latency if run.latency and run.latency.count else None
    memory = run.memory
    peak = max(memory.baseline_peak_rss_bytes, memory.compile_peak_rss_bytes,
               memory.inference_peak_rss_bytes) if memory else 0
    error = f"{run.error.stage}: {run.error.message}" if run.error else ""
    return [run.device, run.precision or "-", run.weight_precision or "-", _fmt(run.compile_ms),
            _fmt(run.first_inference_ms),
            _fmt(stats.p50 if stats else None), _fmt(stats.p90 if stats else None),
            _fmt(stats.p99 if stats else None),
            f"{100 * stats.cv:.1f} %" if stats else "-", _fmt(run.throughput_fps, ".1f"),
            size_bytes(peak) if peak else "-", error[:80]]


def runs_summary(report: Report) -> str:
    from profiler.report.compare import text_table

    name = report.model.name if report.model else "model"
    lines = [f"{name}: {len(report.runs)} run(s)"]
    lines += text_table(SUMMARY_HEADERS, [run_row(run) for run in report.runs])
    return "\n".join(lines)


class ProgressPrinter:
    """Progress on stderr: one line per stage per job, or on a terminal an in-place bar of the
    whole job (stages weighted by expected time) with the stage, the latency CI against its
    target and the time left."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._open_line = False
        self._label = ""

    def __call__(self, event: Event) -> None:
        from profiler.bench.wire import StageEvent, event_label, event_text, stage_text

        label = event_label(event)
        if label != self._label:
            self._newline()
            self._label = label
        if not self.tty:
            if isinstance(event, StageEvent):
                print(escape_controls(f"[{label}] {stage_text(event)}"), file=self.stream,
                      flush=True)
            return
        filled = round(event.overall * BAR_WIDTH)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        text = escape_controls(f"[{label}] [{bar}] {event_text(event)[:60]:<60}")
        self.stream.write(f"\r{text}")
        self.stream.flush()
        self._open_line = True

    def _newline(self) -> None:
        if self._open_line:
            self.stream.write("\n")
            self.stream.flush()
            self._open_line = False

    def close(self) -> None:
        self._newline()


# compare -------------------------------------------------------------------------------------

def _add_compare(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "compare", help="per-device and per-layer latency deltas between two reports",
        description="Compare two report JSON files (B - A): runs matched by device and variant.")
    parser.add_argument("a", metavar="A.json", help="the reference report")
    parser.add_argument("b", metavar="B.json", help="the report to compare with it")
    parser.add_argument("--top", type=top_count, default=10, metavar="N",
                        help="per-layer changes to list (default 10)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="also write the comparison: .md .json or .txt")
    parser.set_defaults(command=_run_compare)


COMPARISON_EXTENSIONS = (".md", ".json", ".txt")


def _run_compare(args: argparse.Namespace) -> int:
    from profiler.records.report import load_report
    from profiler.report.compare import compare_reports, comparison_text

    if args.output:
        check_output(args.output, COMPARISON_EXTENSIONS)
    comparison = compare_reports(load_report(args.a), load_report(args.b), args.a, args.b,
                                 top=args.top)
    say(comparison_text(terminal_safe(comparison)))
    if args.output:
        write_comparison(comparison, args.output)
        note(f"wrote {args.output}")
    return EXIT_OK


def write_comparison(comparison: Any, path: str) -> None:
    import os

    from profiler.report.compare import comparison_json, comparison_markdown, comparison_text
    from profiler.report.exporters import write_text

    renderers = {".md": comparison_markdown, ".json": comparison_json, ".txt": comparison_text}
    text = renderers[os.path.splitext(path)[1].lower()](comparison)
    write_text(text if text.endswith("\n") else text + "\n", path)
