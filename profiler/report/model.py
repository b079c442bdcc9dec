"""The versioned report: the one lossless record every view, exporter and history entry reads."""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

from profiler import TOOL_NAME, __version__
from profiler.analysis.types import StaticAnalysis
from profiler.bench.types import Run
from profiler.errors import ReportError
from profiler.model.graph import Dim, ModelGraph
from profiler.quant.types import Variant
from profiler.report.serialize import from_dict, to_dict

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
        inputs=[
            TensorSpec(s.name, s.dtype, list(s.shape) if s.shape else None,
                       list(s.declared_shape) if s.declared_shape is not None else None,
                       s.shape_source)
            for s in model.input_specs
        ],
        outputs=[
            TensorSpec(o.name, model.graph.tensor(o.name).dtype,
                       _shape_list(model.graph.tensor(o.name).shape),
                       _shape_list(o.shape))
            for o in model.graph.outputs
        ],
        warnings=list(model.warnings),
    )


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


def load_report(path: str) -> Report:
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise ReportError(f"{path}: no such file") from None
    except (OSError, ValueError) as error:  # JSON and Unicode decoding, 4300+ digit numbers
        raise ReportError(f"{path}: not a readable JSON report ({error})") from None
    except RecursionError:
        raise ReportError(f"{path}: not a readable JSON report (nested too deeply)") from None
    return report_from_dict(data, path)
