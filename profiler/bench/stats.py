"""Statistics over the timed loop's samples: percentiles, spread, and the median's CI.

The median's 95 % confidence interval is distribution-free (order statistics): with ``n``
sorted samples, the 1-based ranks ``n/2 - 1.96*sqrt(n)/2`` and ``1 + n/2 + 1.96*sqrt(n)/2``
(normal approximation of the Binomial(n, 1/2) count of samples below the median; the ``1 +``
centres the pair on the median's rank ``(n+1)/2``), rounded to the nearest integer and
clamped to ``[1, n]``, bound the interval (Campbell & Gardner). Latency samples are skewed
(long right tail), so no normality is assumed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from profiler.records.runs import LatencyStats

Z_95 = 1.96
"""Two-sided 95 % quantile of the standard normal distribution."""
NOISY_CV = 0.10
"""A coefficient of variation above this makes the run 'noisy' (warned in the report)."""
PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)


def median_ci_ranks(count: int) -> tuple[int, int]:
    """1-based ranks (low, high) of the order statistics bounding the median's 95 % CI."""
    if count <= 0:
        raise ValueError("no samples")
    half_width = Z_95 * math.sqrt(count) / 2.0
    low = math.floor(count / 2.0 - half_width + 0.5)
    high = math.floor(1.0 + count / 2.0 + half_width + 0.5)
    return max(1, low), min(count, high)


def median_ci(samples_ms: Sequence[float]) -> tuple[float, float]:
    """The median's 95 % confidence interval [low, high] in the samples' unit."""
    ordered = sorted(samples_ms)
    low_rank, high_rank = median_ci_ranks(len(ordered))
    return ordered[low_rank - 1], ordered[high_rank - 1]


def median_ci_within(samples_ms: Sequence[float], relative: float) -> bool:
    """True when the median's CI lies inside ``median * (1 ± relative)``."""
    if not samples_ms:
        return False
    low, high = median_ci(samples_ms)
    median = float(np.median(samples_ms))
    return median * (1.0 - relative) <= low and high <= median * (1.0 + relative)


def latency_stats(
    samples_ms: Sequence[float], stop_reason: str = "", total_seconds: float = 0.0
) -> LatencyStats:
    """All the figures the report keeps; percentiles use numpy's linear interpolation."""
    if not samples_ms:
        return LatencyStats(stop_reason=stop_reason, total_seconds=total_seconds)
    values = np.asarray(samples_ms, dtype=np.float64)
    mean = float(values.mean())
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    p50, p90, p95, p99, p99_9 = (float(v) for v in np.percentile(values, PERCENTILES))
    low, high = median_ci(samples_ms)
    return LatencyStats(
        samples_ms=[float(v) for v in samples_ms], count=int(values.size),
        min=float(values.min()), mean=mean, std=std, cv=std / mean if mean > 0 else 0.0,
        p50=p50, p90=p90, p95=p95, p99=p99, p99_9=p99_9, max=float(values.max()),
        median_ci95_ms=[float(low), float(high)], stop_reason=stop_reason,
        total_seconds=total_seconds,
    )


def noise_warnings(stats: LatencyStats, ci_relative: float | None) -> list[str]:
    """Why a reader should distrust these numbers (empty when the run looks clean)."""
    warnings = []
    if stats.count and stats.cv > NOISY_CV:
        warnings.append(
            f"noisy run: CV {100 * stats.cv:.1f} % (> {100 * NOISY_CV:.0f} %); close other "
            f"programs or pin the run with --cpus"
        )
    if stats.stop_reason == "time_cap" and ci_relative is not None:
        warnings.append(
            f"the median did not settle within ±{100 * ci_relative:g} % before the time cap "
            f"({stats.total_seconds:.1f} s, {stats.count} samples); raise --max-time or "
            f"give --iterations"
        )
    if 0 < stats.count < 10:
        warnings.append(f"only {stats.count} timed samples; percentiles are rough")
    return warnings
