"""HTML: one self-contained page (inline CSS, inline SVG charts, no external resources).

Every string from the report goes through ``html.escape(quote=True)``. The page reads fully
without JavaScript; a few lines of inline script only make table headers sortable. The output
is deterministic: the same report gives the same bytes.
"""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from profiler.analysis.types import StaticAnalysis
from profiler.bench.types import Run
from profiler.report import svg
from profiler.report.exporters.html_variants import render_variants
from profiler.report.model import ModelInfo, Report, TensorSpec, values_text
from profiler.report.summary import top_layers
from profiler.report.units import milliseconds, percent, rate, shape_text, si, size_bytes
from profiler.report.views import (
    LayerRow,
    LayerTime,
    Share,
    effective,
    layer_rows,
    layer_time_columns,
    layer_times,
    op_type_shares,
    run_label,
    run_summary,
    successful_runs,
    time_by_layer_type,
    time_by_precision,
)

TOP_MACS_LAYERS = 15
TOP_TIME_LAYERS = 15
PROBLEM_STATUSES = ("unsupported", "shape_unknown")
"""Layer statuses whose zero cost means 'not counted', highlighted in the layer table."""

CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--panel:#f6f8fa;--accent:#0969da;
--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
*{box-sizing:border-box}
body{margin:0;background:#fff;color:var(--fg);font:14px/1.45 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:24px 28px 64px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:36px 0 12px;padding-bottom:6px;
border-bottom:1px solid var(--line)}h3{font-size:16px;margin:24px 0 8px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.muted{color:var(--muted)}.mono,code{font-family:var(--mono);font-size:12.5px}
nav{margin:12px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:13px}
.chips span{display:inline-block;background:var(--panel);border:1px solid var(--line);
border-radius:10px;padding:0 7px;margin:2px 3px 2px 0;font-size:12px;font-family:var(--mono)}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{padding:4px 9px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--panel);font-weight:600;white-space:nowrap}
.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{background:none;color:var(--muted);font-weight:500;width:180px}
table.sortable th{cursor:pointer}table.sortable th[aria-sort]{color:var(--accent)}
.wide{overflow-x:auto;max-width:100%}
table.kv{display:block;max-width:100%;overflow-x:auto}table.kv td{overflow-wrap:anywhere}
#layers{font-size:12px;font-variant-numeric:tabular-nums}
#layers td{padding:2px 6px;border-bottom:1px solid #eaeef2;vertical-align:baseline}
#layers td:nth-child(2){max-width:340px;overflow-wrap:anywhere}
#layers thead th{position:sticky;top:0}
#layers td:last-child{max-width:260px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
table.runs th{white-space:normal;vertical-align:bottom}
#layers th{white-space:normal;vertical-align:bottom}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(165px,1fr));gap:12px}
.card{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:10px 14px}
.card .k{color:var(--muted);font-size:12px}.card .v{font-size:21px;font-weight:600}
figure{margin:14px 0 26px}figcaption{font-weight:600;margin-bottom:6px}
svg.chart{display:block;width:100%;max-width:900px;height:auto}
.error{border-left:4px solid #cf222e;background:#ffebe9;padding:8px 14px;margin:10px 0;
border-radius:0 6px 6px 0}.error pre{white-space:pre-wrap;margin:4px 0 0;font-family:var(--mono);
font-size:12.5px}.warn{color:#9a6700}.bad{color:#cf222e}
details pre{background:var(--panel);padding:10px;overflow-x:auto;font-size:12px}
""".strip()

SORT_JS = """
(function(){function val(t){var m=/^\\s*(-?[\\d.,]+)\\s*(k|M|G|T|KiB|MiB|GiB|TiB|B|%|ms)?/
.exec(t);if(!m)return NaN;var u={k:1e3,M:1e6,G:1e9,T:1e12,KiB:1024,MiB:1048576,
GiB:1073741824,TiB:1099511627776}[m[2]]||1;return parseFloat(m[1].replace(/,/g,''))*u;}
document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener(
'click',function(){var table=th.closest('table'),body=table.tBodies[0],
i=Array.prototype.indexOf.call(th.parentNode.children,th),num=th.classList.contains('n'),
asc=th.getAttribute('aria-sort')!=='ascending';table.querySelectorAll('th').forEach(
function(h){h.removeAttribute('aria-sort');});th.setAttribute('aria-sort',asc?'ascending':
'descending');var rows=Array.prototype.map.call(body.rows,function(r){var c=r.cells[i],
t=c?c.textContent:'';return [num?val(t):t.toLowerCase(),r];});rows.sort(function(a,b){
if(num){var x=isNaN(a[0]),y=isNaN(b[0]);if(x||y)return x-y;}var d=a[0]<b[0]?-1:a[0]>b[0]
?1:0;return asc?d:-d;});var f=document.createDocumentFragment();rows.forEach(function(r){
f.appendChild(r[1]);});body.appendChild(f);});});})();
""".strip()


def e(value: object) -> str:
    """Escape anything from the report for HTML text and attribute values."""
    return html.escape(str(value), quote=True)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[int] = (),
          cls: str = "") -> str:
    """A small table; ``headers`` and cells must already be escaped HTML."""
    def cell(tag: str, i: int, text: str) -> str:
        return f'<{tag} class="n">{text}</{tag}>' if i in numeric else f"<{tag}>{text}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(cell("td", i, c) for i, c in enumerate(r)) + "</tr>"
                   for r in rows)
    attr = f' class="{cls}"' if cls else ""
    return (f'<div class="wide"><table{attr}><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def kv_table(pairs: Sequence[tuple[str, str]]) -> str:
    """Key/value rows; values must already be escaped HTML."""
    rows = "".join(f"<tr><th>{e(k)}</th><td>{v}</td></tr>" for k, v in pairs)
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def figure(caption: str, chart: str) -> str:
    return f"<figure><figcaption>{e(caption)}</figcaption>{chart}</figure>"


def _header(report: Report) -> str:
    name = report.model.name if report.model else "report"
    tool = f"{report.tool.get('name', '')} {report.tool.get('version', '')}".strip()
    env = report.environment
    cpu, runtimes = _mapping(env.get("cpu")), _mapping(env.get("runtimes"))
    cores = "/".join(str(cpu.get(k, "?")) for k in
                     ("physical_cores", "logical_cores", "usable_cores"))
    flags = "".join(f"<span>{e(f)}</span>" for f in cpu.get("isa_flags") or [])
    versions = "".join(f"<span>{e(k)} {e(v)}</span>" for k, v in sorted(runtimes.items()))
    pairs = [("CPU", f"{e(cpu.get('name', '-'))} <span class=\"muted\">({e(cores)} "
                     "physical/logical/usable cores)</span>"),
             ("ISA flags", f'<span class="chips">{flags or "-"}</span>'),
             ("OS / Python", f"{e(env.get('os', '-'))} · Python {e(env.get('python', '-'))}"),
             ("Memory", e(size_bytes(env["memory_bytes"]))
              if isinstance(env.get("memory_bytes"), int) else "-"),
             ("Runtimes", f'<span class="chips">{versions or "-"}</span>')]
    return (f"<header><h1>{e(name)}</h1><div class=\"muted\">Created {e(report.created)} · "
            f"{e(tool)} · report schema {e(report.schema_version)}</div>"
            f"{_nav(report)}</header><h2 id=\"environment\">Environment</h2>{kv_table(pairs)}")


def _mapping(value: Any) -> dict[str, Any]:
    """Environment entries are free-form JSON: use a dict only when it is one."""
    return value if isinstance(value, dict) else {}


def _nav(report: Report) -> str:
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
    return "<nav>" + "".join(f'<a href="#{k}">{e(v)}</a>' for k, v in links) + "</nav>"


def _tensor_rows(specs: Sequence[TensorSpec], kind: str) -> list[list[str]]:
    return [[kind, e(s.name), e(s.dtype), f'<span class="mono">{e(shape_text(s.shape))}</span>',
             f'<span class="mono">{e(shape_text(s.declared_shape))}</span>', e(s.shape_source),
             e(values_text(s))]
            for s in specs]


def _model_card(model: ModelInfo) -> str:
    opsets = ", ".join(f"{k} {v}" for k, v in sorted(model.opsets.items()))
    pairs = [("Path", f'<span class="mono">{e(model.path)}</span>'), ("Format", e(model.format)),
             ("File size", f"{e(size_bytes(model.file_bytes))} "
                           f'<span class="muted">({model.file_bytes:,} bytes)</span>'),
             ("SHA-256", f'<span class="mono">{e(model.sha256 or "-")}</span>'),
             ("Opsets", e(opsets or "-")), ("IR version", e(model.ir_version or "-")),
             ("Producer", e(model.producer or "-"))]
    pairs += [(f"metadata: {k}", e(v)) for k, v in sorted(model.metadata.items())]
    rows = _tensor_rows(model.inputs, "input") + _tensor_rows(model.outputs, "output")
    note = ""
    if any(s.shape_source == "default" for s in model.inputs):
        note = ('<p class="warn">Dynamic dimensions were set to defaults (source '
                "<code>default</code>); analyse other sizes with <code>--shape</code>.</p>")
    warnings = "".join(f'<li class="warn">{e(w)}</li>' for w in model.warnings)
    tensors = table(["", "name", "dtype", "shape", "declared shape", "source", "values"],
                    rows) if rows \
        else '<p class="muted">The report records no inputs or outputs.</p>'
    return (f'<h2 id="model">Model</h2>{kv_table(pairs)}<h3>Inputs and outputs</h3>{tensors}'
            + note + (f"<ul>{warnings}</ul>" if warnings else ""))


def _card(key: str, value: str, exact: str) -> str:
    return (f'<div class="card" title="{e(exact)}"><div class="k">{e(key)}</div>'
            f'<div class="v">{e(value)}</div></div>')


def _totals(analysis: StaticAnalysis) -> str:
    t = analysis.totals
    unsupported = sum(analysis.unsupported_ops.values())
    cards = [_card("MACs", si(t.macs), f"{t.macs:,}"), _card("FLOPs", si(t.flops), f"{t.flops:,}"),
             _card("Parameters", si(t.params), f"{t.params:,}"),
             _card("Weights", size_bytes(t.weight_bytes), f"{t.weight_bytes:,} bytes"),
             _card("Peak activations", size_bytes(t.peak_activation_bytes),
                   f"{t.peak_activation_bytes:,} bytes"),
             _card("All activations", size_bytes(t.activation_bytes),
                   f"{t.activation_bytes:,} bytes"),
             _card("Layers / nodes", f"{t.layer_count:,} / {t.node_count:,}",
                   f"{t.constant_node_count:,} constant-only nodes are not layers"),
             _card("Unsupported nodes", f"{unsupported:,}", "cost not counted")]
    return f'<h2 id="totals">Totals</h2><div class="cards">{"".join(cards)}</div>'


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


def _charts(analysis: StaticAnalysis) -> str:
    colours = op_colours(analysis)
    return ('<h2 id="charts">Where the compute is</h2>'
            + figure(f"Top {TOP_MACS_LAYERS} layers by MACs", _macs_chart(analysis, colours))
            + figure("MACs by op type", _op_type_chart(analysis, colours)))


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


def _layer_style(columns: Sequence[tuple[str, str]]) -> str:
    numeric = ",".join(f"#layers td:nth-child({i + 1})" for i, c in enumerate(columns)
                       if c[1] == "n")
    mono = ",".join(f"#layers td:nth-child({i + 1})" for i, c in enumerate(columns)
                    if c[1] == "m")
    return (f"<style>{numeric}{{text-align:right;white-space:nowrap}}"
            f"{mono}{{font-family:var(--mono);white-space:nowrap}}</style>")


def _layer_cells(index: int, row: LayerRow, times: Sequence[str], sub: bool) -> list[str]:
    ai = row.arithmetic_intensity
    status = (f'<b class="warn">{e(row.status)}</b>' if row.status in PROBLEM_STATUSES
              else e(row.status))
    cells = [str(index), e(row.name), e(row.op_type), status, e(row.output_shapes),
             e(row.output_dtypes), si(row.macs), si(row.flops), si(row.params),
             size_bytes(row.weight_bytes), size_bytes(row.activation_bytes),
             "-" if ai is None else f"{ai:.2f}", *times]
    if sub:
        cells += [e(row.subgraph), f"{row.multiplier:g}"]
    return [*cells, f'<span title="{e(row.note)}">{e(row.note)}</span>' if row.note else ""]


def _layer_table(report: Report, analysis: StaticAnalysis) -> str:
    time_columns = layer_time_columns(report.runs, analysis)
    columns = _layer_columns(analysis, [label for label, _ in time_columns])
    sub = _has_subgraphs(analysis)
    head = "".join(f'<th class="n">{e(h)}</th>' if k == "n" else f"<th>{e(h)}</th>"
                   for h, k in columns)
    rows = []
    for index, row in enumerate(layer_rows(analysis), start=1):
        times = [f"{t[row.name]:.4f}" if row.name in t else "" for _, t in time_columns]
        rows.append("<tr><td>" + "</td><td>".join(_layer_cells(index, row, times, sub))
                    + "</td></tr>")
    return (f'<h2 id="layers">All layers <span class="muted">({len(rows):,})</span></h2>'
            f"{_layer_style(columns)}<div class=\"wide\"><table id=\"layers\" class=\"sortable\">"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _problems(report: Report, analysis: StaticAnalysis | None) -> str:
    parts = ['<h2 id="problems">Unsupported ops and notes</h2>']
    if analysis and analysis.unsupported_ops:
        rows = [[e(op), str(n)] for op, n in sorted(analysis.unsupported_ops.items())]
        parts += ["<h3>Unsupported ops (cost not counted)</h3>",
                  table(["op type", "nodes"], rows, numeric=(1,))]
    if analysis and analysis.unknown_shape_nodes:
        items = "".join(f"<li>{e(n)}</li>" for n in analysis.unknown_shape_nodes)
        parts.append(f"<h3>Nodes with unknown shapes (cost not counted)</h3><ul>{items}</ul>")
    notes = [*(analysis.notes if analysis else []), *report.errors]
    if notes:
        parts.append("<h3>Notes</h3><ul>" + "".join(f"<li>{e(n)}</li>" for n in notes) + "</ul>")
    if len(parts) == 1:
        parts.append('<p class="muted">Every op has a cost function; no notes.</p>')
    return "".join(parts)


def _conventions(analysis: StaticAnalysis) -> str:
    pairs = [(k, e(v)) for k, v in analysis.conventions.items()]
    return ('<h2 id="conventions">Conventions</h2><p>Times are milliseconds, sizes bytes '
            "(shown in binary units), counts are exact integers in the JSON report.</p>"
            + kv_table(pairs))


def config_text(config: dict[str, Any]) -> str:
    return json.dumps(config, indent=1, sort_keys=True, default=str, ensure_ascii=False)


def _ms_tick(value: float) -> str:
    return f"{value:.6g} ms"


def _ms(value: float | None) -> str:
    return milliseconds(value).removesuffix(" ms")


def _run_table(runs: Sequence[Run]) -> str:
    rows = []
    for index, (run, s) in enumerate(zip(runs, map(run_summary, runs), strict=True), start=1):
        mean = "-" if s.mean_ms is None else f"{_ms(s.mean_ms)} ± {_ms(s.std_ms)}"
        rows.append([
            f'<a href="#run-{index}">{e(s.label)}</a>', e(s.device_name or "-"),
            e(s.precision or "-"), e(run.weight_precision or "-"), _ms(s.load_ms),
            _ms(s.compile_ms), _ms(s.first_inference_ms),
            _ms(s.p50_ms), _ms(s.p90_ms), _ms(s.p99_ms), mean,
            "-" if s.cv is None else f"{100 * s.cv:.1f} %",
            "-" if s.throughput_fps is None else f"{s.throughput_fps:.1f}",
            "-" if s.peak_rss_bytes is None else size_bytes(s.peak_rss_bytes),
            _error_cell(index, s.error)])
    headers = ["run", "device name", "precision", "weights", "load", "compile", "first inference",
               "p50", "p90", "p99", "mean ± std", "CV", "fps", "peak RSS", "error"]
    return ('<p class="muted">Times in milliseconds; peak RSS is the highest resident-set peak '
            "of the worker process over load, compile and inference.</p>"
            + table(headers, rows, numeric=tuple(range(4, 14)), cls="sortable runs"))


def _error_cell(index: int, error: str) -> str:
    """The stage only (full message on hover and in the run's own section)."""
    if not error:
        return "-"
    return (f'<a class="bad" href="#run-{index}" title="{e(error)}">'
            f"{e(error.split(':', 1)[0])} failed</a>")


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


def _latency_charts(run: Run) -> str:
    stats = run.latency
    if stats is None or not stats.count:
        return ""
    if not stats.samples_ms:
        return '<p class="muted">Raw latency samples were not stored for this run.</p>'
    label = run_label(run)
    histogram = svg.histogram(stats.samples_ms, markers=(("p50", stats.p50), ("p99", stats.p99)),
                              axis_format=_ms_tick, value_format=milliseconds,
                              label=f"latency distribution {label}")
    trace = svg.line_chart(stats.samples_ms, markers=(("p50", stats.p50),),
                           axis_format=_ms_tick, value_format=milliseconds,
                           label=f"latency per iteration {label}")
    return (figure(f"Latency distribution ({stats.count} samples, stop: "
                   f"{stats.stop_reason or '-'})", histogram)
            + figure("Latency per iteration", trace))


def _layer_time_bar(t: LayerTime) -> svg.Bar:
    achieved = "-" if t.gflops_per_s is None else f"{rate(t.gflops_per_s)} GFLOP/s"
    tip = (f"{t.name} ({t.layer_type}, {t.kind})\ntime {t.time_ms:.4f} ms = "
           f"{100 * t.share:.1f} %\nkernel {t.kernel or '-'}, precision {t.precision or '-'}\n"
           f"achieved {achieved}\nmodel nodes: {', '.join(t.model_nodes) or '-'}")
    return svg.Bar(f"{t.name} · {t.layer_type}", t.time_ms,
                   f"{milliseconds(t.time_ms)} · {100 * t.share:.1f} %", tip,
                   svg.KIND_COLOURS.get(t.kind, svg.PALETTE[-1]))


def _share_chart(shares: Sequence[Share], label: str) -> str:
    return svg.hbar_chart(
        [svg.Bar(s.label, s.value, f"{milliseconds(s.value)} · {100 * s.share:.1f} %",
                 f"{s.label}: {s.count} layers, {s.value:.4f} ms", svg.PALETTE[i % 10])
         for i, s in enumerate(shares)],
        axis_format=_ms_tick, label_width=220, label=label)


def _layer_time_parts(run: Run, analysis: StaticAnalysis | None) -> str:
    times = layer_times(run, analysis)
    if not times:
        return ""
    top = times[:TOP_TIME_LAYERS]
    kinds = dict.fromkeys(t.kind for t in top)
    chart = svg.hbar_chart([_layer_time_bar(t) for t in top], axis_format=_ms_tick,
                           legend_items=[(k, svg.KIND_COLOURS.get(k, svg.PALETTE[-1]))
                                         for k in kinds], label="top layers by time")
    by_type = _share_chart(time_by_layer_type(run), "time by layer type")
    by_precision = _share_chart(time_by_precision(run), "time by precision")
    rows = [[e(t.name), e(t.layer_type), e(t.kind), f'<span class="mono">{e(t.kernel)}</span>',
             e(t.precision), f"{t.time_ms:.4f}", f"{100 * t.share:.1f} %",
             rate(t.gflops_per_s), e(", ".join(t.model_nodes) or "-")] for t in top]
    headers = ["layer", "type", "kind", "kernel", "precision", "time ms", "share", "GFLOP/s",
               "model nodes"]
    return (figure(f"Top {TOP_TIME_LAYERS} layers by time", chart)
            + figure("Time by runtime layer type", by_type)
            + figure("Time by precision that ran", by_precision)
            + table(headers, rows, numeric=(5, 6, 7), cls="sortable") + _profile_notes(run))


def _profile_notes(run: Run) -> str:
    profile = run.layer_profile
    if profile is None:
        return ""
    items = [f"Layer times sum to {milliseconds(profile.total_layer_ms)} "
             f"({100 * profile.coverage:.0f} % of the end-to-end median) over "
             f"{profile.iterations} profiled iterations, {profile.statistic} per layer"
             + (" (outside 80-125 %: see the warning)." if profile.coverage_flag else ".")]
    if profile.unmapped_model_nodes:
        items.append(f"{len(profile.unmapped_model_nodes)} model compute nodes are not claimed "
                     f"by any runtime layer: {', '.join(profile.unmapped_model_nodes[:20])}")
    items += profile.notes
    return '<ul class="muted">' + "".join(f"<li>{e(i)}</li>" for i in items) + "</ul>"


def _run_detail(index: int, run: Run, analysis: StaticAnalysis | None) -> str:
    facts = " · ".join(e(x) for x in (run.device_name, run.backend,
                                      f"precision {run.precision}" if run.precision else "")
                       if x)
    parts = [f'<h3 id="run-{index}">{e(run_label(run))}</h3><p class="muted">{facts}</p>']
    if run.error:
        parts.append(f'<div class="error"><b>Failed at stage {e(run.error.stage)}</b>'
                     f"<pre>{e(run.error.message)}</pre></div>")
    parts += [_latency_charts(run), _layer_time_parts(run, analysis)]
    parts += [f'<p class="warn">{e(w)}</p>' for w in run.warnings]
    if run.config:
        parts.append("<details><summary>Run configuration</summary>"
                     f"<pre>{e(config_text(run.config))}</pre></details>")
    return "".join(parts)


def _runs_section(runs: Sequence[Run], analysis: StaticAnalysis | None) -> str:
    parts = ['<h2 id="runs">Runs</h2>', _run_table(runs)]
    measured = successful_runs(runs)
    if measured:
        parts.append(figure("Latency per run: p50 bar, p90 and p99 markers",
                            _device_chart(measured)))
    parts += [_run_detail(i, run, analysis) for i, run in enumerate(runs, start=1)]
    return "".join(parts)


def render(report: Report) -> str:
    title = f"{report.model.name if report.model else 'report'} · profile"
    parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width,initial-scale=1">',
             f"<title>{e(title)}</title><style>{CSS}</style></head><body><main>",
             _header(report)]
    analysis = report.analysis
    if report.model:
        parts.append(_model_card(report.model))
    if analysis:
        parts += [_totals(analysis), _charts(analysis)]
    parts.append(render_variants(report))
    if report.runs:
        parts.append(_runs_section(report.runs, analysis))
    if analysis:
        parts.append(_layer_table(report, analysis))
    parts.append(_problems(report, analysis))
    if analysis:
        parts.append(_conventions(analysis))
    parts.append(f"</main><script>{SORT_JS}</script></body></html>\n")
    return "".join(parts)

