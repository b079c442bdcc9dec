"""``edgeprof-cli sweep MODEL... --device ID...``: every model on every device, one summary.

Devices of one target are measured one at a time, targets in parallel (profiler.sweep).
Progress is one line per event on stderr, prefixed with the target. Exit codes as in
profiler.cli_common: 0 every pair measured; 1 any pair failed (the summary is still written);
2 usage error; 130 interrupted (the sweep stops, the summary so far is written, and
``--resume`` finishes it later).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, TextIO

from profiler.cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    check_output,
    escape_controls,
    note,
    positive_count,
    say,
    seconds,
    terminal_safe,
)

if TYPE_CHECKING:
    from profiler.bench.profile import ProfileOptions
    from profiler.sweep import Sweep, SweepEvent, SweepModel, SweepState

DEFAULT_MAX_TIME_S = 20.0
STATE_SUFFIX = ".sweep-state.json"


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep", help="measure every model on every device (targets in parallel), one summary",
        description="Measure each model on each device. Devices of one target are measured "
                    "one at a time; different targets at the same time. Results go to the "
                    "history; the summary (median latency per model and device, best device "
                    "per model) to -o or the terminal.")
    parser.add_argument("models", nargs="+", metavar="MODEL",
                        help="model files: .onnx, OpenVINO .xml (with its .bin), .tflite")
    parser.add_argument("--device", action="append", required=True, metavar="ID",
                        help="device id, repeatable: ov:CPU, ort:cpu, pi5/ov:CPU (a target's)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the summary: .html .json or .md")
    parser.add_argument("--resume", action="store_true",
                        help="skip the pairs an interrupted run of the same sweep measured")
    parser.add_argument("--state", metavar="FILE",
                        help="the sweep's state file (default: beside -o, else in the data "
                             "folder, named after the models and devices)")
    parser.add_argument("--iterations", type=positive_count, metavar="N",
                        help="timed runs per pair (fixed count; default: until the median is "
                             "stable)")
    parser.add_argument("--max-time", type=seconds, default=DEFAULT_MAX_TIME_S, metavar="S",
                        help=f"cap of each pair's timed loop (default {DEFAULT_MAX_TIME_S:g} s)")
    parser.add_argument("--layers", action=argparse.BooleanOptionalAction, default=False,
                        help="also run the per-layer pass of each pair (default off)")
    parser.add_argument("--history", action=argparse.BooleanOptionalAction, default=True,
                        help="save each run to the history (default on)")
    parser.set_defaults(command=_run_sweep)


def sweep_options(args: argparse.Namespace) -> ProfileOptions:
    from profiler.bench.profile import ProfileOptions
    from profiler.bench.protocol import StopRule

    return ProfileOptions(layers=args.layers, stop=StopRule(iterations=args.iterations,
                                                            max_time_s=args.max_time))


def check_sweep_devices(devices: list[str]) -> None:
    """Local devices must exist here, target prefixes must name declared targets (exit 2)."""
    from profiler.cli_runtime import check_devices
    from profiler.remote.targets import get_target
    from profiler.runtime.devices import split_target

    local = [d for d in devices if not split_target(d)[0]]
    if local:
        check_devices(local)
    for target in dict.fromkeys(split_target(d)[0] for d in devices if split_target(d)[0]):
        get_target(target)


def _check_models(paths: list[str]) -> None:
    from profiler.errors import UsageError

    for path in paths:
        if not os.path.isfile(path):
            raise UsageError(f"{path}: no such model file; give .onnx, .xml or .tflite files")


def state_path(args: argparse.Namespace, models: list[SweepModel], devices: list[str]) -> str:
    from profiler.history.paths import data_dir
    from profiler.sweep import plan_key

    if args.state:
        return str(args.state)
    if args.output:
        return os.path.splitext(args.output)[0] + STATE_SUFFIX
    return str(data_dir() / "sweeps" / f"{plan_key(models, devices)}.json")


def _state(args: argparse.Namespace, path: str, settings: dict[str, object]) -> SweepState:
    from profiler.sweep import SweepState

    if not args.resume:
        return SweepState(path, settings)
    state = SweepState.load(path, settings)
    previous = state.settings
    state.settings = settings
    if state.results and previous != settings:
        note(f"warning: {path}: the earlier pairs were measured with other settings "
             f"({previous}); they are kept")
    return state


def _run_sweep(args: argparse.Namespace) -> int:
    from profiler.sweep import analyse_for, sweep_model
    from profiler.sweep_report import SUMMARY_EXTENSIONS

    if args.output:
        check_output(args.output, SUMMARY_EXTENSIONS)
    devices = list(dict.fromkeys(args.device))
    _check_models(args.models)
    check_sweep_devices(devices)
    options = sweep_options(args)
    analyse = analyse_for(options)
    models = [sweep_model(path, analyse) for path in dict.fromkeys(args.models)]
    for model in models:
        if model.error:
            note(f"edgeprof-cli: {model.path}: {model.error}")
    settings = {"iterations": args.iterations, "max_time_s": args.max_time,
                "layers": args.layers}
    path = state_path(args, models, devices)
    sweep = _sweep(args, options, _state(args, path, settings))
    return _finish(args, sweep, models, devices, path)


def _sweep(args: argparse.Namespace, options: ProfileOptions, state: SweepState) -> Sweep:
    from profiler.api import save_to_history
    from profiler.sweep import DeviceMeasure, Sweep

    return Sweep(DeviceMeasure(options), state, progress=SweepPrinter(sys.stderr),
                 save=save_to_history if args.history else None)


def _finish(args: argparse.Namespace, sweep: Sweep, models: list[SweepModel],
            devices: list[str], path: str) -> int:
    interrupted = False
    try:
        outcome = sweep.run(models, devices)
    except KeyboardInterrupt:
        interrupted = True
        outcome = sweep.outcome(models, devices)
    _write(args, outcome.summary)
    for problem in dict.fromkeys(outcome.history_errors):
        note(f"warning: run not saved to the history: {problem}; --no-history skips it")
    note(f"sweep: {outcome.measured} measured, {outcome.skipped} skipped (measured before), "
         f"{outcome.failed} failed; state in {path}")
    if interrupted:
        note("edgeprof-cli: interrupted; finish the sweep with the same command and --resume")
        return EXIT_INTERRUPTED
    failures = outcome.summary.failures()
    if failures:
        note(f"edgeprof-cli: error: {len(failures)} of "
             f"{len(models) * len(devices)} pairs failed")
        return EXIT_FAILED
    return EXIT_OK


def _write(args: argparse.Namespace, summary: object) -> None:
    from profiler.sweep_report import SweepSummary, summary_text, write_summary

    assert isinstance(summary, SweepSummary)
    if args.output:
        write_summary(summary, args.output)
        note(f"wrote {args.output}")
    else:
        say(summary_text(terminal_safe(summary)))


class SweepPrinter:
    """One line per event on stderr: ``[target] 2/6 model on device: what happened``."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, event: SweepEvent) -> None:
        if event.kind == "start":
            return  # the pair's first stage ('starting the worker') follows at once
        print(escape_controls(line_text(event)), file=self.stream, flush=True)


def line_text(event: SweepEvent) -> str:
    if event.kind == "start":
        return f"[{event.target}] {event.index}/{event.total} {event.model} on {event.device}"
    if event.kind == "stopped":
        return f"[{event.target}] stopped (cancelled) before pair {event.index}/{event.total}"
    what = f"failed: {event.text}" if event.kind == "failed" else event.text
    return (f"[{event.target}] {event.index}/{event.total} {event.model} on {event.device}: "
            f"{what}")
