"""High-level entry points shared by the CLI and the desktop app."""

from __future__ import annotations

from collections.abc import Mapping

from profiler.analysis import analyze
from profiler.environment import environment
from profiler.model import load_model
from profiler.report.model import Report, model_info


def analyze_model(
    path: str, shape_overrides: Mapping[str, tuple[int, ...]] | None = None
) -> Report:
    """Load ``path`` and build a report holding its static analysis (no runtime involved)."""
    model = load_model(path, shape_overrides)
    return Report(environment=environment(), model=model_info(model), analysis=analyze(model))
