"""The lossless JSON report (what the app saves and reopens)."""

from __future__ import annotations

import json
import math
from typing import Any

from profiler.records.report import Report


def _finite(value: Any) -> Any:
    """JSON has no NaN/Infinity: store them as null rather than writing invalid JSON."""
    kind = type(value)
    if kind is float:
        return value if math.isfinite(value) else None
    if kind is str or kind is int:
        return value
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def render(report: Report) -> str:
    return json.dumps(_finite(report.to_dict()), indent=1, ensure_ascii=False) + "\n"
