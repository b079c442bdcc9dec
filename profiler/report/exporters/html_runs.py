"""The HTML report's runs section: run table, latency per run, and per run its latency
distribution, trace, slowest runtime layers and configuration. Values for the template only;
the markup is in ``templates/runs.html.j2`` (autoescaped)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from profiler.records.analysis import StaticAnalysis
from profiler.records.runs import Run
from profiler.report import svg
from profiler.report.exporters.html_templates import chart, render_template
from profiler.report.views import (
    LayerTime,
    Share,
    layer_times,
    run_label,
    run_summary,
    successful_runs,
    time_by_layer_type,
    time_by_precision,
)
from profiler.units import milliseconds, rate, size_bytes

TOP_TIME_LAYERS = 15
RUN_HEADERS = ["run", "device name", "precision", "weights", "load", "compile",
               "first inference", "p50", "p90", "p99", "mean ± std", "CV", "fps", "peak RSS",
               "error"]
LAYER_HEADERS = ["layer", "type", "kind", "kernel", "precision", "time ms", "share", "GFLOP/s",
                 "model nodes"]


def config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=1, sort_keys=True, default=str, ensure_ascii=False)


def _ms_tick(value: float) -> str:
    return f"{value:.6g} ms"


def _ms(value: float | None) -> str:
    return milliseconds(value).removesuffix(" ms")


def _run_row(index: int, run: Run) -> list[Any]:
    """Cells of the run table; the first is (index, label), the last (index, error)."""
    s = run_summary(run)
    mean = "-" if s.mean_ms is None else f"{_ms(s.mean_ms)} ± {_ms(s.std_ms)}"
    return [(index, s.label), s.device_name or "-", s.precision or "-",
            run.weight_precision or "-", _ms(s.load_ms), _ms(s.compile_ms),
            _ms(s.first_inference_ms), _ms(s.p50_ms), _ms(s.p90_ms), _ms(s.p99_ms), mean,
            "-" if s.cv is None else f"{100 * s.cv:.1f} %",
            "-" if s.throughput_fps is None else f"{s.throughput_fps:.1f}",
            "-" if s.peak_rss_bytes is None else size_bytes(s.peak_rss_bytes),
            (index, s.error, s.error.split(":", 1)[0])]


def _device_chart(runs: Sequence[Run]) -> str:
    columns = []
    for run in runs:
        stats = run.latency
        assert stats is not None
        tip = (f"{run_label(run)} ({run.device_name or run.device})\np50 {stats.p50:.4f} ms\n"
               f"p90 {stats.p90:.4f} ms\np99 {stats.p99:.4f} ms\nmean {stats.mean:.4f} ± "
               f"{stats.std:.4f} ms over {stats.count} samples")
        columns.append(svg.Column(run_label(run), stats.p50, (stats.p90, stats.p99),
                                  milliseconds(stats.p50), tip))
    return svg.column_chart(columns, axis_format=_ms_tick, value_name="p50",
                            marker_names=("p90", "p99"), label="latency per run")


def _latency_charts(run: Run) -> list[tuple[str, Markup]] | None:
    """Histogram and trace; None without samples, [] when the run has no latency."""
    stats = run.latency
    if stats is None or not stats.count:
        return []
    if not stats.samples_ms:
        return None
    label = run_label(run)
    histogram = svg.histogram(stats.samples_ms, markers=(("p50", stats.p50), ("p99", stats.p99)),
                              axis_format=_ms_tick, value_format=milliseconds,
                              label=f"latency distribution {label}")
    trace = svg.line_chart(stats.samples_ms, markers=(("p50", stats.p50),),
                           axis_format=_ms_tick, value_format=milliseconds,
                           label=f"latency per iteration {label}")
    return [(f"Latency distribution ({stats.count} samples, stop: "
             f"{stats.stop_reason or '-'})", chart(histogram)),
            ("Latency per iteration", chart(trace))]


def _layer_time_bar(t: LayerTime) -> svg.Bar:
    achieved = "-" if t.gflops_per_s is None else f"{rate(t.gflops_per_s)} GFLOP/s"
    tip = (f"{t.name} ({t.layer_type}, {t.kind})\ntime {t.time_ms:.4f} ms = "
           f"{100 * t.share:.1f} %\nkernel {t.kernel or '-'}, precision {t.precision or '-'}\n"
           f"achieved {achieved}\nmodel nodes: {', '.join(t.model_nodes) or '-'}")
    return svg.Bar(f"{t.name} · {t.layer_type}", t.time_ms,
                   f"{milliseconds(t.time_ms)} · {100 * t.share:.1f} %", tip,
                   svg.KIND_COLOURS.get(t.kind, svg.PALETTE[-1]))


def _share_chart(shares: Sequence[Share], label: str) -> Markup:
    return chart(svg.hbar_chart(
        [svg.Bar(s.label, s.value, f"{milliseconds(s.value)} · {100 * s.share:.1f} %",
                 f"{s.label}: {s.count} layers, {s.value:.4f} ms", svg.PALETTE[i % 10])
         for i, s in enumerate(shares)],
        axis_format=_ms_tick, label_width=220, label=label))


def _layer_time_parts(run: Run, analysis: StaticAnalysis | None) -> dict[str, Any] | None:
    times = layer_times(run, analysis)
    if not times:
        return None
    top = times[:TOP_TIME_LAYERS]
    kinds = dict.fromkeys(t.kind for t in top)
    top_chart = svg.hbar_chart([_layer_time_bar(t) for t in top], axis_format=_ms_tick,
                               legend_items=[(k, svg.KIND_COLOURS.get(k, svg.PALETTE[-1]))
                                             for k in kinds], label="top layers by time")
    figures = [(f"Top {TOP_TIME_LAYERS} layers by time", chart(top_chart)),
               ("Time by runtime layer type", _share_chart(time_by_layer_type(run),
                                                           "time by layer type")),
               ("Time by precision that ran", _share_chart(time_by_precision(run),
                                                           "time by precision"))]
    rows = [[t.name, t.layer_type, t.kind, t.kernel, t.precision, f"{t.time_ms:.4f}",
             f"{100 * t.share:.1f} %", rate(t.gflops_per_s), ", ".join(t.model_nodes) or "-"]
            for t in top]
    return {"figures": figures, "rows": rows, "notes": _profile_notes(run)}


def _profile_notes(run: Run) -> list[str]:
    profile = run.layer_profile
    if profile is None:
        return []
    items = [f"Layer times sum to {milliseconds(profile.total_layer_ms)} "
             f"({100 * profile.coverage:.0f} % of the end-to-end median) over "
             f"{profile.iterations} profiled iterations, {profile.statistic} per layer"
             + (" (outside 80-125 %: see the warning)." if profile.coverage_flag else ".")]
    if profile.unmapped_model_nodes:
        items.append(f"{len(profile.unmapped_model_nodes)} model compute nodes are not claimed "
                     f"by any runtime layer: {', '.join(profile.unmapped_model_nodes[:20])}")
    return items + profile.notes


def _run_detail(index: int, run: Run, analysis: StaticAnalysis | None) -> dict[str, Any]:
    facts = [x for x in (run.device_name, run.backend,
                         f"precision {run.precision}" if run.precision else "") if x]
    return {"index": index, "label": run_label(run), "facts": facts, "error": run.error,
            "latency": _latency_charts(run), "layers": _layer_time_parts(run, analysis),
            "warnings": run.warnings, "config": config_text(run.config) if run.config else ""}


def runs_section(runs: Sequence[Run], analysis: StaticAnalysis | None) -> Markup:
    measured = successful_runs(runs)
    return render_template(
        "runs.html.j2", run_headers=RUN_HEADERS, layer_headers=LAYER_HEADERS,
        rows=[_run_row(i, run) for i, run in enumerate(runs, start=1)],
        device_chart=chart(_device_chart(measured)) if measured else None,
        details=[_run_detail(i, run, analysis) for i, run in enumerate(runs, start=1)])
