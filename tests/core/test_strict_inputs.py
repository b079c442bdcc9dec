"""Strict inputs: option values refused at parse time (exit 2, one line), report files and
history rows loaded with bounds (finite numbers, sizes, depth, field types; exit 1, one line
naming the file and the field), and report files that are not regular files never read.
"""

from __future__ import annotations

import json
import os
import sqlite3
import zlib
from pathlib import Path

import pytest

from profiler.cli import main
from profiler.errors import ReportError
from profiler.history import store as history_store
from profiler.history.store import HistoryError, HistoryStore
from profiler.records import report as report_model
from profiler.records.report import load_report
from tests.core import model_builders as mb
from tests.core.test_history_store import make_report


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("EDGEPROF_DATA_DIR", str(folder))
    return folder


# options ------------------------------------------------------------------------------------

REFUSED_OPTIONS = [
    (["profile", "m.onnx", "--timeout", "nan"], "--timeout"),
    (["profile", "m.onnx", "--timeout", "-5"], "--timeout"),
    (["profile", "m.onnx", "--duration", "inf"], "--duration"),
    (["profile", "m.onnx", "--max-time", "1e400"], "--max-time"),
    (["profile", "m.onnx", "--max-latency-ms", "NaN"], "--max-latency-ms"),
    (["profile", "m.onnx", "--iterations", "0"], "--iterations"),
    (["profile", "m.onnx", "--iterations", "1" + "0" * 40], "--iterations"),
    (["profile", "m.onnx", "--threads", "-1"], "--threads"),
    (["profile", "m.onnx", "--threads", "100000"], "--threads"),
    (["profile", "m.onnx", "--seed", "-1"], "--seed"),
    (["profile", "m.onnx", "--seed", str(2**40)], "--seed"),
    (["profile", "m.onnx", "--memory-limit", "9" * 80], "--memory-limit"),
    (["profile", "m.onnx", "--memory-limit", "1K"], "--memory-limit"),
    (["quantize", "m.onnx", "--drift-threshold-db", "inf"], "--drift-threshold-db"),
    (["quantize", "m.onnx", "--samples", "-3"], "--samples"),
    (["quantize", "m.onnx", "--timeout", "0"], "--timeout"),
    (["analyze", "m.onnx", "--top", "-1"], "--top"),
    (["compare", "a.json", "b.json", "--top", "1e3"], "--top"),
    (["history", "show", str(2**70)], "id"),
    (["history", "show", "0"], "id"),
    (["history", "compare", "1", "-2"], "ID_B"),
    (["history", "delete", "1.5"], "id"),
    (["history", "list", "--limit", "nan"], "--limit"),
]


@pytest.mark.parametrize(("argv", "option"), REFUSED_OPTIONS,
                         ids=[" ".join(argv[:1] + argv[2:])[:40] for argv, _ in REFUSED_OPTIONS])
def test_absurd_option_values_exit_2_at_parse_time(argv: list[str], option: str,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2  # m.onnx does not exist: refused before anything reads it
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if ": error: " in line]
    assert len(error_lines) == 1 and f"argument {option}: " in error_lines[0], err
    assert "Traceback" not in err


def test_cpus_are_bounded_before_a_range_is_expanded(capsys: pytest.CaptureFixture[str],
                                                     tmp_path: Path) -> None:
    model = mb.save(mb.matmul_chain(), tmp_path / "m.onnx")
    assert main(["profile", model, "--cpus", "0-99999999999"]) == 2
    assert "CPU numbers go up to 65535" in capsys.readouterr().err
    assert main(["profile", model, "--cpus", "0," * 5000]) == 2
    assert "longer than 4096 characters" in capsys.readouterr().err


def test_std_must_be_positive_and_finite(capsys: pytest.CaptureFixture[str]) -> None:
    for std in ("0,1,1", "nan,1,1", "inf"):
        assert main(["quantize", "m.onnx", "--std", std, "--device", "ov:CPU"]) == 2
        assert "--std" in capsys.readouterr().err


def test_sane_values_still_parse() -> None:
    from profiler.cli import build_parser

    args = build_parser().parse_args(
        ["profile", "m.onnx", "--timeout", "0.5", "--seed", "4294967295", "--threads", "64",
         "--max-latency-ms", "2.5", "--memory-limit", "none", "--duration", "1e3"])
    assert (args.timeout, args.seed, args.threads, args.duration) == (0.5, 2**32 - 1, 64, 1e3)


# report files -------------------------------------------------------------------------------

