"""The versioned report: the one lossless record every view, exporter and history entry reads.

``load_report`` reads and validates a report file; the report's parts are records of their own
(``records.model``, ``records.analysis``, ``records.runs``, ``records.variants``).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import field
from typing import Any

from profiler import TOOL_NAME, __version__
from profiler.errors import ReportError
from profiler.files import MISSING, NOT_REGULAR, TOO_LARGE, FileRefused, read_regular
from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo
from profiler.records.record import record
from profiler.records.runs import Run
from profiler.records.serialize import from_dict, loads_strict, to_dict
from profiler.records.variants import Variant

SCHEMA = "edgeprof.report"
SCHEMA_VERSION = 1
"""Bumped on a breaking change; loading accepts every version up to this one."""


@record
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
    """The report file's bytes, opened the one way every input file is (profiler.files)."""
    try:
        return read_regular(path, MAX_REPORT_BYTES)
    except FileRefused as refused:
        raise ReportError(_refused_text(path, refused)) from None
    except OSError as error:  # the read itself failed (an I/O error on the disk)
        raise ReportError(f"{path}: cannot be read ({error.strerror or error})") from None


def _refused_text(path: str, refused: FileRefused) -> str:
    if refused.kind == MISSING:
        return f"{path}: no such file"
    if refused.kind == NOT_REGULAR:
        return (f"{path}: is not a regular file ({refused.file_kind or 'a pipe or device'}); "
                "give the report JSON file itself")
    if refused.kind == TOO_LARGE:
        return _too_large(path, refused.size_bytes)
    return f"{path}: {refused.problem}"


def _too_large(path: str, size_bytes: int) -> str:
    return (f"{path}: {size_bytes} bytes, larger than any report ({MAX_REPORT_BYTES} bytes at "
            "most); give a report JSON written by edgeprof")

