"""Pure transform steps between a Report and the renderers (tables, charts, exporters).

Nothing here formats text for a particular output: values stay in report units (ms, bytes,
counts), so CSV, Markdown, HTML and the app read the same numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from profiler.records.analysis import LayerCost, StaticAnalysis
from profiler.records.record import record
from profiler.records.runs import LayerProfile, Run, RuntimeLayer
from profiler.units import shape_text


@record(frozen=True)
class LayerRow:
    """One analysis layer as every layer table shows it."""

    name: str
    op_type: str
    status: str
    output_shapes: str
    output_dtypes: str
    macs: int
    flops: int
    params: int
    weight_bytes: int
    activation_bytes: int
    arithmetic_intensity: float | None
    subgraph: str
    multiplier: float
    note: str


def layer_row(layer: LayerCost) -> LayerRow:
    return LayerRow(
        name=layer.name, op_type=layer.op_type, status=layer.status,
        output_shapes="; ".join(shape_text(s) for s in layer.output_shapes),
        output_dtypes="; ".join(layer.output_dtypes),
        macs=layer.macs, flops=layer.flops, params=layer.params,
        weight_bytes=layer.weight_bytes, activation_bytes=layer.activation_bytes,
        arithmetic_intensity=layer.arithmetic_intensity, subgraph=layer.subgraph,
        multiplier=layer.multiplier, note=layer.note,
    )


def layer_rows(analysis: StaticAnalysis | None) -> list[LayerRow]:
    """Every layer in execution order."""
    return [layer_row(layer) for layer in analysis.layers] if analysis else []


def effective(layer: LayerCost, key: str) -> float:
    """``key`` as it counts in totals: the layer's own figure times its multiplier."""
    return float(getattr(layer, key)) * layer.multiplier


@record(frozen=True)
class Share:
    """One slice of a breakdown: a label, how many items, their value and fraction of the whole."""

    label: str
    count: int
    value: float
    share: float
    """0..1 of the sum over all slices; 0 when the sum is 0."""


def _shares(values: Mapping[str, tuple[int, float]]) -> list[Share]:
    whole = sum(value for _, value in values.values())
    items = [Share(label, count, value, value / whole if whole else 0.0)
             for label, (count, value) in values.items()]
    return sorted(items, key=lambda item: (-item.value, item.label))


def op_type_shares(analysis: StaticAnalysis | None, key: str = "macs") -> list[Share]:
    """Per op type: node count and ``key`` (macs, flops, params, activation_bytes), largest
    first."""
    if analysis is None:
        return []
    return _shares({row.op_type: (row.count, float(getattr(row, key)))
                    for row in analysis.by_op_type})


def run_label(run: Run) -> str:
    """How a run is named in columns and headings: 'device/variant'."""
    return f"{run.device}/{run.variant}"


@record(frozen=True)
class RunSummary:
    label: str
    device: str
    device_name: str
    backend: str
    variant: str
    precision: str
    load_ms: float | None
    compile_ms: float | None
    first_inference_ms: float | None
    p50_ms: float | None
    p90_ms: float | None
    p99_ms: float | None
    mean_ms: float | None
    std_ms: float | None
    cv: float | None
    throughput_fps: float | None
    peak_rss_bytes: int | None
    error: str
    """'stage: message' for a failed run, else ''."""


def run_summary(run: Run) -> RunSummary:
    stats = run.latency if run.latency and run.latency.count else None
    return RunSummary(
        label=run_label(run), device=run.device, device_name=run.device_name,
        backend=run.backend, variant=run.variant, precision=run.precision,
        load_ms=run.load_ms, compile_ms=run.compile_ms,
        first_inference_ms=run.first_inference_ms,
        p50_ms=stats.p50 if stats else None, p90_ms=stats.p90 if stats else None,
        p99_ms=stats.p99 if stats else None, mean_ms=stats.mean if stats else None,
        std_ms=stats.std if stats else None, cv=stats.cv if stats else None,
        throughput_fps=run.throughput_fps, peak_rss_bytes=peak_rss_bytes(run),
        error=f"{run.error.stage}: {run.error.message}" if run.error else "",
    )


