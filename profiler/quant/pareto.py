"""The trade-off per device: which variants are not beaten on latency, drift and size at once.

A point dominates another when it is at least as good on all three axes (lower p50 latency,
higher SQNR, lower size ratio to FP32) and better on one. The front is every point no other
point dominates; the FP32 reference takes part with no drift (MAX_SQNR_DB) and size ratio 1.
A variant without a latency or drift on a device is not a point there.
"""

from __future__ import annotations

from collections.abc import Sequence

from profiler.records.runs import Run
from profiler.records.variants import MAX_SQNR_DB, REFERENCE_ID, ParetoPoint, Variant


def dominates(a: ParetoPoint, b: ParetoPoint) -> bool:
    at_least = (a.latency_ms <= b.latency_ms and a.sqnr_db >= b.sqnr_db
                and a.size_ratio <= b.size_ratio)
    better = (a.latency_ms < b.latency_ms or a.sqnr_db > b.sqnr_db
              or a.size_ratio < b.size_ratio)
    return at_least and better


def mark_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """Sets ``on_front`` on each point (within the list given: one device); returns them."""
    for point in points:
        point.on_front = not any(dominates(other, point) for other in points
                                 if other is not point)
    return list(points)


def _p50(runs: Sequence[Run], variant: str, device: str) -> float | None:
    for run in runs:
        if (run.variant == variant and run.device == device and run.error is None
                and run.latency and run.latency.count):
            return run.latency.p50
    return None


def device_points(variants: Sequence[Variant], runs: Sequence[Run], device: str,
                  ) -> list[ParetoPoint]:
    """The points on ``device``, the front marked."""
    points = []
    for variant in variants:
        latency = _p50(runs, variant.id, device)
        if latency is None:
            continue
        if variant.id == REFERENCE_ID:
            points.append(ParetoPoint(variant.id, device, latency, MAX_SQNR_DB, 1.0,
                                      variant.size_reference_bytes or variant.file_bytes))
            continue
        drift, ratio = variant.drift.get(device), variant.size_ratio
        if drift is not None and ratio is not None:
            points.append(ParetoPoint(variant.id, device, latency, drift.sqnr_db, ratio,
                                      variant.file_bytes))
    return mark_front(points)


def pareto_points(variants: Sequence[Variant], runs: Sequence[Run]) -> dict[str, list[ParetoPoint]]:
    """Device id -> its points (front marked), for every device a run measured."""
    devices = list(dict.fromkeys(run.device for run in runs))
    return {device: device_points(variants, runs, device) for device in devices}


def assign_fronts(variants: Sequence[Variant], runs: Sequence[Run]) -> None:
    """Write ``Variant.pareto_devices`` from the fronts."""
    fronts = pareto_points(variants, runs)
    for variant in variants:
        variant.pareto_devices = [device for device, points in fronts.items()
                                  if any(p.variant == variant.id and p.on_front for p in points)]


def latency_front(points: Sequence[ParetoPoint]) -> list[ParetoPoint]:
    """The latency/SQNR staircase among ``points`` (what a 2-D latency-vs-drift chart shows):
    sorted by latency, each point better in SQNR than every faster one."""
    staircase: list[ParetoPoint] = []
    for point in sorted(points, key=lambda p: (p.latency_ms, -p.sqnr_db)):
        if not staircase or point.sqnr_db > staircase[-1].sqnr_db:
            staircase.append(point)
    return staircase
