"""The Markdown report's variants section: the variant table, hints, the worst layers."""

from __future__ import annotations

from profiler.records.report import Report
from profiler.records.variants import REFERENCE_ID, Variant
from profiler.report.variant_views import (
    INDICATIVE,
    VariantRow,
    drift_is_indicative,
    size_references,
    sqnr_text,
    variant_rows,
    variants_section_needed,
)
from profiler.units import size_bytes

HEADERS = ["variant", "library", "device", "file size", "size × FP32", "p50 ms", "p50 × FP32",
           "peak RSS", "SQNR dB", "cosine", "max abs err", "top-1", "Pareto", "error"]
TOP_LAYERS = 5


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _cells(row: VariantRow) -> list[str]:
    from profiler.report.exporters.markdown_export import md_escape

    drift = "reference" if row.is_reference else sqnr_text(row.sqnr_db)
    if row.indicative_only:
        drift += f" ({INDICATIVE})"
    return [md_escape(row.variant), md_escape(row.library or "-"), md_escape(row.device),
            size_bytes(row.file_bytes) if row.file_bytes else "-",
            "reference" if row.is_reference else _fmt(row.size_ratio, ".2f"),
            _fmt(row.p50_ms, ".3f"), _fmt(row.latency_ratio, ".2f"),
            size_bytes(row.peak_rss_bytes) if row.peak_rss_bytes else "-", drift,
            _fmt(row.cosine, ".6f"), _fmt(row.max_abs_error, ".3g"),
            _fmt(row.top1_agreement, ".1%"), "yes" if row.on_front else "",
            md_escape(row.error) or ""]


def _detail(variant: Variant) -> list[str]:
    from profiler.report.exporters.markdown_export import md_escape

    lines = [f"### {md_escape(variant.id)}", ""]
    if variant.error:
        lines += [f"Not built: {md_escape(variant.error)}", ""]
    for device, found in variant.diagnostics.items():
        lines += [f"- **{md_escape(device)}:** {md_escape(hint)}" for hint in found.hints]
    result = variant.layer_drift
    if result is not None:
        first = result.first_below
        note = f" ({INDICATIVE})" if result.indicative_only else ""
        lines.append(f"- **First layer below {result.threshold_db:g} dB:** "
                     + (f"{md_escape(first.node)} ({first.sqnr_db:.1f} dB){note}" if first
                        else f"none{note}"))
        worst = ", ".join(f"{md_escape(layer.node)} {layer.sqnr_db:.1f} dB"
                          for layer in result.worst[:TOP_LAYERS])
        lines.append(f"- **Largest drift:** {worst or '-'}")
    lines += [f"- warning: {md_escape(w)}" for w in variant.warnings]
    return [*lines, ""]


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def size_reference_sentence(ids: str, size: int, what: str) -> str:
    """'Size ratios of int8-static and ov-int8 are relative to the ov-fp32 IR (FP32, weights
    stored), 44.57 MiB. The model file generates its weights at load time.'"""
    names = ids.split(", ")
    head, _, rest = what.partition("; ")
    subject = f"Size ratios of {_listed(names)} are" if len(names) > 1 else \
        f"The size ratio of {names[0]} is"
    sentence = f"{subject} relative to {head}, {size_bytes(size)}."
    return sentence + (f" {rest[0].upper()}{rest[1:]}." if rest else "")


def variants_markdown(report: Report) -> list[str]:
    """The section's lines ([] when the report holds no variants)."""
    from profiler.report.exporters.markdown_export import md_escape, table

    if not variants_section_needed(report):
        return []
    lines = ["## Variants", ""]
    lines += [f"- {md_escape(size_reference_sentence(ids, size, text))}"
              for ids, size, text in size_references(report)]
    if drift_is_indicative(report):
        lines.append(f"- Drift was measured on random inputs: {INDICATIVE}.")
    lines += ["", *table(HEADERS, [_cells(row) for row in variant_rows(report)],
                         right=tuple(range(3, 12)))]
    for variant in report.variants:
        if variant.id != REFERENCE_ID:
            lines += _detail(variant)
    return lines
