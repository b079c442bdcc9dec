"""A model file's static analysis, as the sandboxed child computes it (profiler.sandbox).

The child returns the two records it can build from the file (the model's description and
its cost per layer); the caller wraps them in a Report. So the child, which a prestarted
``edgeprof-cli analyze`` forks before the file is known (profiler.prestart), imports only
these records and not the report's runs and variants: its imports are the command's
critical path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from profiler.analysis.analyze import analyze
from profiler.model.describe import model_info
from profiler.model.input_settings import InputSettings, load_with_inputs
from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo
from profiler.sandbox import stage


def analyze_file(path: str, settings: InputSettings | None,
                 input_values: Mapping[str, Sequence[float | int]] | None,
                 ) -> tuple[ModelInfo, StaticAnalysis]:
    """Load ``path`` with the user's input settings and values, and count its cost per layer
    (a module-level function: the fork server imports it by name)."""
    model = load_with_inputs(path, settings, input_values or None)
    stage("analysis")
    return model_info(model), analyze(model)
