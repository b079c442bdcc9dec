"""High-level entry points shared by the CLI and the desktop app."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from profiler.analysis import analyze
from profiler.environment import environment
from profiler.model.input_settings import InputSettings, load_with_inputs, with_shapes
from profiler.report.model import Report, model_info


def analyze_model(
    path: str,
    shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
    input_values: Mapping[str, Sequence[float | int]] | None = None,
    inputs: InputSettings | None = None,
) -> Report:
    """Load ``path`` and build a report holding its static analysis (no runtime involved).

    ``input_values`` give flat values for some inputs (``{"sr": [16000]}``): branches whose
    condition they decide are counted as they would run. ``inputs`` are the user's input
    settings (shapes, values, ranges); every input records how its values are made.
    """
    model = load_with_inputs(path, with_shapes(inputs, shape_overrides), input_values)
    return Report(environment=environment(), model=model_info(model), analysis=analyze(model))
