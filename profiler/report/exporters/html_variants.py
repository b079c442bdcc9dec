"""The HTML report's variants section: latency-vs-drift scatter per device (``svg_scatter``),
variant table, and per variant the diagnostics hints and the layers with the largest drift.
Values for the template only; the markup is in ``templates/variants.html.j2`` (autoescaped).
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from profiler.quant.pareto import pareto_points
from profiler.records.report import Report
from profiler.records.variants import REFERENCE_ID, Diagnostics, Variant
from profiler.report import svg
from profiler.report.exporters.html_templates import chart, render_template
from profiler.report.svg_scatter import scatter
from profiler.report.variant_views import (
    VariantRow,
    drift_is_indicative,
    size_references,
    sqnr_text,
    variant_rows,
    variants_section_needed,
)
from profiler.units import size_bytes

HEADERS = ["variant", "library", "device", "file size", "size × FP32", "p50 ms", "p50 × FP32",
           "peak RSS", "SQNR dB", "cosine", "max abs err", "top-1 agree", "Pareto", "error"]
NUMERIC_COLUMNS = (3, 4, 5, 6, 7, 8, 9, 10, 11)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _cells(row: VariantRow) -> list[Any]:
    """Table cells; the SQNR cell is (text, indicative-only badge)."""
    drift = "reference" if row.is_reference else sqnr_text(row.sqnr_db)
    return [row.variant, row.library or "-", row.device,
            size_bytes(row.file_bytes) if row.file_bytes else "-",
            "reference" if row.is_reference else _fmt(row.size_ratio, ".2f"),
            _fmt(row.p50_ms, ".3f"), _fmt(row.latency_ratio, ".2f"),
            size_bytes(row.peak_rss_bytes) if row.peak_rss_bytes else "-",
            (drift, row.indicative_only), _fmt(row.cosine, ".6f"),
            _fmt(row.max_abs_error, ".3g"), _fmt(row.top1_agreement, ".1%"),
            "◆" if row.on_front else "", row.error]


def _hint(device: str, found: Diagnostics) -> dict[str, Any]:
    shares = (f"casts/converts {found.conversion_share:.0%} · quantize/dequantize "
              f"{found.quantize_share:.0%} · reorders {found.reorder_share:.0%} · float "
              f"matrix layers {found.float_compute_share:.0%} · integer matrix layers "
              f"{found.integer_compute_share:.0%}")
    precisions = ", ".join(f"{p} {s:.0%}" for p, s in found.precisions.items())
    return {"device": device, "summary": f"{shares}; precisions: {precisions or '-'}",
            "hints": found.hints}


def _detail(variant: Variant) -> dict[str, Any]:
    drift = variant.layer_drift
    rows = [[layer.node, layer.op_type, f"{layer.sqnr_db:.1f}", f"{layer.cosine:.6f}",
             layer.exclude_node or "-"] for layer in drift.worst] if drift else []
    return {"variant": variant, "drift_rows": rows,
            "hints": [_hint(device, found) for device, found in variant.diagnostics.items()]}


def _sentences(report: Report) -> list[str]:
    from profiler.report.exporters.markdown_variants import size_reference_sentence

    return [size_reference_sentence(ids, size, text) for ids, size, text in
            size_references(report)]


def _scatters(report: Report) -> list[tuple[str, Markup]]:
    colours = {v.id: svg.PALETTE[i % len(svg.PALETTE)] for i, v in enumerate(report.variants)}
    charts = [(device, scatter(points, device, colours))
              for device, points in pareto_points(report.variants, report.runs).items()]
    return [(device, chart(svg_text)) for device, svg_text in charts if svg_text]


def render_variants(report: Report) -> Markup:
    """The section's HTML ('' when the report holds no variants)."""
    if not variants_section_needed(report):
        return Markup("")
    return render_template(
        "variants.html.j2", sentences=_sentences(report),
        indicative=drift_is_indicative(report), scatters=_scatters(report), headers=HEADERS,
        numeric=NUMERIC_COLUMNS, rows=[_cells(row) for row in variant_rows(report)],
        details=[_detail(v) for v in report.variants if v.id != REFERENCE_ID])
