"""The versioned report: the one lossless record every view, exporter and history entry reads.

``load_report`` reads and validates a report file; the report's parts are records of their own
(``records.model``, ``records.analysis``, ``records.runs``, ``records.variants``).
"""

from __future__ import annotations

import datetime as _dt
import os
import stat
from dataclasses import dataclass, field
from typing import Any

from profiler import TOOL_NAME, __version__
from profiler.errors import ReportError
from profiler.records.analysis import StaticAnalysis
from profiler.records.model import ModelInfo
from profiler.records.runs import Run
from profiler.records.serialize import from_dict, loads_strict, to_dict
from profiler.records.variants import Variant

SCHEMA = "edgeprof.report"
SCHEMA_VERSION = 1
"""Bumped on a breaking change; loading accepts every version up to this one."""


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
