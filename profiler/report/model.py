"""The versioned report: the one lossless record every view, exporter and history entry reads."""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from profiler import TOOL_NAME, __version__
from profiler.analysis.types import StaticAnalysis
from profiler.bench.types import Run
from profiler.errors import ReportError
from profiler.model.graph import Dim, InputSpec, ModelGraph, ValueRule
from profiler.quant.types import Variant
from profiler.report.serialize import from_dict, loads_strict, to_dict

SCHEMA = "edgeprof.report"
SCHEMA_VERSION = 1
"""Bumped on a breaking change; loading accepts every version up to this one."""


@dataclass
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


@dataclass
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


@dataclass
class Report:
    schema: str = SCHEMA
    schema_version: int = SCHEMA_VERSION
    tool: dict[str, str] = field(
        default_factory=lambda: {"name": TOOL_NAME, "version": __version__}
    )
    created: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
    )
    environment: dict[str, Any] = field(default_factory=dict)
    model: ModelInfo | None = None
    analysis: StaticAnalysis | None = None
    runs: list[Run] = field(default_factory=list)
    variants: list[Variant] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """What failed while producing this report (a failed run still yields a report)."""

    def to_dict(self) -> dict[str, Any]:
        return dict(to_dict(self))


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
        sha256=file_sha256(model.path),
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


def values_text(spec: TensorSpec) -> str:
    """'graph: ids into a 2-row table ...' for an input; '' when the report does not say."""
    if not spec.value_source:
        return ""
    text = f"{spec.value_source}: {spec.value_note}" if spec.value_note else spec.value_source
    return f"{text} (guessed)" if spec.value_guessed else text


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


def report_from_dict(data: Any, source: str = "report") -> Report:
    """Validate and build a Report; refuses other schemas and newer versions with a clear error."""
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ReportError(f"{source}: not an edgeprof report (no \"schema\": \"{SCHEMA}\")")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ReportError(f"{source}: schema_version must be a positive integer")
    if version > SCHEMA_VERSION:
        raise ReportError(
            f"{source}: written by a newer edgeprof (schema_version {version}; this version "
            f"reads up to {SCHEMA_VERSION}); update edgeprof to open it"
        )
    return from_dict(Report, data, where=source)


MAX_REPORT_BYTES = 256 * 1024 * 1024
"""Far above a report with every sample of many runs; a larger file is not read at all."""


def load_report(path: str) -> Report:
    """Read and validate a report file: a regular file of at most MAX_REPORT_BYTES (pipes and
    devices are refused without blocking), strict JSON, then every field's type."""
    data = loads_strict(read_report_bytes(path), path)
    return report_from_dict(data, path)


def read_report_bytes(path: str) -> bytes:
    try:
        _check_regular(path, os.stat(path))  # sockets cannot even be opened: say what it is
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, ValueError) as error:
        raise ReportError(f"{path}: cannot be read ({_reason(error)})") from None
    try:
        _check_regular(path, os.fstat(descriptor))  # it may have changed since
        with os.fdopen(descriptor, "rb", closefd=False) as handle:
            data = handle.read(MAX_REPORT_BYTES + 1)
    except OSError as error:
        raise ReportError(f"{path}: cannot be read ({_reason(error)})") from None
    finally:
        os.close(descriptor)
    if len(data) > MAX_REPORT_BYTES:  # it grew while being read
        raise ReportError(_too_large(path, len(data)))
    return data


def _check_regular(path: str, info: os.stat_result) -> None:
    if not stat.S_ISREG(info.st_mode):
        raise ReportError(f"{path}: is not a regular file (a folder, pipe, device or socket); "
                          "give the report JSON file itself")
    if info.st_size > MAX_REPORT_BYTES:
        raise ReportError(_too_large(path, info.st_size))


def _too_large(path: str, size_bytes: int) -> str:
    return (f"{path}: {size_bytes} bytes, larger than any report ({MAX_REPORT_BYTES} bytes at "
            "most); give a report JSON written by edgeprof")


def _reason(error: BaseException) -> str:
    return (error.strerror if isinstance(error, OSError) else None) or str(error)
