"""The selected layer's details as rich text (pure: no Qt). Every name from the model is escaped.

Links ``layer:N`` point at other layers (the producer of an input), the view follows them.
"""

from __future__ import annotations

from html import escape

from profiler.records.analysis import LayerCost
from profiler.records.runs import RuntimeLayer
from profiler.units import si, size_bytes
from ui.report_data import ReportData, RunLayers


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _table(rows: list[list[str]], headers: list[str] | None = None) -> str:
    head = ("<tr>" + "".join(f"<th align=left>{h}</th>" for h in headers) + "</tr>"
            if headers else "")
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>"
                   for row in rows)
    return f"<table cellspacing=0 cellpadding=3>{head}{body}</table>"


def _count(value: int) -> str:
    """'4.089 G (4,089,184,256)': the exact count beside the short form where they differ."""
    return f"{si(value)} <span class=m>({value:,})</span>" if value >= 1000 else f"{value:,}"


def _cost_rows(layer: LayerCost) -> list[list[str]]:
    intensity = layer.arithmetic_intensity
    rows = [
        ["MACs", _count(layer.macs)],
        ["FLOPs", _count(layer.flops)],
        ["Params", f"{layer.params:,}"],
        ["Weights", size_bytes(layer.weight_bytes)],
        ["Activations", size_bytes(layer.activation_bytes)],
        ["Memory traffic", size_bytes(layer.memory_access_bytes)],
        ["FLOP/B", "-" if intensity is None else f"{intensity:.2f}"],
    ]
    if layer.subgraph or layer.multiplier != 1:
        rows.append(["Subgraph", f"{_e(layer.subgraph) or '-'} × {layer.multiplier:g}"])
    return rows


def _input_rows(data: ReportData, layer: LayerCost) -> list[list[str]]:
    model_inputs = {spec.name for spec in data.report.model.inputs} if data.report.model else set()
    rows = []
    for name in layer.inputs:
        if not name:
            continue
        producer = data.producers.get(name)
        if producer is not None and producer in data.index_by_name:
            source = f'<a href="layer:{data.index_by_name[producer]}">{_e(producer)}</a>'
        else:
            source = "model input" if name in model_inputs else "constant"
        rows.append([_e(name), _e(data.tensor_shapes.get(name, "-")), source])
    return rows


def _output_rows(layer: LayerCost) -> list[list[str]]:
    rows = []
    for index, name in enumerate(layer.outputs):
        shape = layer.output_shapes[index] if index < len(layer.output_shapes) else None
        dtype = layer.output_dtypes[index] if index < len(layer.output_dtypes) else ""
        shape_text = "?" if shape is None else "x".join(str(d) for d in shape) or "scalar"
        rows.append([_e(name), _e(shape_text), _e(dtype)])
    return rows


def _runtime_layer_row(layer: RuntimeLayer, node: str) -> list[str]:
    others = [n for n in layer.model_nodes if n != node]
    fused = f"with {_e(', '.join(others[:6]))}{' …' if len(others) > 6 else ''}" if others else ""
    return [_e(layer.name), _e(layer.layer_type or "-"), _e(layer.kind),
            _e(" ".join(filter(None, (layer.precision, layer.kernel))) or "-"),
            _e(layer.provider or "-"), f"{layer.time_ms:.4f}", fused]


def _run_section(run: RunLayers, node: str) -> str:
    title = f"<h4>{_e(run.label)}</h4>"
    runtime = run.nodes.get(node)
    profile = run.run.layer_profile
    if runtime is None:
        unmapped = profile is not None and node in profile.unmapped_model_nodes
        why = "not claimed by any runtime layer" if unmapped else "no runtime layer covers it"
        return f"{title}<p class=m>{why} (folded into a constant or fused away)</p>"
    rate = "-" if runtime.gflops_per_s is None else f"{runtime.gflops_per_s:.2f} GFLOP/s"
    summary = (f"<p><b>{runtime.time_ms:.4f} ms</b> · {100 * runtime.share:.1f} % of layer "
               f"time · achieved {rate}</p>")
    rows = [_runtime_layer_row(layer, node) for layer in runtime.runtime_layers]
    headers = ["runtime layer", "type", "kind", "precision · kernel", "device", "ms", "fused"]
    return title + summary + _table(rows, headers)


def layer_details_html(data: ReportData, layer_index: int, muted: str) -> str:
    layer = data.layers[layer_index]
    status = "" if layer.status == "ok" else f" · <b>{_e(layer.status)}</b>"
    parts = [
        f"<style>.m{{color:{muted}}} h4{{margin:10px 0 2px 0}} th{{color:{muted};"
        "font-weight:normal}</style>",
        f"<h3>{_e(layer.name)}</h3><p class=m>{_e(layer.op_type)}"
        f"{' (' + _e(layer.domain) + ')' if layer.domain else ''}{status}</p>",
    ]
    if layer.note:
        parts.append(f"<p>{_e(layer.note)}</p>")
    parts.append(_table(_cost_rows(layer)))
    parts.append("<h4>Inputs</h4>" + (_table(_input_rows(data, layer), ["tensor", "shape",
                                                                        "from"]) or "-"))
    parts.append("<h4>Outputs</h4>" + _table(_output_rows(layer), ["tensor", "shape", "dtype"]))
    if layer.attributes:
        rows = [[_e(name), _e(value)] for name, value in layer.attributes.items()]
        parts.append("<h4>Attributes</h4>" + _table(rows))
    parts += [_run_section(run, layer.name) for run in data.profiled_runs]
    return "".join(parts)