@pytest.fixture
def report_dict(tmp_path: Path) -> dict[str, object]:
    from profiler.api import analyze_model
    from profiler.report.exporters.json_export import render

    model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    return json.loads(render(analyze_model(model)))


def _write(path: Path, data: object) -> str:
    path.write_text(json.dumps(data, allow_nan=True), encoding="utf-8")
    return str(path)


def test_a_run_config_too_deep_names_its_field(tmp_path: Path,
                                               report_dict: dict[str, object]) -> None:
    config: list[object] = []
    for _ in range(100):
        config = [config]
    report_dict["runs"] = [{"device": "ov:CPU", "config": {"threads": config}}]
    with pytest.raises(ReportError, match=r"runs\[0\]\.config\.threads.*nested deeper than 64"):
        load_report(_write(tmp_path / "deep.json", report_dict))


def test_nan_in_latency_samples_names_the_sample(tmp_path: Path,
                                                 report_dict: dict[str, object]) -> None:
    report_dict["runs"] = [{"device": "ov:CPU", "latency": {"samples_ms": [1.0, float("nan")]}}]
    with pytest.raises(ReportError, match=r"runs\[0\]\.latency\.samples_ms\[1\]: not a finite"):
        load_report(_write(tmp_path / "nan.json", report_dict))


def test_a_bool_where_a_count_belongs_is_refused(tmp_path: Path,
                                                 report_dict: dict[str, object]) -> None:
    report_dict["analysis"]["totals"]["params"] = True  # type: ignore[index]
    with pytest.raises(ReportError) as error:
        load_report(_write(tmp_path / "bool.json", report_dict))
    assert str(error.value).endswith("bool.json: analysis.totals.params: expected int, "
                                     "found bool")


def test_a_report_larger_than_the_bound_is_not_read(tmp_path: Path) -> None:
    path = tmp_path / "sparse.json"
    with open(path, "wb") as handle:
        handle.truncate(report_model.MAX_REPORT_BYTES + 1)  # sparse: no disk, no memory
    with pytest.raises(ReportError, match="larger than any report"):
        load_report(str(path))


def test_a_fifo_report_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.json")
    with pytest.raises(ReportError, match="is not a regular file"):
        load_report(str(tmp_path / "pipe.json"))


# history ------------------------------------------------------------------------------------

def _saved_store() -> HistoryStore:
    store = HistoryStore()
    store.save_report(make_report("resnet.onnx", "2025-03-01T10:00:00+00:00"))
    return store


def _execute(store: HistoryStore, sql: str, *params: object) -> None:
    with sqlite3.connect(store.path) as connection:
        connection.execute(sql, params)


def test_negative_user_version_is_not_a_history(capsys: pytest.CaptureFixture[str]) -> None:
    store = _saved_store()
    _execute(store, "PRAGMA user_version = -3")
    assert main(["history", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "not an edgeprof history (schema -3" in err


def test_an_inflating_body_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    store = _saved_store()
    monkeypatch.setattr(history_store, "MAX_REPORT_BYTES", 1 << 20)
    _execute(store, "UPDATE reports SET body = ?", zlib.compress(b" " * (4 << 20)))
    with pytest.raises(HistoryError, match="inflates beyond 1048576 bytes"):
        store.get_run(1)


def test_infinity_in_a_stored_report_is_refused() -> None:
    store = _saved_store()
    with sqlite3.connect(store.path) as connection:
        body = connection.execute("SELECT body FROM reports").fetchone()[0]
    text = zlib.decompress(body).decode().replace('"compile_ms":', '"compile_ms":-Infinity,"x":',
                                                  1)
    _execute(store, "UPDATE reports SET body = ?", zlib.compress(text.encode()))
    with pytest.raises(HistoryError, match=r"runs\[0\]\.compile_ms: not a finite number"):
        store.get_run(1)


@pytest.mark.parametrize(("column", "value", "expected"), [
    ("p50_ms", "fast", "column p50_ms holds str 'fast', not a number or empty"),
    ("device", b"\x1b]0;x\x07", "column device holds bytes b'\\x1b]0;x\\x07', not text"),
    ("peak_rss_bytes", 1.5, "column peak_rss_bytes holds float 1.5"),
    ("model_name", "x" * 100_000, "column model_name holds str"),
])
def test_a_row_with_the_wrong_type_names_the_column(column: str, value: object, expected: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    store = _saved_store()
    _execute(store, f"UPDATE runs SET {column} = ? WHERE id = 1", value)
    assert main(["history", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err and "run #1" in err
