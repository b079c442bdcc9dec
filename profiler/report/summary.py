"""The plain-text summary ``edgeprof-cli analyze`` prints when no -o is given."""

from __future__ import annotations

from profiler.records.analysis import LayerCost
from profiler.records.report import Report
from profiler.units import percent, shape_text, si, size_bytes


def top_layers(layers: list[LayerCost], count: int, key: str = "macs") -> list[LayerCost]:
    """The ``count`` costliest layers by ``key`` (multiplier applied), ties by name."""
    return sorted(layers, key=lambda layer: (-getattr(layer, key) * layer.multiplier, layer.name))[
        :count
    ]


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return out


def summary_text(report: Report, top: int = 10) -> str:
    model, analysis = report.model, report.analysis
    assert model is not None and analysis is not None
    totals = analysis.totals
    lines = [f"{model.name}  ({model.format}, {size_bytes(model.file_bytes)})"]
    for spec in model.inputs:
        note = "  [dynamic dims set by default]" if spec.shape_source == "default" else ""
        lines.append(f"  input  {spec.name}: {spec.dtype} {shape_text(spec.shape)}{note}")
        if spec.value_note:
            lines.append(f"         values ({spec.value_source}): {spec.value_note}")
    lines += [
        f"  MACs {si(totals.macs)}   FLOPs {si(totals.flops)}   params {si(totals.params)}",
        f"  weights {size_bytes(totals.weight_bytes)}   peak activations "
        f"{size_bytes(totals.peak_activation_bytes)}   layers {totals.layer_count}",
        "",
    ]
    rows = [
        [layer.name[:40], layer.op_type,
         shape_text(layer.output_shapes[0] if layer.output_shapes else None),
         si(layer.macs * layer.multiplier), percent(layer.macs * layer.multiplier, totals.macs)]
        for layer in top_layers(analysis.layers, top)
    ]
    lines += _table(["layer", "op", "output", "MACs", "share"], rows)
    if analysis.unsupported_ops:
        listed = ", ".join(f"{op} x{count}" for op, count in analysis.unsupported_ops.items())
        lines += ["", f"unsupported ops (cost not counted): {listed}"]
    if analysis.unknown_shape_nodes:
        unknown = analysis.unknown_shape_nodes
        lines += ["", f"nodes with unknown shapes (cost not counted): {len(unknown)}, "
                      f"e.g. {unknown[0]}"]
    lines += [f"warning: {w}" for w in [*analysis.notes, *model.warnings]]
    return "\n".join(lines)
