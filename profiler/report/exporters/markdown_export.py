"""Markdown: a report to paste into a pull request or wiki page.

Every string taken from the report goes through :func:`md_escape`, so a node named
``[x](javascript:...)`` or ``<script>`` renders as literal text, never as a link or HTML.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo, TensorSpec, values_text
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.report.exporters.markdown_variants import variants_markdown
from profiler.report.summary import top_layers
from profiler.report.views import (
    Share,
    effective,
    layer_times,
    op_type_shares,
    run_label,
    run_summary,
    time_by_layer_type,
    time_by_precision,
)
from profiler.units import milliseconds, percent, rate, shape_text, si, size_bytes

MD_SPECIAL = set("\\`*_[]<>|&~")
TOP_LAYERS = 20
TOP_RUN_LAYERS = 10


def md_escape(text: object) -> str:
    """Backslash-escape Markdown/HTML syntax characters; newlines become spaces (tables)."""
    escaped = "".join("\\" + ch if ch in MD_SPECIAL else ch for ch in str(text))
    return escaped.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()
          ) -> list[str]:
    """A pipe table; cells must already be escaped. ``right`` = indexes of numeric columns."""
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return [*lines, ""]


def _tensor_rows(specs: Sequence[TensorSpec], kind: str) -> list[list[str]]:
    return [[kind, md_escape(s.name), md_escape(s.dtype), md_escape(shape_text(s.shape)),
             md_escape(shape_text(s.declared_shape)), md_escape(s.shape_source),
             md_escape(values_text(s))] for s in specs]


def _model_card(model: ModelInfo) -> list[str]:
    lines = ["## Model", "",
             f"- **File:** {md_escape(model.path)}",
             f"- **Format:** {md_escape(model.format)}, {size_bytes(model.file_bytes)} "
             f"({model.file_bytes} bytes)",
             f"- **SHA-256:** {md_escape(model.sha256) or '-'}"]
    if model.opsets:
        opsets = ", ".join(f"{k} {v}" for k, v in sorted(model.opsets.items()))
        lines.append(f"- **Opsets:** {md_escape(opsets)}")
    if model.producer:
        lines.append(f"- **Producer:** {md_escape(model.producer)}")
    lines.append("")
    rows = _tensor_rows(model.inputs, "input") + _tensor_rows(model.outputs, "output")
    lines += table(["", "name", "dtype", "shape", "declared", "source", "values"], rows)
    if any(s.shape_source == "default" for s in model.inputs):
        lines += ["Dynamic dimensions were set to defaults (source `default`); "
                  "pass `--shape` to analyse other sizes.", ""]
    return lines


def _totals(analysis: StaticAnalysis) -> list[str]:
    t = analysis.totals
    rows = [["MACs", si(t.macs), str(t.macs)], ["FLOPs", si(t.flops), str(t.flops)],
            ["Parameters", si(t.params), str(t.params)],
            ["Weights", size_bytes(t.weight_bytes), str(t.weight_bytes)],
            ["Activations (all outputs)", size_bytes(t.activation_bytes), str(t.activation_bytes)],
            ["Peak activations", size_bytes(t.peak_activation_bytes),
             str(t.peak_activation_bytes)],
            ["Layers / nodes", str(t.layer_count), str(t.node_count)]]
    return ["## Totals", "", *table(["", "value", "exact"], rows, right=(1, 2))]


def _top_layers(analysis: StaticAnalysis) -> list[str]:
    whole = analysis.totals.macs
    rows = [[md_escape(layer.name), md_escape(layer.op_type),
             md_escape("; ".join(shape_text(s) for s in layer.output_shapes)),
             si(effective(layer, "macs")), percent(effective(layer, "macs"), whole),
             si(effective(layer, "params"))]
            for layer in top_layers(analysis.layers, TOP_LAYERS)]
    return [f"## Top {TOP_LAYERS} layers by MACs", "",
            *table(["layer", "op", "output", "MACs", "share", "params"], rows, right=(3, 4, 5))]


def _by_op_type(analysis: StaticAnalysis) -> list[str]:
    flops = {row.op_type: row.flops for row in analysis.by_op_type}
    rows = [[md_escape(s.label), str(s.count), si(s.value), f"{100 * s.share:.1f} %",
             si(flops.get(s.label, 0))] for s in op_type_shares(analysis)]
    return ["## By op type", "",
            *table(["op type", "count", "MACs", "share", "FLOPs"], rows, right=(1, 2, 3, 4))]


def _problems(analysis: StaticAnalysis, model: ModelInfo | None) -> list[str]:
    lines: list[str] = []
    if analysis.unsupported_ops:
        rows = [[md_escape(op), str(n)] for op, n in sorted(analysis.unsupported_ops.items())]
        lines += ["## Unsupported ops (cost not counted)", "",
                  *table(["op type", "nodes"], rows, right=(1,))]
    if analysis.unknown_shape_nodes:
        lines += ["## Nodes with unknown shapes (cost not counted)", "",
                  *(f"- {md_escape(name)}" for name in analysis.unknown_shape_nodes), ""]
    notes = [*analysis.notes, *(model.warnings if model else [])]
    if notes:
        lines += ["## Notes and warnings", "", *(f"- {md_escape(n)}" for n in notes), ""]
    return lines


def _conventions(analysis: StaticAnalysis) -> list[str]:
    items = [f"- **{md_escape(k)}:** {md_escape(v)}" for k, v in analysis.conventions.items()]
    return ["## Conventions", "", *items, ""] if items else []


def _ms(value: float | None) -> str:
    return milliseconds(value).removesuffix(" ms")


def _run_rows(runs: Sequence[Run]) -> list[list[str]]:
    rows = []
    for run, s in zip(runs, map(run_summary, runs), strict=True):
        mean = "-" if s.mean_ms is None else f"{_ms(s.mean_ms)} ± {_ms(s.std_ms)}"
        rows.append([
            md_escape(s.device), md_escape(s.variant), md_escape(s.device_name),
            md_escape(s.precision), md_escape(run.weight_precision) or "-", _ms(s.load_ms),
            _ms(s.compile_ms),
            _ms(s.first_inference_ms), _ms(s.p50_ms), _ms(s.p90_ms), _ms(s.p99_ms), mean,
            "-" if s.cv is None else f"{100 * s.cv:.1f} %",
            "-" if s.throughput_fps is None else f"{s.throughput_fps:.1f}",
            "-" if s.peak_rss_bytes is None else size_bytes(s.peak_rss_bytes),
            md_escape(s.error) or "-",
        ])
    return rows


def _runs(runs: Sequence[Run], analysis: StaticAnalysis | None) -> list[str]:
    headers = ["device", "variant", "device name", "precision", "weights", "load ms",
               "compile ms", "first inference ms", "p50 ms", "p90 ms", "p99 ms", "mean ± std ms",
               "CV", "throughput fps", "peak RSS", "error"]
    lines = ["## Runs", "", *table(headers, _run_rows(runs), right=tuple(range(5, 15)))]
    for run in runs:
        lines += [f"- warning ({md_escape(run_label(run))}): {md_escape(w)}" for w in run.warnings]
        lines += [""] if run.warnings else []
        lines += _run_layers(run, analysis)
    return lines


def _run_layers(run: Run, analysis: StaticAnalysis | None) -> list[str]:
    rows = [[md_escape(t.name), md_escape(t.layer_type), md_escape(t.kind), md_escape(t.kernel),
             md_escape(t.precision), f"{t.time_ms:.4f}", f"{100 * t.share:.1f} %",
             rate(t.gflops_per_s),
             md_escape(", ".join(t.model_nodes)) or "-"]
            for t in layer_times(run, analysis)[:TOP_RUN_LAYERS]]
    if not rows:
        return []
    headers = ["layer", "type", "kind", "kernel", "precision", "time ms", "share", "GFLOP/s",
               "model nodes"]
    profile = run.layer_profile
    coverage = profile.coverage if profile else 0.0
    statistic = profile.statistic if profile else "median"
    flagged = " (outside 80-125 %: see the warning)" if profile and profile.coverage_flag else ""
    return [f"### {md_escape(run_label(run))}: top {TOP_RUN_LAYERS} layers by time", "",
            *table(headers, rows, right=(5, 6, 7)),
            f"Layer times explain {100 * coverage:.0f} % of the end-to-end median "
            f"({md_escape(statistic)} per layer){flagged}.", "",
            *_time_shares("layer type", time_by_layer_type(run)),
            *_time_shares("precision", time_by_precision(run))]


def _time_shares(what: str, shares: Sequence[Share]) -> list[str]:
    rows = [[md_escape(s.label), str(s.count), f"{s.value:.4f}", f"{100 * s.share:.1f} %"]
            for s in shares]
    return table([what, "layers", "time ms", "share"], rows, right=(1, 2, 3))


def _header(report: Report) -> list[str]:
    name = report.model.name if report.model else "report"
    tool = f"{report.tool.get('name', '')} {report.tool.get('version', '')}".strip()
    cpu = report.environment.get("cpu", {})
    lines = [f"# {md_escape(name)}: profile", "",
             f"Created {md_escape(report.created)} by {md_escape(tool)} "
             f"(report schema {report.schema_version}).", ""]
    if isinstance(cpu, dict) and cpu.get("name"):
        lines += [f"Machine: {md_escape(cpu['name'])}, {md_escape(cpu.get('logical_cores'))} "
                  f"logical cores, {md_escape(report.environment.get('os', ''))}.", ""]
    return lines


def render(report: Report) -> str:
    lines = _header(report)
    if report.model:
        lines += _model_card(report.model)
    analysis = report.analysis
    if analysis:
        lines += _totals(analysis) + _top_layers(analysis) + _by_op_type(analysis)
    lines += variants_markdown(report)
    if report.runs:
        lines += _runs(report.runs, analysis)
    if analysis:
        lines += _problems(analysis, report.model) + _conventions(analysis)
    if report.errors:
        lines += ["## Errors", "", *(f"- {md_escape(e)}" for e in report.errors), ""]
    return "\n".join(lines).rstrip("\n") + "\n"
