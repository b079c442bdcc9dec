"""Pure transforms from a Report's variants to the rows every renderer shows (CLI, MD, HTML).

One row per (variant, device) pair that was measured, plus one row per variant that has no
measurement (a build error). Values stay in report units; renderers format them.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.records.record import record
from profiler.records.report import Report
from profiler.records.runs import Run
from profiler.records.variants import MAX_SQNR_DB, REFERENCE_ID, Variant
from profiler.report.views import peak_rss_bytes

INDICATIVE = "indicative only"
IDENTICAL_DB = MAX_SQNR_DB - 1e-6


@record(frozen=True)
class VariantRow:
    variant: str
    library: str
    device: str
    file_bytes: int
    size_ratio: float | None
    p50_ms: float | None
    latency_ratio: float | None
    """Variant p50 / FP32 p50 on the same device (< 1: faster)."""
    sqnr_db: float | None
    cosine: float | None
    max_abs_error: float | None
    top1_agreement: float | None
    indicative_only: bool
    on_front: bool
    is_reference: bool
    error: str
    peak_rss_bytes: int | None = None


def _run(runs: Sequence[Run], variant: str, device: str) -> Run | None:
    return next((r for r in runs if r.variant == variant and r.device == device), None)


def _p50(run: Run | None) -> float | None:
    return run.latency.p50 if run and run.latency and run.latency.count else None


def _run_error(run: Run | None) -> str:
    return f"{run.error.stage}: {run.error.message}" if run and run.error else ""


def variant_devices(report: Report, variant: Variant) -> list[str]:
    """Devices that ran (or tried to run) the variant, in the report's device order."""
    devices = dict.fromkeys(r.device for r in report.runs if r.variant == variant.id)
    return list(devices)


def _row(report: Report, variant: Variant, device: str) -> VariantRow:
    run = _run(report.runs, variant.id, device)
    reference = _p50(_run(report.runs, REFERENCE_ID, device))
    p50 = _p50(run)
    drift = variant.drift.get(device)
    reference_row = variant.id == REFERENCE_ID
    error = _run_error(run) or variant.drift_errors.get(device, "")
    return VariantRow(
        variant=variant.id, library=variant.library, device=device,
        file_bytes=variant.file_bytes,
        size_ratio=1.0 if reference_row else variant.size_ratio, p50_ms=p50,
        latency_ratio=p50 / reference if p50 and reference else None,
        sqnr_db=drift.sqnr_db if drift else None, cosine=drift.cosine if drift else None,
        max_abs_error=drift.max_abs_error if drift else None,
        top1_agreement=drift.top1_agreement if drift else None,
        indicative_only=bool(drift and drift.indicative_only),
        on_front=device in variant.pareto_devices, is_reference=reference_row, error=error,
        peak_rss_bytes=peak_rss_bytes(run) if run else None)


def variant_rows(report: Report) -> list[VariantRow]:
    rows = []
    for variant in report.variants:
        devices = variant_devices(report, variant)
        if not devices:
            rows.append(VariantRow(variant.id, variant.library, "-", variant.file_bytes,
                                   variant.size_ratio, None, None, None, None, None, None,
                                   False, False, variant.id == REFERENCE_ID,
                                   variant.error or "not measured on any chosen device"))
        rows += [_row(report, variant, device) for device in devices]
    return rows


def drift_is_indicative(report: Report) -> bool:
    """True when any drift number in the report comes from random data."""
    return any(m.indicative_only for v in report.variants for m in v.drift.values())


def size_references(report: Report) -> list[tuple[str, int, str]]:
    """(variant ids, bytes, what it is) for each distinct FP32 size reference."""
    groups: dict[tuple[int, str], list[str]] = {}
    for variant in report.variants:
        if variant.size_reference_bytes and variant.id != REFERENCE_ID:
            key = (variant.size_reference_bytes, variant.size_reference)
            groups.setdefault(key, []).append(variant.id)
    return [(", ".join(ids), size, text) for (size, text), ids in groups.items()]


def variants_section_needed(report: Report) -> bool:
    return any(variant.id != REFERENCE_ID for variant in report.variants)


def sqnr_text(value: float | None) -> str:
    """SQNR in dB; 'identical' at the cap (no error at all), '-' when unknown."""
    if value is None:
        return "-"
    return "identical" if value >= IDENTICAL_DB else f"{value:.1f}"
