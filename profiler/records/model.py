"""What a report records about the model file: its tensors, shapes and how input values are made."""

from __future__ import annotations

from dataclasses import field

from profiler.records.record import record

Dim = int | str | None
"""One dimension: a concrete size, a symbolic name, or None when nothing is known."""


@record
class TensorSpec:
    name: str
    dtype: str
    shape: list[Dim] | None = None
    """The shape analysed and run at (concrete for inputs)."""
    declared_shape: list[Dim] | None = None
    shape_source: str = "model"
    """model: sizes from the file; default: dynamic dims filled by defaults; override: --shape."""
    value_source: str = ""
    """Inputs: how the run's values were made: user (one value), user-range, graph (a valid
    range or value read from the graph), random (by dtype), file. '' in older reports."""
    value_note: str = ""
    """Inputs: why those values, e.g. "ids into a 2-row table (Gather 'emb'): [0, 2)"."""
    value_range: list[int | float] | None = None
    """Inputs: [low, high) the values were drawn from, when a range applied."""
    value_fill: int | float | None = None
    """Inputs: the one value every element got, when a fill applied."""
    value_guessed: bool = False
    """Inputs: nothing vouched for the values (random integers): results may not be valid."""


@record
class ModelInfo:
    path: str
    name: str
    format: str
    sha256: str = ""
    """Of the main model file (.onnx/.xml/.tflite), not of external weight files."""
    file_bytes: int = 0
    """All files the model consists of (external data, .bin included)."""
    files: list[str] = field(default_factory=list)
    opsets: dict[str, int] = field(default_factory=dict)
    ir_version: int | None = None
    producer: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def values_text(spec: TensorSpec) -> str:
    """'graph: ids into a 2-row table ...' for an input; '' when the report does not say."""
    if not spec.value_source:
        return ""
    text = f"{spec.value_source}: {spec.value_note}" if spec.value_note else spec.value_source
    return f"{text} (guessed)" if spec.value_guessed else text
