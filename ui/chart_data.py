"""What each chart plots, computed from ReportData alone (pure: no Qt, no pyqtgraph).

Breakdowns come from profiler.report.views; this module picks, orders and labels them.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass

from profiler.records.runs import Run
from profiler.report.views import (
    Share,
    effective,
    op_type_shares,
    run_label,
    run_summary,
    successful_runs,
    time_by_layer_type,
)
from profiler.units import milliseconds, si, size_bytes
from ui.report_data import ReportData, RunLayers

METRICS = {"macs": "MACs", "flops": "FLOPs", "params": "Params", "time": "Time"}
TOP_N = 20


@dataclass(frozen=True)
class BarDatum:
    label: str
    value: float
    tooltip: str
    layer: int | None = None
    """The analysis layer a bar stands for (top-N charts); None for groups."""
    group: str = ""
    """Op type (or runtime layer type): colours bars and links them to the table filter."""


def _value_text(metric: str, value: float) -> str:
    return milliseconds(value) if metric == "time" else si(value)


def _layer_values(data: ReportData, metric: str, run: RunLayers | None) -> list[float]:
    if metric == "time":
        nodes = run.nodes if run else {}
        return [nodes[layer.name].time_ms if layer.name in nodes else 0.0
                for layer in data.layers]
    return [effective(layer, metric) for layer in data.layers]


def top_layers(data: ReportData, metric: str, run: RunLayers | None,
               count: int = TOP_N) -> list[BarDatum]:
    """The ``count`` largest layers by ``metric`` (multiplier applied), largest first."""
    values = _layer_values(data, metric, run)
    total = sum(values)
    # nsmallest keeps only ``count``: a full sort of 10,000 layers is what costs here
    ranked = heapq.nsmallest(count, (i for i, v in enumerate(values) if v > 0),
                             key=lambda i: (-values[i], i))
    bars = []
    for index in ranked:
        layer = data.layers[index]
        share = f"{100 * values[index] / total:.1f} %" if total else "-"
        unit = "" if metric == "time" else f" {METRICS[metric]}"
        whole = "of layer time" if metric == "time" else "of the model"
        tip = (f"{layer.name}\n{layer.op_type} · {_value_text(metric, values[index])}{unit}"
               f" · {share} {whole}")
        bars.append(BarDatum(layer.name, values[index], tip, index, layer.op_type))
    return bars


def _share_bars(shares: list[Share], metric: str, unit: str) -> list[BarDatum]:
    return [BarDatum(s.label, s.value,
                     f"{s.label}: {s.count:,} {unit}\n{_value_text(metric, s.value)} · "
                     f"{100 * s.share:.1f} %", None, s.label)
            for s in shares if s.value > 0]


def op_type_bars(data: ReportData, metric: str, run: RunLayers | None) -> list[BarDatum]:
    """Per op type (static metrics) or per runtime layer type (time), largest first."""
    if metric == "time":
        return _share_bars(time_by_layer_type(run.run), metric, "runtime layers") if run else []
    return _share_bars(op_type_shares(data.report.analysis, metric), metric, "layers")


@dataclass(frozen=True)
class LatencyData:
    label: str
    samples_ms: list[float]
    p50_ms: float
    p90_ms: float
    p99_ms: float
    count: int
    stop_reason: str
    bin_edges_ms: list[float]
    bin_counts: list[int]


def histogram(samples: list[float], bins: int | None = None) -> tuple[list[float], list[int]]:
    """Equal-width bins over [min, max]; about sqrt(n) of them, 10 to 60."""
    low, high = min(samples), max(samples)
    count = bins or min(60, max(10, round(math.sqrt(len(samples)))))
    if high <= low:
        high = low + (abs(low) * 1e-3 or 1e-3)
    width = (high - low) / count
    counts = [0] * count
    for sample in samples:
        counts[min(int((sample - low) / width), count - 1)] += 1
    return [low + i * width for i in range(count + 1)], counts


def latency_data(run: Run) -> LatencyData | None:
    stats = run.latency
    if stats is None or not stats.samples_ms:
        return None
    edges, counts = histogram(stats.samples_ms)
    return LatencyData(run_label(run), list(stats.samples_ms), stats.p50, stats.p90, stats.p99,
                       stats.count, stats.stop_reason, edges, counts)


@dataclass(frozen=True)
class DeviceBar:
    label: str
    p50_ms: float
    p90_ms: float
    p99_ms: float
    tooltip: str


def device_bars(runs: list[Run]) -> list[DeviceBar]:
    bars = []
    for run in successful_runs(runs):
        s = run_summary(run)
        assert s.p50_ms is not None and s.p90_ms is not None and s.p99_ms is not None
        rss = "-" if s.peak_rss_bytes is None else size_bytes(s.peak_rss_bytes)
        fps = "-" if s.throughput_fps is None else f"{s.throughput_fps:.1f}"
        tip = (f"{s.label} ({s.device_name or s.device})\np50 {milliseconds(s.p50_ms)} · "
               f"p90 {milliseconds(s.p90_ms)} · p99 {milliseconds(s.p99_ms)}\n"
               f"throughput {fps} fps · peak RSS {rss}")
        bars.append(DeviceBar(s.label, s.p50_ms, s.p90_ms, s.p99_ms, tip))
    return bars


def failed_runs(runs: list[Run]) -> list[str]:
    return [f"{run_label(run)} failed at {run.error.stage}: {run.error.message}"
            for run in runs if run.error is not None]


@dataclass(frozen=True)
class RooflinePoint:
    layer: int
    op_type: str
    intensity: float
    """FLOPs per byte moved."""
    gflops_per_s: float
    tooltip: str


def roofline_points(data: ReportData, run: RunLayers) -> list[RooflinePoint]:
    """Layers with FLOPs, memory traffic and a measured time on ``run``."""
    points = []
    for index, layer in enumerate(data.layers):
        runtime = run.nodes.get(layer.name)
        intensity = layer.arithmetic_intensity
        if runtime is None or runtime.gflops_per_s is None or not intensity:
            continue
        tip = (f"{layer.name}\n{layer.op_type} · {intensity:.2f} FLOP/B · "
               f"{runtime.gflops_per_s:.2f} GFLOP/s\n{milliseconds(runtime.time_ms)} · "
               f"{si(effective(layer, 'flops'))}FLOP")
        points.append(RooflinePoint(index, layer.op_type, intensity, runtime.gflops_per_s, tip))
    return points


def op_colour_ranks(data: ReportData) -> dict[str, int]:
    """Op type -> palette index by MACs rank (as in the HTML report), then by layer count for
    ops without MACs, so a colour means the same op in every chart."""
    ranked = [s.label for s in op_type_shares(data.report.analysis) if s.value > 0]
    ranked += [op for op, _ in data.op_counts if op not in ranked]
    return {op: index for index, op in enumerate(ranked)}


# --- Bar chart layout (pixels in, pixels out: what fits, from the data and the font) -------

ELLIPSIS = "…"


def elide_middle(text: str, max_chars: int) -> str:
    """Keep the head and, longer, the tail: hierarchical names ("/features/stage1/unit1/body/
    conv2") differ at the end, so a cut prefix alone would make them all look the same."""
    if len(text) <= max_chars:
        return text
    head = max(1, (max_chars - 1) // 3)
    tail = max_chars - 1 - head
    return text[:head] + ELLIPSIS + text[len(text) - tail:]


def labelled_rows(count: int, row_px: float, text_px: float) -> list[int]:
    """Rows that get a label: all when a row is as tall as a line of text, else every k-th
    (thinned evenly) so no two labels overlap."""
    step = max(1, math.ceil(text_px / row_px)) if row_px > 0 else max(count, 1)
    return list(range(0, count, step))


@dataclass(frozen=True)
class LabelRect:
    row: int
    top_px: float
    bottom_px: float


def bar_label_rects(count: int, rows_in_view: float, plot_height_px: float,
                    text_px: float) -> list[LabelRect]:
    """Where each shown label sits: centred on its row, ``text_px`` tall."""
    row_px = plot_height_px / rows_in_view if rows_in_view > 0 else 0.0
    return [LabelRect(row, (row + 0.5) * row_px - text_px / 2, (row + 0.5) * row_px + text_px / 2)
            for row in labelled_rows(count, row_px, text_px)]


def value_axis_max(values: list[float], text_widths_px: list[float], plot_width_px: float,
                   pad_px: float = 8.0) -> float:
    """The x range end that leaves every value's text room past its bar:
    value * plot_width_px / x_max + text + pad <= plot_width_px for every bar."""
    largest = max(values, default=0.0) or 1.0
    if plot_width_px <= 0:
        return largest * 1.2
    x_max = largest
    for value, width in zip(values, text_widths_px, strict=True):
        free_px = max(plot_width_px - width - pad_px, plot_width_px * 0.2)
        x_max = max(x_max, value * plot_width_px / free_px)
    return x_max
