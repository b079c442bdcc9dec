"""HTML: one self-contained page (inline CSS, inline SVG charts, no external resources).

The page is rendered from Jinja2 templates with autoescaping (``profiler/report/templates/``);
this module only turns the report into plain values for them. The page reads fully without
JavaScript; a few lines of inline script only make table headers sortable. The output is
deterministic: the same report gives the same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo, TensorSpec, values_text
from profiler.records.report import Report
from profiler.report import svg
from profiler.report.exporters.html_runs import runs_section
from profiler.report.exporters.html_templates import chart, render_template, static_text
from profiler.report.exporters.html_variants import render_variants
from profiler.report.summary import top_layers
from profiler.report.views import (
    LayerRow,
    effective,
    layer_rows,
    layer_time_columns,
    op_type_shares,
)
from profiler.units import percent, shape_text, si, size_bytes

TOP_MACS_LAYERS = 15
PROBLEM_STATUSES = ("unsupported", "shape_unknown")
"""Layer statuses whose zero cost means 'not counted', highlighted in the layer table."""

CSS = static_text("report.css")
SORT_JS = static_text("sort_table.js")


def _header(report: Report) -> dict[str, Any]:
    tool = f"{report.tool.get('name', '')} {report.tool.get('version', '')}".strip()
    return {"name": report.model.name if report.model else "report", "created": report.created,
            "tool": tool, "schema_version": report.schema_version, "links": _nav(report)}


def _environment(env: dict[str, Any]) -> dict[str, Any]:
    cpu, runtimes = _mapping(env.get("cpu")), _mapping(env.get("runtimes"))
    cores = "/".join(str(cpu.get(k, "?")) for k in
                     ("physical_cores", "logical_cores", "usable_cores"))
    memory = env.get("memory_bytes")
    return {"cpu": cpu.get("name", "-"), "cores": cores, "flags": cpu.get("isa_flags") or [],
            "os": env.get("os", "-"), "python": env.get("python", "-"),
            "memory": size_bytes(memory) if isinstance(memory, int) else "-",
            "runtimes": sorted(runtimes.items())}


def _mapping(value: Any) -> dict[str, Any]:
    """Environment entries are free-form JSON: use a dict only when it is one."""
    return value if isinstance(value, dict) else {}


def _nav(report: Report) -> list[tuple[str, str]]:
    links = [("environment", "Environment")] + ([("model", "Model")] if report.model else [])
    if report.analysis:
        links += [("totals", "Totals"), ("charts", "Charts")]
    if report.runs:
        links.append(("runs", "Runs"))
    if report.analysis:
        links.append(("layers", "All layers"))
    links.append(("problems", "Unsupported & notes"))
    if report.analysis:
        links.append(("conventions", "Conventions"))
    return links


def _tensor_rows(specs: Sequence[TensorSpec], kind: str) -> list[list[str]]:
    return [[kind, s.name, s.dtype, shape_text(s.shape), shape_text(s.declared_shape),
             s.shape_source, values_text(s)] for s in specs]


def _model_card(model: ModelInfo) -> dict[str, Any]:
    opsets = ", ".join(f"{k} {v}" for k, v in sorted(model.opsets.items()))
    return {"model": model, "file_size": size_bytes(model.file_bytes),
            "file_bytes": f"{model.file_bytes:,}", "opsets": opsets or "-",
            "metadata": sorted(model.metadata.items()),
            "tensors": _tensor_rows(model.inputs, "input") + _tensor_rows(model.outputs, "output"),
            "defaults_set": any(s.shape_source == "default" for s in model.inputs)}


def _totals(analysis: StaticAnalysis) -> list[tuple[str, str, str]]:
    """Cards as (name, value, exact value shown on hover)."""
    t = analysis.totals
    unsupported = sum(analysis.unsupported_ops.values())
    return [("MACs", si(t.macs), f"{t.macs:,}"), ("FLOPs", si(t.flops), f"{t.flops:,}"),
            ("Parameters", si(t.params), f"{t.params:,}"),
            ("Weights", size_bytes(t.weight_bytes), f"{t.weight_bytes:,} bytes"),
            ("Peak activations", size_bytes(t.peak_activation_bytes),
             f"{t.peak_activation_bytes:,} bytes"),
            ("All activations", size_bytes(t.activation_bytes), f"{t.activation_bytes:,} bytes"),
            ("Layers / nodes", f"{t.layer_count:,} / {t.node_count:,}",
             f"{t.constant_node_count:,} constant-only nodes are not layers"),
            ("Unsupported nodes", f"{unsupported:,}", "cost not counted")]


def op_colours(analysis: StaticAnalysis) -> dict[str, str]:
    """Op type -> palette colour, by MACs rank, the same in every chart of the page."""
    ranked = op_type_shares(analysis)
    return {s.label: svg.PALETTE[min(i, len(svg.PALETTE) - 1)] for i, s in enumerate(ranked)}


def _macs_chart(analysis: StaticAnalysis, colours: dict[str, str]) -> str:
    whole = analysis.totals.macs
    layers = [layer for layer in top_layers(analysis.layers, TOP_MACS_LAYERS)
              if effective(layer, "macs") > 0]
    bars = []
    for layer in layers:
        macs = effective(layer, "macs")
        shapes = "; ".join(shape_text(s) for s in layer.output_shapes)
        bars.append(svg.Bar(
            f"{layer.name} · {layer.op_type}", macs, f"{si(macs)} · {percent(macs, whole)}",
            f"{layer.name} ({layer.op_type})\nMACs {macs:,.0f} = {percent(macs, whole)} of "
            f"total\noutput {shapes}", colours.get(layer.op_type, svg.PALETTE[-1])))
    items = [(op, colours.get(op, svg.PALETTE[-1]))
             for op in dict.fromkeys(layer.op_type for layer in layers)]
    return svg.hbar_chart(bars, legend_items=items, label="top layers by MACs")


def _op_type_chart(analysis: StaticAnalysis, colours: dict[str, str]) -> str:
    bars = [svg.Bar(s.label, s.value, f"{si(s.value)} · {100 * s.share:.1f} %",
                    f"{s.label}: {s.count} nodes, MACs {s.value:,.0f} ({100 * s.share:.1f} %)",
                    colours.get(s.label, svg.PALETTE[-1]))
            for s in op_type_shares(analysis) if s.value > 0]
    return svg.hbar_chart(bars, label_width=220, label="MACs by op type")


def _charts(analysis: StaticAnalysis) -> list[tuple[str, Markup]]:
    colours = op_colours(analysis)
    return [(f"Top {TOP_MACS_LAYERS} layers by MACs", chart(_macs_chart(analysis, colours))),
            ("MACs by op type", chart(_op_type_chart(analysis, colours)))]


def _layer_columns(analysis: StaticAnalysis, times: Sequence[str]) -> list[tuple[str, str]]:
    """(header, kind) where kind is n (numeric), m (monospace) or t (text)."""
    columns = [("#", "n"), ("layer", "t"), ("op type", "t"), ("status", "t"),
               ("output shape", "m"), ("dtype", "m"), ("MACs", "n"), ("FLOPs", "n"),
               ("params", "n"), ("weights", "n"), ("activations", "n"), ("FLOP/B", "n")]
    columns += [(f"ms {label}", "n") for label in times]
    if _has_subgraphs(analysis):
        columns += [("subgraph", "t"), ("×", "n")]
    return [*columns, ("note", "t")]


def _has_subgraphs(analysis: StaticAnalysis) -> bool:
    return any(layer.subgraph or layer.multiplier != 1 for layer in analysis.layers)


def _selectors(columns: Sequence[tuple[str, str]], kind: str) -> str:
    """CSS selectors of the layer table's columns of one kind (positions only, no text)."""
    return ",".join(f"#layers td:nth-child({i + 1})" for i, c in enumerate(columns)
                    if c[1] == kind)


