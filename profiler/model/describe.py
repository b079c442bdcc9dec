"""The report's view of a loaded model: its file, inputs and outputs as records, and back.

Model graphs live here, records below: this module translates between the two.
"""

from __future__ import annotations

import hashlib
import os

from profiler.model.graph import Dim, InputSpec, ModelGraph, ValueRule
from profiler.records.model import ModelInfo, TensorSpec


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def model_info(model: ModelGraph) -> ModelInfo:
    """What the report says about the model file and its inputs/outputs."""
    return ModelInfo(
        path=model.path,
        name=os.path.basename(model.path),
        format=model.format,
        sha256=model.sha256 or file_sha256(model.path),
        file_bytes=model.file_bytes,
        files=list(model.files),
        opsets=dict(model.opsets),
        ir_version=model.ir_version,
        producer=model.producer,
        metadata=dict(model.metadata),
        inputs=[input_tensor_spec(s) for s in model.input_specs],
        outputs=[
            TensorSpec(o.name, model.graph.tensor(o.name).dtype,
                       _shape_list(model.graph.tensor(o.name).shape),
                       _shape_list(o.shape))
            for o in model.graph.outputs
        ],
        warnings=list(model.warnings),
    )


def input_tensor_spec(spec: InputSpec) -> TensorSpec:
    """The report's view of one input: its shapes and how its values are made."""
    rule = spec.values
    return TensorSpec(
        spec.name, spec.dtype, _shape_list(spec.shape), _shape_list(spec.declared_shape),
        spec.shape_source, value_source=rule.source, value_note=rule.note,
        value_range=_number_list(rule.low, rule.high, spec.dtype),
        value_fill=None if rule.fill is None else _number(rule.fill, spec.dtype),
        value_guessed=rule.guessed,
    )


def value_rule(spec: TensorSpec) -> ValueRule:
    """The rule a report input records, to make the same values again."""
    if spec.value_fill is not None:
        kind, low, high = "fill", None, None
    elif spec.value_range is not None and len(spec.value_range) == 2:
        kind, (low, high) = "range", spec.value_range
    else:
        kind, low, high = "random", None, None
    fill = None if spec.value_fill is None else float(spec.value_fill)
    return ValueRule(kind, None if low is None else float(low),
                     None if high is None else float(high), fill,
                     spec.value_source or "random", spec.value_note, spec.value_guessed)


def _number(value: float, dtype: str) -> int | float:
    integral = dtype.startswith(("int", "uint")) or dtype == "bool"
    return int(value) if integral and float(value).is_integer() else float(value)


def _number_list(low: float | None, high: float | None, dtype: str) -> list[int | float] | None:
    if low is None or high is None:
        return None
    return [_number(low, dtype), _number(high, dtype)]


def _shape_list(shape: tuple[Dim, ...] | None) -> list[Dim] | None:
    return list(shape) if shape is not None else None
