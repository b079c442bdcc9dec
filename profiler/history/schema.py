"""The history database: connection settings, schema and its migrations, SQLite errors.

Durability: WAL journal with synchronous=FULL, so a run reported as saved survives a killed
process or a power cut; every write is one BEGIN IMMEDIATE ... COMMIT transaction, so a writer
killed mid-write leaves nothing half-written. Concurrent writers wait (busy_timeout) and retry.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from profiler.errors import ProfilerError
from profiler.files import NOT_REGULAR, FileRefused, check_regular

SCHEMA_VERSION = 1
"""Stored in PRAGMA user_version; 0 means a new, empty file."""
BUSY_TIMEOUT_S = 10.0
LOCK_ATTEMPTS = 3
"""Whole-transaction attempts when SQLite still reports 'locked' after the busy timeout."""
_RETRY_PAUSE_S = 0.05
COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")
"""The files SQLite keeps beside the database (WAL mode; a rollback journal before it)."""

T = TypeVar("T")


class HistoryError(ProfilerError):
    """The run history cannot be read or written."""


class UnknownRunError(HistoryError):
    """No run with the asked id in the history."""


_V1 = [
    """CREATE TABLE reports (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created TEXT NOT NULL,
        saved TEXT NOT NULL,
        model_name TEXT NOT NULL DEFAULT '',
        schema_version INTEGER NOT NULL,
        encoding TEXT NOT NULL,
        body BLOB NOT NULL)""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        created TEXT NOT NULL,
        model_name TEXT NOT NULL DEFAULT '',
        model_path TEXT NOT NULL DEFAULT '',
        model_sha256 TEXT NOT NULL DEFAULT '',
        device TEXT NOT NULL,
        variant TEXT NOT NULL DEFAULT '',
        backend TEXT NOT NULL DEFAULT '',
        precision TEXT NOT NULL DEFAULT '',
        p50_ms REAL,
        mean_ms REAL,
        throughput_fps REAL,
        peak_rss_bytes INTEGER,
        error TEXT NOT NULL DEFAULT '',
        report_id INTEGER NOT NULL REFERENCES reports(id),
        run_index INTEGER NOT NULL)""",
    "CREATE INDEX runs_by_created ON runs(created, id)",
    "CREATE INDEX runs_by_report ON runs(report_id)",
]
MIGRATIONS: dict[int, list[str]] = {1: _V1}
"""Statements that take the schema from version N-1 to N."""
OUR_TABLES = {"reports", "runs", "sqlite_sequence"}


def connect(path: Path) -> sqlite3.Connection:
    """A connection for one call on one thread; transactions are explicit (autocommit mode)."""
    check_files(path)
    connection = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
    try:
        connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        retry_when_locked(lambda: connection.execute("PRAGMA journal_mode = WAL").fetchone())
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        connection.close()
        raise
    return connection


def check_files(path: Path) -> None:
    """SQLite opens the database and its journal files by itself: each that exists must be a
    regular file first (a pipe would block it forever, a device would be read without end)."""
    for candidate in (str(path), *(f"{path}{suffix}" for suffix in COMPANION_SUFFIXES)):
        if not os.path.lexists(candidate):
            continue
        try:
            check_regular(candidate)
        except FileRefused as refused:
            if refused.kind != NOT_REGULAR:  # missing, unreadable: SQLite's own error says it
                continue
            raise HistoryError(f"{candidate}: is not a regular file ({refused.file_kind}), so "
                               "not part of a history; move it aside (rename it) and a new "
                               "history is started") from None


def is_locked(error: sqlite3.Error) -> bool:
    text = str(error).lower()
    return isinstance(error, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


def retry_when_locked(action: Callable[[], T]) -> T:
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            return action()
        except sqlite3.OperationalError as error:
            if not is_locked(error) or attempt == LOCK_ATTEMPTS:
                raise
            time.sleep(_RETRY_PAUSE_S * attempt * (1 + random.random()))
    raise AssertionError("unreachable")


@contextmanager
def write_transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE takes the write lock up front, so the transaction never has to upgrade
    a read lock (which fails at once in WAL mode instead of waiting)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def user_version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(connection: sqlite3.Connection, path: Path) -> None:
    """Bring the file to SCHEMA_VERSION (creating the tables in a new file); refuses a file
    written by a newer edgeprof and a database that is not a history."""
    version = user_version(connection)
    _check_not_newer(version, path)
    if version == SCHEMA_VERSION:
        return
    with write_transaction(connection):
        version = user_version(connection)  # another process may have migrated meanwhile
        _check_not_newer(version, path)
        if version == 0:
            _check_no_foreign_tables(connection, path)
        for step in range(version + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[step]:
                connection.execute(statement)
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _check_not_newer(version: int, path: Path) -> None:
    if version < 0:
        raise HistoryError(
            f"{path}: not an edgeprof history (schema {version}, which no edgeprof writes); "
            "move the file aside (rename it) and a new history is started")
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"{path}: history written by a newer edgeprof (schema {version}; this version reads "
            f"up to {SCHEMA_VERSION}); update edgeprof or set EDGEPROF_DATA_DIR to another folder")


def _check_no_foreign_tables(connection: sqlite3.Connection, path: Path) -> None:
    rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    foreign = sorted({str(row[0]) for row in rows} - OUR_TABLES)
    if foreign:
        raise HistoryError(
            f"{path}: an SQLite database that is not an edgeprof history (tables: "
            f"{', '.join(foreign[:5])}); move it aside and a new history is started")


def translated(error: sqlite3.Error | OSError, path: Path) -> HistoryError:
    """One line a user can act on, for any failure of the database file."""
    if isinstance(error, OSError):
        return HistoryError(f"{path.parent}: cannot create the history folder "
                            f"({error.strerror or error}); set EDGEPROF_DATA_DIR to a writable "
                            "folder")
    text = str(error)
    if is_locked(error):
        return HistoryError(f"{path}: the history is busy (another edgeprof keeps it locked: "
                            f"{text}); try again")
    lowered = text.lower()
    if any(word in lowered for word in ("unable to open", "readonly", "disk i/o", "full")):
        return HistoryError(f"{path}: cannot open or write the history ({text}); check the "
                            "folder's permissions and free space, or set EDGEPROF_DATA_DIR")
    return HistoryError(f"{path}: not a readable history database ({text}); move the file "
                        "aside (rename it) and a new history is started")
