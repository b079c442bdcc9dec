"""``edgeprof-cli quantize``: build variants, measure them beside the FP32 model, explain them.

Heavy imports happen inside the command function, so ``--help`` stays fast.
Exit codes as defined in profiler.cli_common: 0 ok; 1 when any variant failed to build or any
variant/device run failed (the report is still written, with every error in it); 2 usage
error (a device that cannot read the model included).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from profiler.cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    MAX_COUNT,
    check_output,
    decibels,
    int_option,
    note,
    positive_count,
    say,
    seconds,
    terminal_safe,
    thread_count,
)

if TYPE_CHECKING:
    from profiler.quant.session import QuantizeOptions
    from profiler.records.report import Report

HINTS_SHOWN = 3
sample_count = int_option(1, MAX_COUNT, "a number of samples")


def _add_cache(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache", help="the built-variant cache: size, location, --clear",
        description="Quantized variants are cached (keyed by model hash and settings) so a "
                    "second run reuses them. The cache is bounded in size (least recently "
                    "used entries go first); EDGEPROF_CACHE_DIR moves it.")
    parser.add_argument("--clear", action="store_true", help="delete every cached variant")
    parser.set_defaults(command=_run_cache)


def _run_cache(args: argparse.Namespace) -> int:
    from profiler.quant.cache import cache_info, clear_cache
    from profiler.units import size_bytes

    if args.clear:
        removed, freed = clear_cache()
        say(f"removed {removed} cached variant(s), {size_bytes(freed)} freed")
        return EXIT_OK
    info = cache_info()
    say(f"{info.root}: {len(info.entries)} variant(s), {size_bytes(info.total_bytes)} "
        f"of at most {size_bytes(info.max_cache_bytes)}")
    return EXIT_OK


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    _add_cache(subparsers)
    parser = subparsers.add_parser(
        "quantize", help="build FP16/INT8/INT4 variants and measure them beside the FP32 model",
        description="Build quantized/converted variants of a model, measure each on each "
                    "device with the profile protocol, compare its outputs with the FP32 "
                    "model's (drift), and explain why it is (not) faster. ONNX variants run on "
                    "ort:* devices, ov-* variants (OpenVINO IR) on ov:* devices.")
    parser.add_argument("model", help="model file: .onnx or OpenVINO .xml (with its .bin)")
    parser.add_argument("--variants", metavar="LIST",
                        help="comma-separated: fp16, int8-dynamic, int8-static, ov-fp32, "
                             "ov-fp16, ov-int8, ov-int8-weights, ov-int4-weights (default: "
                             "fp16,int8-dynamic,int8-static for ort devices and ov-fp16,"
                             "ov-int8,ov-int8-weights for ov devices)")
    parser.add_argument("--device", action="append", default=[], metavar="ID",
                        help="device id, repeatable (default: ort:cpu and ov:CPU for ONNX "
                             "models, ov:CPU for IR)")
    _add_data_options(parser)
    _add_measure_options(parser)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report; format from extension: .json .csv .md .html")
    parser.set_defaults(command=run_quantize)


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--calibration", metavar="SRC",
                        help="calibration data: image folder, .npy/.npz, or 'random' (default)")
    parser.add_argument("--eval", metavar="SRC", dest="evaluation",
                        help="evaluation data for drift (default: the calibration data when "
                             "it is real, else random; random drift is indicative only)")
    parser.add_argument("--samples", type=sample_count, metavar="N",
                        help="calibration and evaluation samples (default: 100 for "
                             "calibration, 32 for evaluation)")
    parser.add_argument("--calibration-method", choices=("minmax", "entropy", "percentile"),
                        default="minmax", help="int8-static calibration (default minmax)")
    parser.add_argument("--exclude", metavar="NODE,...",
                        help="nodes kept in float (e.g. the layers the drift analysis names)")
    parser.add_argument("--mean", metavar="R,G,B", help="image normalisation mean "
                        "(default ImageNet 0.485,0.456,0.406)")
    parser.add_argument("--std", metavar="R,G,B", help="image normalisation std "
                        "(default ImageNet 0.229,0.224,0.225)")
    parser.add_argument("--layout", choices=("nchw", "nhwc"),
                        help="image input layout (default: detected from the input's shape)")
    from profiler.cli_inputs import add_input_options

    add_input_options(parser)


def _add_measure_options(parser: argparse.ArgumentParser) -> None:
    stop = parser.add_mutually_exclusive_group()
    stop.add_argument("--iterations", type=positive_count, metavar="N",
                      help="timed runs (fixed count)")
    stop.add_argument("--duration", type=seconds, metavar="S", help="seconds of timed runs")
    parser.add_argument("--max-time", type=seconds, default=60.0, metavar="S",
                        help="cap of the default adaptive stop (default 60 s)")
    parser.add_argument("--threads", type=thread_count, metavar="N", help="inference threads")
    parser.add_argument("--drift-threshold-db", type=decibels, default=20.0, metavar="DB",
                        help="per-layer drift: name the first layer whose SQNR falls below "
                             "this (default 20 dB)")
    parser.add_argument("--layer-drift", action=argparse.BooleanOptionalAction, default=True,
                        help="per-layer drift of ONNX variants (default on)")
    parser.add_argument("--cross-runtime", action="store_true",
                        help="also run the ONNX variants on ov:* devices")
    parser.add_argument("--timeout", type=seconds, default=300.0, metavar="S",
                        help="stop a worker silent this long (default 300 s)")


MAX_CHANNELS = 64


def _floats(text: str | None, name: str, positive: bool = False) -> tuple[float, ...] | None:
    """'0.5,0.5,0.5' -> finite numbers (above zero when ``positive``), a few per channel."""
    import math

    from profiler.errors import UsageError

    if text is None:
        return None
    parts = text.split(",")
    try:
        values = tuple(float(part) for part in parts[:MAX_CHANNELS + 1])
    except ValueError:
        values = (math.nan,)
    if len(parts) > MAX_CHANNELS or not all(math.isfinite(v) for v in values) or (
            positive and not all(v > 0 for v in values)):
        kind = "positive numbers" if positive else "numbers"
        raise UsageError(f"{name} {text[:80]!r}: expected {kind} like 0.485,0.456,0.406 "
                         f"(at most {MAX_CHANNELS})")
    return values


def _names(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def quantize_options(args: argparse.Namespace) -> QuantizeOptions:
    from profiler.bench.profile import ProfileOptions, check_options
    from profiler.bench.protocol import StopRule
    from profiler.bench.supervisor import Limits
    from profiler.cli_inputs import value_options
    from profiler.errors import UsageError
    from profiler.quant.data import IMAGENET_MEAN, IMAGENET_STD, ImageOptions
    from profiler.quant.session import DEFAULT_EVAL_SAMPLES, QuantizeOptions
    from profiler.quant.variants import VariantOptions

    if args.samples is not None and args.samples < 1:
        raise UsageError("--samples must be at least 1")
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    profile = ProfileOptions(threads=args.threads, limits=Limits(timeout_s=args.timeout),
                             stop=StopRule(iterations=args.iterations, duration_s=args.duration,
                                           max_time_s=args.max_time), **value_options(args))
    check_options(profile)
    build = VariantOptions(exclude_nodes=tuple(_names(args.exclude)),
                           calibration_method=args.calibration_method)
    if args.samples is not None:
        build = VariantOptions(exclude_nodes=build.exclude_nodes,
                               calibration_method=args.calibration_method,
                               calibration_samples=args.samples)
    image = ImageOptions(_floats(args.mean, "--mean") or IMAGENET_MEAN,
                         _floats(args.std, "--std", positive=True) or IMAGENET_STD,
                         args.layout.upper() if args.layout else None)
    return QuantizeOptions(
        variants=_names(args.variants) or None, devices=list(dict.fromkeys(args.device)),
        build=build, calibration=args.calibration, evaluation=args.evaluation,
        eval_samples=args.samples or DEFAULT_EVAL_SAMPLES, image=image, profile=profile,
        drift_threshold_db=args.drift_threshold_db, layer_drift=args.layer_drift,
        cross_runtime=args.cross_runtime)


def default_devices(model_path: str) -> list[str]:
    return ["ort:cpu", "ov:CPU"] if model_path.lower().endswith(".onnx") else ["ov:CPU"]


def run_quantize(args: argparse.Namespace) -> int:
    from profiler.api import quantize
    from profiler.cli_runtime import ProgressPrinter, check_devices, check_formats
    from profiler.model.shapes import parse_shape_overrides
    from profiler.report.exporters import EXPORT_EXTENSIONS, write_report

    if args.output:
        check_output(args.output, EXPORT_EXTENSIONS, ("model file", args.model))
    options = quantize_options(args)
    options.devices = options.devices or default_devices(args.model)
    check_formats(options.devices, args.model)
    check_devices(options.devices)
    printer = ProgressPrinter(sys.stderr)
    try:
        report = quantize(args.model, options, parse_shape_overrides(args.shape),
                          progress=printer).report
    finally:
        printer.close()
    if args.output:
        write_report(report, args.output)
        note(f"wrote {args.output}")
    else:
        say(quantize_summary(terminal_safe(report)))
    return exit_code(report)


def exit_code(report: Report) -> int:
    """1 when nothing was measured, or when any variant build or variant/device run failed."""
    from profiler.bench.profile import run_failed

    for error in report.errors:
        note(f"edgeprof-cli: {error}")
    if not report.runs or all(run_failed(run) for run in report.runs):
        note("edgeprof-cli: error: nothing could be measured")
        return EXIT_FAILED
    failed = [f"{run.variant} @ {run.device}" for run in report.runs if run_failed(run)]
    failed += [variant.id for variant in report.variants if variant.error]
    if failed:
        note(f"edgeprof-cli: error: {len(failed)} failed: {', '.join(failed)}")
        return EXIT_FAILED
    return EXIT_OK


SUMMARY_HEADERS = ["variant", "device", "size", "size×FP32", "p50 ms", "p50×FP32", "SQNR dB",
                   "cosine", "max abs err", "top-1", "Pareto", "note"]


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summary_rows(report: Report) -> list[list[str]]:
    from profiler.report.variant_views import INDICATIVE, sqnr_text, variant_rows
    from profiler.units import size_bytes

    rows = []
    for row in variant_rows(report):
        note = row.error[:60] if row.error else (INDICATIVE if row.indicative_only else "")
        rows.append([row.variant, row.device, size_bytes(row.file_bytes) if row.file_bytes
                     else "-", "ref" if row.is_reference else _fmt(row.size_ratio, ".2f"),
                     _fmt(row.p50_ms, ".3f"), _fmt(row.latency_ratio, ".2f"),
                     "ref" if row.is_reference else sqnr_text(row.sqnr_db),
                     _fmt(row.cosine, ".6f"), _fmt(row.max_abs_error, ".3g"),
                     _fmt(row.top1_agreement, ".1%"), "*" if row.on_front else "", note])
    return rows


def _explanations(report: Report) -> list[str]:
    lines = []
    for variant in report.variants:
        for device, found in variant.diagnostics.items():
            lines += [f"  {variant.id} @ {device}: {hint}" for hint in found.hints[:HINTS_SHOWN]]
        layers = variant.layer_drift
        if layers is not None and layers.first_below is not None:
            first = layers.first_below
            note = " (indicative only)" if layers.indicative_only else ""
            lines.append(f"  {variant.id}: first layer below {layers.threshold_db:g} dB: "
                         f"{first.node} ({first.op_type}, {first.sqnr_db:.1f} dB){note}"
                         + (f"; keep it in float with --exclude {first.exclude_node}"
                            if first.exclude_node else ""))
    return lines


def quantize_summary(report: Report) -> str:
    from profiler.report.compare import text_table
    from profiler.report.variant_views import size_references

    name = report.model.name if report.model else "model"
    lines = [f"{name}: {len(report.variants)} variant(s) incl. the FP32 reference"]
    lines += text_table(SUMMARY_HEADERS, summary_rows(report))
    lines += [f"size ratios of {ids}: against {size} bytes ({text})"
              for ids, size, text in size_references(report)]
    explanations = _explanations(report)
    return "\n".join(lines + (["", "why:", *explanations] if explanations else []))
