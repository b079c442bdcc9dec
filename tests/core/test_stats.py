"""Statistics of the timed loop: order-statistic CI of the median, percentiles, noise warnings."""

from __future__ import annotations

import math

import pytest

from profiler.bench.stats import (
    latency_stats,
    median_ci,
    median_ci_ranks,
    median_ci_within,
    noise_warnings,
)
from profiler.records.runs import LatencyStats


@pytest.mark.parametrize(
    ("count", "ranks"),
    [
        # n=100: 1.96*sqrt(100)/2 = 9.8 -> round(50 - 9.8) = 40, round(1 + 50 + 9.8) = 61
        (100, (40, 61)),
        # n=10: half width 3.099 -> round(1.901) = 2, round(9.099) = 9
        (10, (2, 9)),
        # n=4: half width 1.96 -> round(0.04) = 0 -> clamped to 1; round(4.96) = 5 -> 4
        (4, (1, 4)),
        (1, (1, 1)),
    ],
)
def test_median_ci_ranks_by_hand(count: int, ranks: tuple[int, int]) -> None:
    assert median_ci_ranks(count) == ranks


def test_median_ci_ranks_refuses_no_samples() -> None:
    with pytest.raises(ValueError):
        median_ci_ranks(0)


def test_median_ci_reads_the_order_statistics() -> None:
    samples = [float(v) for v in range(100, 0, -1)]  # unsorted on purpose
    assert median_ci(samples) == (40.0, 61.0)


def test_ci_within_one_percent() -> None:
    tight = [100.0] * 50 + [100.5] * 50  # median 100.25, CI [100, 100.5] inside ±1 %
    assert median_ci_within(tight, 0.01)
    spread = [float(v) for v in range(1, 101)]  # median 50.5, CI [40, 61]
    assert not median_ci_within(spread, 0.01)
    assert median_ci_within(spread, 0.25)  # 50.5 * 0.75 = 37.9 <= 40, 61 <= 63.1
    assert not median_ci_within([], 0.01)


def test_latency_stats_by_hand() -> None:
    stats = latency_stats([float(v) for v in range(1, 11)], "iterations", 0.055)
    assert stats.count == 10
    assert stats.min == 1.0 and stats.max == 10.0
    assert stats.mean == pytest.approx(5.5)
    # sample std: sum of squared deviations 82.5 over 9
    assert stats.std == pytest.approx(math.sqrt(82.5 / 9))
    assert stats.cv == pytest.approx(math.sqrt(82.5 / 9) / 5.5)
    # linear percentiles: position p/100 * (n-1) between sorted samples
    assert stats.p50 == pytest.approx(5.5)
    assert stats.p90 == pytest.approx(9.1)
    assert stats.p95 == pytest.approx(9.55)
    assert stats.p99 == pytest.approx(9.91)
    assert stats.p99_9 == pytest.approx(9.991)
    assert stats.median_ci95_ms == [2.0, 9.0]
    assert stats.samples_ms == [float(v) for v in range(1, 11)]
    assert stats.stop_reason == "iterations" and stats.total_seconds == 0.055


def test_latency_stats_single_sample_and_empty() -> None:
    one = latency_stats([3.25])
    assert (one.count, one.p50, one.p99_9, one.std, one.cv) == (1, 3.25, 3.25, 0.0, 0.0)
    assert one.median_ci95_ms == [3.25, 3.25]
    empty = latency_stats([], "time_cap")
    assert empty.count == 0 and empty.stop_reason == "time_cap"


def test_noise_warnings() -> None:
    clean = latency_stats([10.0, 10.1, 9.9] * 10, "stable", 1.0)
    assert noise_warnings(clean, 0.01) == []
    noisy = latency_stats([5.0, 15.0] * 10, "stable", 1.0)
    assert any("noisy run: CV" in w for w in noise_warnings(noisy, 0.01))
    capped = latency_stats([10.0, 10.1, 9.9] * 10, "time_cap", 60.0)
    warnings = noise_warnings(capped, 0.01)
    assert len(warnings) == 1 and "did not settle within ±1 %" in warnings[0]
    # a fixed --iterations run that reaches the count is not blamed for the CI
    assert noise_warnings(capped, None) == []
    few = LatencyStats(count=3, cv=0.0)
    assert noise_warnings(few, None) == ["only 3 timed samples; percentiles are rough"]
