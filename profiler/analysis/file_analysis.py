"""A model file's static analysis, as the sandboxed child computes it (profiler.sandbox).

The child returns the two records it can build from the file (the model's description and
its cost per layer); the caller wraps them in a Report. So the child, which a prestarted
``edgeprof-cli analyze`` forks before the file is known (profiler.prestart), imports only
these records and not the report's runs and variants: its imports are the command's
critical path.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from profiler.records.analysis import LayerCost, StaticAnalysis
from profiler.records.model import ModelInfo
from profiler.sandbox_child import pickled_part, stage

if TYPE_CHECKING:
    from profiler.model.input_settings import InputSettings

LAYERS_PER_PART = 500
"""Layers per separately pickled part of the answer: about 2 ms to unpickle each."""


def analyze_file(path: str, settings: InputSettings | None,
                 input_values: Mapping[str, Sequence[float | int]] | None,
                 ) -> tuple[ModelInfo, StaticAnalysis]:
    """Load ``path`` with the user's input settings and values, and count its cost per layer
    (a module-level function: the fork server imports it by name). What it runs on is
    imported here, not with the module: the CLI process imports this module only to name
    the job and join its answer (the child imports them first: prestart.ANALYSIS_PRELOAD)."""
    from profiler.analysis.analyze import analyze
    from profiler.model.describe import model_info
    from profiler.model.input_settings import load_with_inputs

    model = load_with_inputs(path, settings, input_values or None)
    stage("analysis")
    return model_info(model), analyze(model)


def analyze_file_in_parts(path: str, settings: InputSettings | None,
                          input_values: Mapping[str, Sequence[float | int]] | None,
                          ) -> tuple[ModelInfo, StaticAnalysis, list[bytes]]:
    """``analyze_file`` for the sandboxed child: the layers leave the analysis and go as
    separately pickled parts of LAYERS_PER_PART (``join_layer_parts`` puts them back), so
    the parent unpickles a 10,000-layer model in short steps, not one long GIL hold."""
    info, analysis = analyze_file(path, settings, input_values)
    layers, analysis.layers = analysis.layers, []
    parts = [pickled_part(layers[start:start + LAYERS_PER_PART])
             for start in range(0, len(layers), LAYERS_PER_PART)]
    return info, analysis, parts


def join_layer_parts(analysis: StaticAnalysis, parts: Sequence[bytes]) -> StaticAnalysis:
    """The parent's side: every part unpickled (records only, as any answer) into the layers."""
    from profiler.sandbox import unpickled_part

    for part in parts:
        layers = unpickled_part(part)
        if not (isinstance(layers, list) and all(isinstance(x, LayerCost) for x in layers)):
            raise TypeError("a part of the analysis holds something other than layers")
        analysis.layers.extend(layers)
    return analysis
