"""What the app's views read, joined once from a Report (no Qt: built off the GUI thread).

Per-run figures come from profiler.report.views (node times split across fused layers by
FLOPs, achieved GFLOP/s); this module only indexes them by model node for the table, the
details pane and the charts.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from profiler.records.analysis import LayerCost
from profiler.records.report import Report
from profiler.records.runs import Run, RuntimeLayer
from profiler.report.views import (
    LayerRow,
    flops_by_node,
    layer_rows,
    node_times_ms,
    run_label,
)
from profiler.units import shape_text


@dataclass(frozen=True)
class NodeRuntime:
    """One model node as one run executed it."""

    time_ms: float
    share: float
    """Of the sum of every runtime layer's time in the run (0..1)."""
    gflops_per_s: float | None
    precision_kernel: str
    provider: str
    runtime_layers: tuple[RuntimeLayer, ...]


@dataclass
class RunLayers:
    """A run that has a per-layer profile, indexed by model node."""

    label: str
    run: Run
    nodes: dict[str, NodeRuntime]
    total_layer_ms: float


@dataclass
class ReportData:
    report: Report
    layers: list[LayerCost]
    rows: list[LayerRow]
    index_by_name: dict[str, int]
    op_counts: list[tuple[str, int]]
    """Op types with their layer counts, most frequent first."""
    profiled_runs: list[RunLayers] = field(default_factory=list)
    tensor_shapes: dict[str, str] = field(default_factory=dict)
    """Tensor name -> shape text, for activations and model inputs (weights are not listed)."""
    producers: dict[str, str] = field(default_factory=dict)
    """Tensor name -> the layer that writes it."""

    @property
    def runs(self) -> list[Run]:
        return self.report.runs


def _joined(values: list[str]) -> str:
    return ", ".join(dict.fromkeys(value for value in values if value))


def _covering_layers(runtime_layers: list[RuntimeLayer]) -> dict[str, list[RuntimeLayer]]:
    covering: dict[str, list[RuntimeLayer]] = {}
    for layer in runtime_layers:
        for node in dict.fromkeys(layer.model_nodes):
            covering.setdefault(node, []).append(layer)
    return covering


def node_runtimes(run: Run, node_flops: dict[str, float]) -> RunLayers:
    profile = run.layer_profile
    assert profile is not None
    times = node_times_ms(profile, node_flops)
    whole = sum(layer.time_ms for layer in profile.layers)
    covering = _covering_layers(profile.layers)
    nodes = {}
    for node, time_ms in times.items():
        flops = node_flops.get(node, 0.0)
        layers = covering.get(node, [])
        nodes[node] = NodeRuntime(
            time_ms=time_ms, share=time_ms / whole if whole else 0.0,
            gflops_per_s=flops / (time_ms * 1e6) if time_ms > 0 and flops > 0 else None,
            precision_kernel=_joined([" ".join(filter(None, (lay.precision, lay.kernel)))
                                      for lay in layers]),
            provider=_joined([lay.provider for lay in layers]),
            runtime_layers=tuple(layers),
        )
    return RunLayers(run_label(run), run, nodes, whole)


def _tensor_maps(report: Report, layers: list[LayerCost]) -> tuple[dict[str, str], dict[str, str]]:
    shapes: dict[str, str] = {}
    producers: dict[str, str] = {}
    for spec in report.model.inputs if report.model else []:
        shapes[spec.name] = shape_text(spec.shape)
    for layer in layers:
        for index, name in enumerate(layer.outputs):
            producers.setdefault(name, layer.name)
            if index < len(layer.output_shapes):
                shapes.setdefault(name, shape_text(layer.output_shapes[index]))
    return shapes, producers


def build_report_data(report: Report) -> ReportData:
    layers = list(report.analysis.layers) if report.analysis else []
    index_by_name: dict[str, int] = {}
    for index, layer in enumerate(layers):
        index_by_name.setdefault(layer.name, index)
    node_flops = flops_by_node(report.analysis)
    profiled = [node_runtimes(run, node_flops) for run in report.runs
                if run.layer_profile and run.layer_profile.layers]
    shapes, producers = _tensor_maps(report, layers)
    return ReportData(
        report=report, layers=layers, rows=layer_rows(report.analysis),
        index_by_name=index_by_name,
        op_counts=Counter(layer.op_type for layer in layers).most_common(),
        profiled_runs=profiled, tensor_shapes=shapes, producers=producers,
    )
