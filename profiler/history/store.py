"""The run history: every profiled Run, with the full Report it came from, in one SQLite file.

The API is plain and typed so the CLI and the app's History view (from a worker thread) share
it. A HistoryStore holds only the file's path: every call opens its own connection and closes
it, so no sqlite3 object ever crosses threads. Any failure of the file is a HistoryError with
one line naming the file and what to do.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
import sqlite3
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from profiler.errors import ReportError
from profiler.history.paths import history_path
from profiler.history.schema import (
    HistoryError,
    UnknownRunError,
    connect,
    migrate,
    retry_when_locked,
    translated,
    write_transaction,
)
from profiler.records.record import record
from profiler.records.report import MAX_REPORT_BYTES, Report, report_from_dict
from profiler.records.runs import Run
from profiler.records.serialize import loads_strict
from profiler.report.compare import DEFAULT_TOP_LAYERS, Comparison, compare_runs

__all__ = ["HistoryEntry", "HistoryError", "HistoryStore", "StoredRun", "UnknownRunError"]

REPORT_ENCODING = "json+zlib"
DEFAULT_LIST_LIMIT = 50


@record(frozen=True)
class HistoryEntry:
    """One saved run, as the history lists it (no samples, no layers: those are in the report)."""

    id: int
    created: str
    """When the run finished (the report's time for runs saved before runs recorded it), ISO
    8601 in UTC."""
    model_name: str
    model_path: str
    model_sha256: str
    device: str
    variant: str
    backend: str
    precision: str
    p50_ms: float | None
    mean_ms: float | None
    throughput_fps: float | None
    peak_rss_bytes: int | None
    error: str
    """'stage: message' when the run failed, else ''."""
    report_id: int


_ENTRY_COLUMNS = ", ".join(f"runs.{field.name}" for field in dataclasses.fields(HistoryEntry))
_REAL = (float, int, type(None))
_KIND_OF_HINT: dict[str, tuple[type, ...]] = {
    "int": (int,), "str": (str,), "float | None": _REAL, "int | None": (int, type(None))}
_ENTRY_TYPES = [(field.name, _KIND_OF_HINT[str(field.type)])
                for field in dataclasses.fields(HistoryEntry)]
"""Per listed column: the Python types a sound row holds (from HistoryEntry's hints)."""
MAX_COLUMN_CHARS = 64 * 1024
_BOUNDED_BODY = "length(reports.body), CASE WHEN length(reports.body) <= ? THEN reports.body END"
"""The body's size, and the body only when no larger than any report (never fetched whole)."""


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _fits(value: object, kinds: tuple[type, ...]) -> bool:
    if isinstance(value, float):
        return float in kinds and math.isfinite(value)
    if isinstance(value, str):
        return str in kinds and len(value) <= MAX_COLUMN_CHARS
    return (value is None and type(None) in kinds) or (_is_int(value) and int in kinds)


def _kind_text(kinds: tuple[type, ...]) -> str:
    names = {int: "an integer", float: "a number", str: "text", type(None): "empty"}
    return " or ".join(names[kind] for kind in kinds if kind is not int or float not in kinds)


@record
class StoredRun:
    """A saved run, rebuilt losslessly: its entry, the whole report and the run inside it."""

    entry: HistoryEntry
    report: Report
    run: Run


class HistoryStore:
    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else history_path()

    # writing -----------------------------------------------------------------------------------

    def save_report(self, report: Report) -> list[int]:
        """Save the report and one row per run in one transaction; the ids are returned only
        after COMMIT, so an id handed out is on disk. A report without runs saves nothing."""
        if not report.runs:
            return []
        body = encode_report(report)
        with self._writing() as connection:
            return retry_when_locked(lambda: _insert(connection, report, body))

    def delete_run(self, run_id: int) -> None:
        """Delete the run, and its report when no other run refers to it."""
        if not self.path.exists():
            raise self._unknown(run_id)
        with self._writing() as connection:
            retry_when_locked(lambda: self._delete(connection, run_id))

    def _delete(self, connection: sqlite3.Connection, run_id: int) -> None:
        with write_transaction(connection):
            row = connection.execute("SELECT report_id FROM runs WHERE id = ?",
                                     (run_id,)).fetchone()
            if row is None:
                raise self._unknown(run_id)
            connection.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            connection.execute("DELETE FROM reports WHERE id = ? AND NOT EXISTS "
                               "(SELECT 1 FROM runs WHERE report_id = ?)", (row[0], row[0]))

    # reading -----------------------------------------------------------------------------------

    def list_runs(self, model: str | None = None, device: str | None = None,
                  limit: int | None = DEFAULT_LIST_LIMIT) -> list[HistoryEntry]:
        """Newest first; ``model`` matches a substring of the model name (any case), ``device``
        the device id (any case)."""
        clauses, params = _filters(model, device)
        sql = f"SELECT {_ENTRY_COLUMNS} FROM runs{clauses} ORDER BY created DESC, id DESC"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self._reading() as connection:
            if connection is None:
                return []
            return [self._entry(row) for row in connection.execute(sql, params)]

    def get_entry(self, run_id: int) -> HistoryEntry:
        with self._reading() as connection:
            row = connection.execute(f"SELECT {_ENTRY_COLUMNS} FROM runs WHERE id = ?",
                                     (run_id,)).fetchone() if connection else None
        if row is None:
            raise self._unknown(run_id)
        return self._entry(row)

    def get_run(self, run_id: int) -> StoredRun:
        with self._reading() as connection:
            row = connection.execute(
                f"SELECT {_ENTRY_COLUMNS}, runs.run_index, reports.encoding, {_BOUNDED_BODY} "
                "FROM runs JOIN reports ON reports.id = runs.report_id WHERE runs.id = ?",
                (MAX_REPORT_BYTES, run_id)).fetchone() if connection else None
        if row is None:
            raise self._unknown(run_id)
        entry, (run_index, encoding, body_bytes, body) = self._entry(row[:-4]), row[-4:]
        source = f"{self.path} (run #{run_id})"
        _check_body_size(body_bytes, source)
        report = decode_report(encoding, body, source)
        if not _is_int(run_index) or not 0 <= run_index < len(report.runs):
            raise HistoryError(f"{self.path}: run #{run_id} points past its report's runs; "
                               f"delete it with `edgeprof-cli history delete {run_id}`")
        return StoredRun(entry, report, report.runs[run_index])

    def compare_runs(self, a_id: int, b_id: int, top: int = DEFAULT_TOP_LAYERS) -> Comparison:
        """Run B against run A (B - A), the same figures as `edgeprof-cli compare`; the two runs
        are paired whatever their devices, since the user picked them."""
        return compare_stored(self.get_run(a_id), self.get_run(b_id), top)

    # connections -------------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        with self._errors():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(connect(self.path)) as connection:
                retry_when_locked(lambda: migrate(connection, self.path))
                yield connection

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """None when there is no history file yet (reading never creates one)."""
        if not self.path.exists():
            yield None
            return
        with self._errors(), closing(connect(self.path)) as connection:
            retry_when_locked(lambda: migrate(connection, self.path))
            yield connection

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except (sqlite3.Error, OSError) as error:
            raise translated(error, self.path) from None

    def _entry(self, row: Sequence[Any]) -> HistoryEntry:
        """A listed row, its column types checked (SQLite stores any value in any column)."""
        for (name, kinds), value in zip(_ENTRY_TYPES, row, strict=True):
            if not _fits(value, kinds):
                raise HistoryError(
                    f"{self.path}: run #{_short(row[0])}: column {name} holds "
                    f"{type(value).__name__} {_short(repr(value))}, not {_kind_text(kinds)} "
                    f"(damaged); delete the run with `edgeprof-cli history delete`")
        values: list[Any] = [float(v) if isinstance(v, int) and kinds == _REAL else v
                             for (_, kinds), v in zip(_ENTRY_TYPES, row, strict=True)]
        return HistoryEntry(*values)

    def _unknown(self, run_id: int) -> UnknownRunError:
        return UnknownRunError(f"no run #{run_id} in the history ({self.path}); "
                               "`edgeprof-cli history list` shows the ids")


def _filters(model: str | None, device: str | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if model:
        clauses.append("instr(lower(model_name), lower(?)) > 0")
        params.append(model)
    if device:
        clauses.append("device = ? COLLATE NOCASE")
        params.append(device)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), params


def _insert(connection: sqlite3.Connection, report: Report, body: bytes) -> list[int]:
    with write_transaction(connection):
        report_id = _insert_report(connection, report, body)
        run_ids = _insert_runs(connection, report, report_id)
    return run_ids


def _insert_report(connection: sqlite3.Connection, report: Report, body: bytes) -> int:
    cursor = connection.execute(
        "INSERT INTO reports (created, saved, model_name, schema_version, encoding, body) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (utc_iso(report.created), _now_iso(), report.model.name if report.model else "",
         report.schema_version, REPORT_ENCODING, body))
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _insert_runs(connection: sqlite3.Connection, report: Report, report_id: int) -> list[int]:
    ids = []
    for index, run in enumerate(report.runs):
        values = run_values(run, report)
        columns = ", ".join(values)
        cursor = connection.execute(
            f"INSERT INTO runs ({columns}, report_id, run_index) "
            f"VALUES ({', '.join('?' * (len(values) + 2))})",
            (*values.values(), report_id, index))
        assert cursor.lastrowid is not None
        ids.append(cursor.lastrowid)
    return ids


def run_values(run: Run, report: Report) -> dict[str, Any]:
    """The listed columns of one run (everything else stays in the report body)."""
    stats = run.latency if run.latency and run.latency.count else None
    memory = run.memory
    peak = max(memory.baseline_peak_rss_bytes, memory.compile_peak_rss_bytes,
               memory.inference_peak_rss_bytes) if memory else 0
    model = report.model
    return {
        "created": utc_iso(run.finished or report.created),
        "model_name": model.name if model else "",
        "model_path": run.model_path or (model.path if model else ""),
        "model_sha256": model.sha256 if model else "", "device": run.device,
        "variant": run.variant, "backend": run.backend, "precision": run.precision,
        "p50_ms": stats.p50 if stats else None, "mean_ms": stats.mean if stats else None,
        "throughput_fps": run.throughput_fps, "peak_rss_bytes": peak or None,
        "error": f"{run.error.stage}: {run.error.message}" if run.error else "",
    }


def encode_report(report: Report) -> bytes:
    return zlib.compress(json.dumps(report.to_dict(), separators=(",", ":")).encode("utf-8"))


def _check_body_size(body_bytes: object, source: str) -> None:
    if isinstance(body_bytes, int) and body_bytes > MAX_REPORT_BYTES:
        raise HistoryError(f"{source}: stored report is {body_bytes} bytes, more than any "
                           f"report ({MAX_REPORT_BYTES} bytes at most; damaged); delete the run")


def decode_report(encoding: str, body: bytes, source: str) -> Report:
    """The stored report, inflated to at most MAX_REPORT_BYTES and parsed strictly."""
    if encoding != REPORT_ENCODING:
        raise HistoryError(f"{source}: report stored as {_short(encoding)!r}, which this "
                           "edgeprof cannot read; update edgeprof")
    if not isinstance(body, bytes):
        raise HistoryError(f"{source}: stored report is damaged (not a compressed body); "
                           "delete the run")
    try:
        data = loads_strict(_inflate(body, source), source)
    except ReportError as error:
        raise HistoryError(f"{error}; delete the run") from None
    return report_from_dict(data, source)


def _inflate(body: bytes, source: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, MAX_REPORT_BYTES + 1)
    except zlib.error as error:
        raise HistoryError(f"{source}: stored report is damaged ({error}); delete the run") \
            from None
    if len(data) > MAX_REPORT_BYTES or inflater.unconsumed_tail:
        raise HistoryError(f"{source}: stored report inflates beyond {MAX_REPORT_BYTES} bytes "
                           "(damaged); delete the run")
    if not inflater.eof:
        raise HistoryError(f"{source}: stored report is damaged (truncated); delete the run")
    return data


def _short(value: object) -> str:
    text = str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def compare_stored(a: StoredRun, b: StoredRun, top: int = DEFAULT_TOP_LAYERS) -> Comparison:
    """Layer deltas only when both runs are of one model (see profiler.report.compare)."""
    return compare_runs(a.run, b.run, a.report.model, b.report.model,
                        (run_label(a.entry), run_label(b.entry)), top)


def run_label(entry: HistoryEntry) -> str:
    return (f"run #{entry.id}: {entry.model_name or '?'} on {entry.device} ({entry.variant}), "
            f"{entry.created}")


def utc_iso(text: str) -> str:
    """The report's ISO time in UTC, so the text sorts in time order; unreadable -> now."""
    try:
        moment = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _now_iso()
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=_dt.timezone.utc)
    return moment.astimezone(_dt.timezone.utc).isoformat(timespec="seconds")


def _now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
