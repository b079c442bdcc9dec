"""The HTML report's variants section: latency-vs-drift scatter per device, variant table,
and per variant the diagnostics hints and the layers with the largest drift.

The scatter puts p50 latency (ms) on x and drift as SQNR against FP32 (dB, higher = closer to
FP32) on y; marker area is proportional to the file size relative to FP32. Variants on the
device's Pareto front (latency, drift, size) are drawn solid; the step line joins the
latency/drift staircase among them. The FP32 reference (no drift) and variants identical to it
sit on the dashed top line. Every string from the report is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

from profiler.quant.drift import MAX_SQNR_DB
from profiler.quant.pareto import latency_front, pareto_points
from profiler.quant.types import REFERENCE_ID, Diagnostics, LayerDriftResult, ParetoPoint, Variant
from profiler.report import svg
from profiler.report.model import Report
from profiler.report.units import size_bytes
from profiler.report.variant_views import (
    IDENTICAL_DB,
    VariantRow,
    drift_is_indicative,
    size_references,
    sqnr_text,
    variant_rows,
    variants_section_needed,
)

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 130, 40, 48
MAX_RADIUS, MIN_RADIUS = 18.0, 3.0
LABEL_CHARS = 18
LABEL_PX = 13
BADGE = ('<span style="background:#fff8c5;border:1px solid #d4a72c;border-radius:8px;'
         'padding:0 6px;font-size:11px;white-space:nowrap">indicative only</span>')


def e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


# --- the scatter -------------------------------------------------------------------------


class _Axes:
    def __init__(self, points: Sequence[ParetoPoint]) -> None:
        self.x_ticks = svg.nice_ticks(0.0, max(p.latency_ms for p in points) * 1.05 or 1.0)
        finite = [p.sqnr_db for p in points if p.sqnr_db < IDENTICAL_DB]
        low, high = (min(finite), max(finite)) if finite else (0.0, 60.0)
        self.y_ticks = svg.nice_ticks(math.floor(low - 3), math.ceil(high + 3))
        self.plot_top = TOP + 28  # the band above holds the reference line
        self.largest = max(p.size_ratio for p in points) or 1.0

    def x(self, latency_ms: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * latency_ms / self.x_ticks[-1]

    def y(self, sqnr_db: float) -> float:
        if sqnr_db >= IDENTICAL_DB:
            return TOP + 10
        low, high = self.y_ticks[0], self.y_ticks[-1]
        return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - self.plot_top) * (sqnr_db - low) / (
            (high - low) or 1.0)

    def radius(self, size_ratio: float) -> float:
        return max(MIN_RADIUS, MAX_RADIUS * math.sqrt(max(size_ratio, 0.0) / self.largest))


def _grid(axes: _Axes) -> list[str]:
    parts, bottom, right = [], HEIGHT - BOTTOM, WIDTH - RIGHT
    for tick in axes.x_ticks:
        x = _num(axes.x(tick))
        parts.append(f'<line x1="{x}" y1="{axes.plot_top}" x2="{x}" y2="{bottom}" '
                     f'stroke="{svg.GRID}"/><text x="{x}" y="{bottom + 16}" text-anchor="middle" '
                     f'fill="{svg.MUTED}" font-size="11">{e(svg.si_compact(tick))}</text>')
    for tick in axes.y_ticks:
        y = _num(axes.y(tick))
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{right}" y2="{y}" stroke="{svg.GRID}"/>'
                     f'<text x="{LEFT - 6}" y="{y}" dy="4" text-anchor="end" fill="{svg.MUTED}" '
                     f'font-size="11">{e(svg.si_compact(tick))}</text>')
    top = _num(axes.y(MAX_SQNR_DB))
    parts.append(f'<line x1="{LEFT}" y1="{top}" x2="{right}" y2="{top}" stroke="{svg.MUTED}" '
                 f'stroke-dasharray="4 3"/><text x="{right + 6}" y="{top}" dy="4" '
                 f'fill="{svg.MUTED}" font-size="11">FP32 / identical</text>')
    parts.append(f'<text x="{(LEFT + right) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
                 "p50 latency (ms)</text>")
    parts.append(f'<text transform="translate(16 {(axes.plot_top + bottom) / 2}) rotate(-90)" '
                 'text-anchor="middle">SQNR vs FP32 (dB), higher = closer</text>')
    return parts


def _step_line(axes: _Axes, points: Sequence[ParetoPoint]) -> str:
    stairs = latency_front([p for p in points if p.on_front])
    if len(stairs) < 2:
        return ""
    path = f"M{_num(axes.x(stairs[0].latency_ms))} {_num(axes.y(stairs[0].sqnr_db))}"
    for point in stairs[1:]:
        path += f"H{_num(axes.x(point.latency_ms))}V{_num(axes.y(point.sqnr_db))}"
    return (f'<path d="{path}" fill="none" stroke="{svg.PALETTE[3]}" stroke-width="1.5" '
            'stroke-dasharray="5 3"/>')


def _marker(axes: _Axes, point: ParetoPoint, colour: str, label_dy: float) -> str:
    x, y, r = axes.x(point.latency_ms), axes.y(point.sqnr_db), axes.radius(point.size_ratio)
    drift = "no drift (reference)" if point.variant == REFERENCE_ID else (
        f"SQNR {point.sqnr_db:.1f} dB")
    tip = (f"{point.variant} on {point.device}\np50 {point.latency_ms:.3f} ms · {drift}\n"
           f"size {point.size_ratio:.2f}x FP32 ({size_bytes(point.file_bytes)})"
           + ("\non the Pareto front" if point.on_front else ""))
    style = (f'fill="{colour}" fill-opacity="0.85" stroke="{svg.TEXT}" stroke-width="1.5"'
             if point.on_front else f'fill="{colour}" fill-opacity="0.3" stroke="{colour}"')
    label = svg.truncate(point.variant, LABEL_CHARS)
    return (f"<g><title>{e(tip)}</title><circle cx=\"{_num(x)}\" cy=\"{_num(y)}\" "
            f'r="{_num(r)}" {style}/><text x="{_num(x + r + 4)}" y="{_num(y + label_dy)}" '
            f'dy="4" font-size="11"{svg.HALO}>{e(label)}</text></g>')


def label_offsets(axes: _Axes, points: Sequence[ParetoPoint]) -> list[float]:
    """Vertical shifts (px) so that labels of nearby points do not overprint each other."""
    placed: list[tuple[float, float]] = []
    offsets = []
    for point in points:
        x = axes.x(point.latency_ms) + axes.radius(point.size_ratio) + 4
        y, dy = axes.y(point.sqnr_db), 0.0
        while any(abs(x - px) < LABEL_CHARS * svg.CHAR_PX and abs(y + dy - py) < LABEL_PX
                  for px, py in placed):
            dy += LABEL_PX
        placed.append((x, y + dy))
        offsets.append(dy)
    return offsets


def scatter(points: Sequence[ParetoPoint], device: str,
            colours: dict[str, str] | None = None) -> str:
    """The latency-vs-drift chart of one device (empty string without points)."""
    if not points:
        return ""
    axes = _Axes(points)
    colours = colours or {}
    body = [*_grid(axes), _step_line(axes, points)]
    ordered = sorted(points, key=lambda p: -p.size_ratio)  # small markers drawn on top
    body += [_marker(axes, p, colours.get(p.variant, svg.PALETTE[0]), dy)
             for p, dy in zip(ordered, label_offsets(axes, ordered), strict=True)]
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-label="{e("latency vs drift on " + device)}" '
            f'font-size="12" fill="{svg.TEXT}">' + "".join(body) + "</svg>")


# --- tables ------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _cells(row: VariantRow) -> list[str]:
    badge = BADGE if row.indicative_only else ""
    drift = "reference" if row.is_reference else sqnr_text(row.sqnr_db)
    front = "◆" if row.on_front else ""
    return [f"<b>{e(row.variant)}</b>", e(row.library or "-"), e(row.device),
            e(size_bytes(row.file_bytes)) if row.file_bytes else "-",
            "reference" if row.is_reference else _fmt(row.size_ratio, ".2f"),
            _fmt(row.p50_ms, ".3f"), _fmt(row.latency_ratio, ".2f"),
            e(size_bytes(row.peak_rss_bytes)) if row.peak_rss_bytes else "-",
            f"{e(drift)} {badge}".strip(), _fmt(row.cosine, ".6f"),
            _fmt(row.max_abs_error, ".3g"), _fmt(row.top1_agreement, ".1%"), front,
            f'<span class="bad">{e(row.error)}</span>' if row.error else ""]


HEADERS = ["variant", "library", "device", "file size", "size × FP32", "p50 ms", "p50 × FP32",
           "peak RSS", "SQNR dB", "cosine", "max abs err", "top-1 agree", "Pareto", "error"]


def variant_table(rows: Sequence[VariantRow]) -> str:
    from profiler.report.exporters.html_export import table

    return table([e(h) for h in HEADERS], [_cells(row) for row in rows],
                 numeric=(3, 4, 5, 6, 7, 8, 9, 10, 11), cls="sortable")


def _hints(diagnostics: dict[str, Diagnostics]) -> str:
    parts = []
    for device, found in diagnostics.items():
        shares = (f"casts/converts {found.conversion_share:.0%} · quantize/dequantize "
                  f"{found.quantize_share:.0%} · reorders {found.reorder_share:.0%} · float "
                  f"matrix layers {found.float_compute_share:.0%} · integer matrix layers "
                  f"{found.integer_compute_share:.0%}")
        precisions = ", ".join(f"{p} {s:.0%}" for p, s in found.precisions.items())
        items = "".join(f"<li>{e(hint)}</li>" for hint in found.hints)
        parts.append(f"<p><b>{e(device)}</b> <span class=\"muted\">{e(shares)}; precisions: "
                     f"{e(precisions or '-')}</span></p><ul>{items}</ul>")
    return "".join(parts)


def _layer_drift(result: LayerDriftResult) -> str:
    badge = f" {BADGE}" if result.indicative_only else ""
    first = result.first_below
    head = (f"First layer below {result.threshold_db:g} dB: <b>{e(first.node)}</b> "
            f"({e(first.op_type)}, {first.sqnr_db:.1f} dB)" if first else
            f"No layer falls below {result.threshold_db:g} dB")
    rows = [[e(layer.node), e(layer.op_type), f"{layer.sqnr_db:.1f}", f"{layer.cosine:.6f}",
             f'<span class="mono">{e(layer.exclude_node or "-")}</span>']
            for layer in result.worst]
    from profiler.report.exporters.html_export import table

    notes = "".join(f"<li>{e(note)}</li>" for note in result.notes)
    return (f"<p>{head} · {result.tensors_compared} tensors compared on {e(result.device)} over "
            f"{result.samples} samples{badge}</p>"
            + table(["layer", "op", "SQNR dB", "cosine", "--exclude name"], rows,
                    numeric=(2, 3))
            + (f'<ul class="muted">{notes}</ul>' if notes else ""))


def _variant_detail(variant: Variant) -> str:
    if variant.id == REFERENCE_ID:
        return ""
    parts = [f'<h3 id="variant-{e(variant.id)}">{e(variant.id)}</h3>'
             f'<p class="muted">{e(variant.description)}</p>']
    if variant.error:
        parts.append(f'<div class="error"><b>Not built</b><pre>{e(variant.error)}</pre></div>')
    if variant.diagnostics:
        parts.append("<h4>Why it is (not) faster</h4>" + _hints(variant.diagnostics))
    if variant.layer_drift:
        parts.append("<h4>Layers with the largest drift</h4>" + _layer_drift(variant.layer_drift))
    elif variant.layer_drift_error:
        parts.append(f'<p class="warn">Per-layer drift failed: {e(variant.layer_drift_error)}'
                     "</p>")
    parts += [f'<p class="warn">{e(w)}</p>' for w in variant.warnings]
    return "".join(parts)


def _intro(report: Report) -> str:
    from profiler.report.exporters.markdown_variants import size_reference_sentence

    sizes = "".join(f"<p>{e(size_reference_sentence(ids, size, text))}</p>"
                    for ids, size, text in size_references(report))
    warning = (f"<p>{BADGE} Drift was measured on random inputs: it shows how far the numbers "
               "move, not how accuracy changes; give real inputs with --eval.</p>"
               if drift_is_indicative(report) else "")
    return ('<h2 id="variants">Variants</h2><p>Every variant runs with the same protocol and '
            "inputs as the FP32 model on each device; drift compares its outputs with the FP32 "
            "model's on the same device.</p>" + sizes + warning)


def render_variants(report: Report) -> str:
    """The section's HTML ('' when the report holds no variants)."""
    if not variants_section_needed(report):
        return ""
    parts = [_intro(report)]
    colours = {v.id: svg.PALETTE[i % len(svg.PALETTE)] for i, v in enumerate(report.variants)}
    for device, points in pareto_points(report.variants, report.runs).items():
        chart = scatter(points, device, colours)
        if chart:
            parts.append(f"<figure><figcaption>Latency vs drift on {e(device)} (marker area: "
                         "file size; solid: Pareto front)</figcaption>" + chart + "</figure>")
    parts.append(variant_table(variant_rows(report)))
    parts += [_variant_detail(variant) for variant in report.variants]
    return "".join(parts)