def _layer_cells(row: LayerRow, times: Sequence[str], sub: bool) -> dict[str, Any]:
    ai = row.arithmetic_intensity
    numbers = [si(row.macs), si(row.flops), si(row.params), size_bytes(row.weight_bytes),
               size_bytes(row.activation_bytes), "-" if ai is None else f"{ai:.2f}", *times]
    return {"row": row, "problem": row.status in PROBLEM_STATUSES, "numbers": numbers,
            "sub": [row.subgraph, f"{row.multiplier:g}"] if sub else []}


def _layer_table(report: Report, analysis: StaticAnalysis) -> dict[str, Any]:
    time_columns = layer_time_columns(report.runs, analysis)
    columns = _layer_columns(analysis, [label for label, _ in time_columns])
    sub = _has_subgraphs(analysis)
    rows = [_layer_cells(row, [f"{t[row.name]:.4f}" if row.name in t else ""
                               for _, t in time_columns], sub)
            for row in layer_rows(analysis)]
    return {"columns": columns, "rows": rows, "count": f"{len(rows):,}",
            "numeric": _selectors(columns, "n"), "mono": _selectors(columns, "m")}


def _problems(report: Report, analysis: StaticAnalysis | None) -> dict[str, Any]:
    return {"unsupported": sorted(analysis.unsupported_ops.items()) if analysis else [],
            "unknown_shapes": analysis.unknown_shape_nodes if analysis else [],
            "notes": [*(analysis.notes if analysis else []), *report.errors]}


def render(report: Report) -> str:
    analysis = report.analysis
    return str(render_template(
        "report.html.j2", css=Markup(CSS), script=Markup(SORT_JS), header=_header(report),
        environment=_environment(report.environment),
        model=_model_card(report.model) if report.model else None,
        totals=_totals(analysis) if analysis else None,
        charts=_charts(analysis) if analysis else None,
        variants=render_variants(report),
        runs=runs_section(report.runs, analysis) if report.runs else "",
        layers=_layer_table(report, analysis) if analysis else None,
        problems=_problems(report, analysis),
        conventions=list(analysis.conventions.items()) if analysis else None))