def peak_rss_bytes(run: Run) -> int | None:
    """Highest resident-set peak over the stages measured; None when memory was not measured."""
    memory = run.memory
    if memory is None:
        return None
    peak = max(memory.baseline_peak_rss_bytes, memory.compile_peak_rss_bytes,
               memory.inference_peak_rss_bytes)
    return peak or None


def flops_by_node(analysis: StaticAnalysis | None) -> dict[str, float]:
    """Model node name -> FLOPs per inference (multiplier applied)."""
    return {layer.name: effective(layer, "flops") for layer in analysis.layers} if analysis else {}


def node_times_ms(profile: LayerProfile, node_flops: Mapping[str, float]) -> dict[str, float]:
    """Per model node, the runtime time spent on it (ms per inference).

    A runtime layer covering several nodes (fused) splits its time across them in proportion
    to their FLOPs, evenly when none has FLOPs. Nodes the analysis does not know are skipped;
    runtime layers with no model node (inserted reorders) are not attributed to any node.
    """
    times: dict[str, float] = {}
    for layer in profile.layers:
        nodes = [node for node in dict.fromkeys(layer.model_nodes) if node in node_flops]
        if not nodes:
            continue
        weights = [node_flops[node] for node in nodes]
        total = sum(weights)
        for node, weight in zip(nodes, weights, strict=True):
            part = weight / total if total else 1.0 / len(nodes)
            times[node] = times.get(node, 0.0) + layer.time_ms * part
    return times


def layer_time_columns(report_runs: Sequence[Run],
                       analysis: StaticAnalysis | None) -> list[tuple[str, dict[str, float]]]:
    """(run label, node -> ms) for every run that has a per-layer profile."""
    node_flops = flops_by_node(analysis)
    return [(run_label(run), node_times_ms(run.layer_profile, node_flops))
            for run in report_runs if run.layer_profile and run.layer_profile.layers]


@record(frozen=True)
class LayerTime:
    """A runtime layer's time joined with the static cost of the model nodes it covers."""

    name: str
    layer_type: str
    kind: str
    kernel: str
    precision: str
    time_ms: float
    share: float
    """Of the sum of all runtime layer times in this run (0..1)."""
    model_nodes: tuple[str, ...]
    flops: float
    gflops_per_s: float | None
    """Achieved: covered nodes' FLOPs / time; None without time or FLOPs."""


def layer_times(run: Run, analysis: StaticAnalysis | None) -> list[LayerTime]:
    """Every runtime layer of ``run``, slowest first (ties by name)."""
    profile = run.layer_profile
    if profile is None:
        return []
    node_flops = flops_by_node(analysis)
    whole = sum(layer.time_ms for layer in profile.layers)
    rows = []
    for layer in profile.layers:
        flops = sum(node_flops.get(node, 0.0) for node in dict.fromkeys(layer.model_nodes))
        rate = flops / (layer.time_ms * 1e6) if layer.time_ms > 0 and flops > 0 else None
        rows.append(LayerTime(
            name=layer.name, layer_type=layer.layer_type, kind=layer.kind, kernel=layer.kernel,
            precision=layer.precision, time_ms=layer.time_ms,
            share=layer.time_ms / whole if whole else 0.0, model_nodes=tuple(layer.model_nodes),
            flops=flops, gflops_per_s=rate,
        ))
    return sorted(rows, key=lambda row: (-row.time_ms, row.name))


def _time_by(run: Run, label_of: Callable[[RuntimeLayer], str]) -> list[Share]:
    groups: dict[str, tuple[int, float]] = {}
    for layer in run.layer_profile.layers if run.layer_profile else []:
        label = label_of(layer)
        count, total = groups.get(label, (0, 0.0))
        groups[label] = (count + 1, total + layer.time_ms)
    return _shares(groups)


def time_by_layer_type(run: Run) -> list[Share]:
    """Runtime time grouped by the runtime's layer type (its kind when the type is empty)."""
    return _time_by(run, lambda layer: layer.layer_type or layer.kind)


def time_by_precision(run: Run) -> list[Share]:
    """Runtime time grouped by the precision each layer ran in ('unknown' when not reported)."""
    return _time_by(run, lambda layer: layer.precision.lower() or "unknown")


def successful_runs(runs: Sequence[Run]) -> list[Run]:
    """Runs without an error that have latency samples or statistics."""
    return [run for run in runs if run.error is None and run.latency and run.latency.count]
