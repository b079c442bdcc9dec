"""The Pareto front over (latency, drift, size) per device, with the FP32 reference in it."""

from __future__ import annotations

from profiler.bench.stats import latency_stats
from profiler.quant.pareto import (
    assign_fronts,
    device_points,
    dominates,
    latency_front,
    mark_front,
)
from profiler.records.runs import Run, RunError
from profiler.records.variants import MAX_SQNR_DB, DriftMetrics, ParetoPoint, Variant


def _point(name: str, latency_ms: float, sqnr_db: float, size_ratio: float) -> ParetoPoint:
    return ParetoPoint(name, "ort:cpu", latency_ms, sqnr_db, size_ratio)


def test_front_by_hand() -> None:
    points = mark_front([
        _point("fp32", 20.0, MAX_SQNR_DB, 1.0),   # best drift
        _point("a", 10.0, 40.0, 0.25),            # on the front
        _point("b", 12.0, 30.0, 0.30),            # beaten by a on every axis
        _point("c", 5.0, 20.0, 0.50),             # fastest
        _point("d", 10.0, 40.0, 0.25),            # ties a: neither dominates
        _point("e", 11.0, 40.0, 0.20),            # slower than a but smaller
    ])
    assert {p.variant: p.on_front for p in points} == {
        "fp32": True, "a": True, "b": False, "c": True, "d": True, "e": True}
    assert dominates(points[1], points[2]) and not dominates(points[1], points[4])


def test_latency_staircase_for_the_chart() -> None:
    points = [_point("fp32", 20.0, MAX_SQNR_DB, 1.0), _point("a", 10.0, 40.0, 0.25),
              _point("c", 5.0, 20.0, 0.5), _point("e", 11.0, 40.0, 0.2)]
    assert [p.variant for p in latency_front(points)] == ["c", "a", "fp32"]


def _run(variant: str, device: str, p50_ms: float | None) -> Run:
    if p50_ms is None:
        return Run(device=device, variant=variant, error=RunError("compile", "refused"))
    return Run(device=device, variant=variant,
               latency=latency_stats([p50_ms] * 3, "iterations", 0.1))


def _variant(name: str, file_bytes: int, drift: dict[str, float]) -> Variant:
    return Variant(id=name, file_bytes=file_bytes, size_reference_bytes=1000,
                   drift={device: DriftMetrics(sqnr_db=db) for device, db in drift.items()})


def test_fronts_per_device_from_a_report() -> None:
    fp32 = Variant(id="fp32", file_bytes=80, size_reference_bytes=1000)
    int8 = _variant("int8-static", 260, {"ort:cpu": 40.0, "ov:CPU": 35.0})
    fp16 = _variant("fp16", 500, {"ort:cpu": 70.0})
    weights = _variant("ov-int8-weights", 300, {"ov:CPU": 30.0})  # beaten by int8 on ov:CPU
    broken = _variant("int8-dynamic", 250, {})  # no drift: not a point
    runs = [_run("fp32", "ort:cpu", 40.0), _run("fp32", "ov:CPU", 20.0),
            _run("int8-static", "ort:cpu", 15.0), _run("int8-static", "ov:CPU", 25.0),
            _run("fp16", "ort:cpu", 41.0), _run("int8-dynamic", "ort:cpu", 100.0),
            _run("ov-int8-weights", "ov:CPU", 26.0),
            _run("fp16", "ov:CPU", None)]
    variants = [fp32, int8, fp16, broken, weights]
    points = device_points(variants, runs, "ort:cpu")
    assert [(p.variant, p.size_ratio, p.file_bytes) for p in points] == [
        ("fp32", 1.0, 1000), ("int8-static", 0.26, 260), ("fp16", 0.5, 500)]
    assign_fronts(variants, runs)
    assert fp32.pareto_devices == ["ort:cpu", "ov:CPU"]
    assert int8.pareto_devices == ["ort:cpu", "ov:CPU"]  # on ov:CPU slower but smaller
    assert fp16.pareto_devices == ["ort:cpu"]  # slower than fp32 but half its size
    assert broken.pareto_devices == [] and weights.pareto_devices == []
