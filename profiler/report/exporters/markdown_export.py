"""Placeholder replaced below."""

from __future__ import annotations

from profiler.report.model import Report


def render(report: Report) -> str:
    raise NotImplementedError
