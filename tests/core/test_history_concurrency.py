"""The history under concurrent writers and writers killed with SIGKILL mid-write.

Writers are real child processes (``python -c``) so they hold their own SQLite locks; the
checks are on the file afterwards: integrity_check, every id a writer printed after
save_report returned, reports never half-written.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from profiler.history.store import HistoryStore
from profiler.records.report import Report
from profiler.records.runs import Run
from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and fork-style tests")

WRITER = r"""
import os, sys, time
from profiler.bench.stats import latency_stats
from profiler.records.runs import LayerProfile, Run, RuntimeLayer
from profiler.records.runs import Run
from profiler.history.store import HistoryStore
from profiler.records.model import ModelInfo
from profiler.records.report import Report

tag, count, sample_count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
store = HistoryStore()
if len(sys.argv) > 4:  # start together: wait for the parent's go file
    print("ready", flush=True)
    while not os.path.exists(sys.argv[4]):
        time.sleep(0.005)
index = 0
while count < 0 or index < count:
    samples = [1.0 + (k % 7) * 0.01 + index * 1e-6 for k in range(sample_count)]
    layers = [RuntimeLayer(name=f"layer{k}", time_ms=0.01 * k) for k in range(200)]
    run = Run(device="ov:CPU", latency=latency_stats(samples), layer_profile=LayerProfile(layers))
    model = ModelInfo(path="m.onnx", name=f"{tag}-{index}", format="onnx")
    ids = store.save_report(Report(model=model, runs=[run, Run(device="ort:cpu")]))
    print(tag, index, *ids, flush=True)
    index += 1
"""
PAUSED_WRITER = r"""
import time
from profiler.records.runs import Run
from profiler.history import store
from profiler.records.model import ModelInfo
from profiler.records.report import Report

original = store._insert_runs

def insert_then_hang(connection, report, report_id):
    ids = original(connection, report, report_id)
    print("inside the transaction", flush=True)
    time.sleep(600)
    return ids

store._insert_runs = insert_then_hang
model = ModelInfo(path="m.onnx", name="killed.onnx", format="onnx")
store.HistoryStore().save_report(Report(model=model, runs=[Run(device="ov:CPU")]))
"""


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("EDGEPROF_DATA_DIR", str(folder))
    return folder


def _writer(*args: str, script: str = WRITER) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", script, *args], cwd=REPO_ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=os.environ)


def _parse(lines: list[str]) -> dict[str, list[int]]:
    """'tag index id id' lines -> {'tag-index': [ids]}."""
    saved = {}
    for line in lines:
        tag, index, *ids = line.split()
        saved[f"{tag}-{index}"] = [int(i) for i in ids]
    return saved


def _check_file(path: Path) -> None:
    """Integrity, and every report whole: exactly its two runs, no run without its report."""
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
        counts = connection.execute(
            "SELECT reports.id, count(runs.id) FROM reports LEFT JOIN runs "
            "ON runs.report_id = reports.id GROUP BY reports.id").fetchall()
    assert counts and all(count == 2 for _, count in counts), counts


def _saved_by_model(store: HistoryStore) -> dict[str, list[int]]:
    saved: dict[str, list[int]] = {}
    for entry in sorted(store.list_runs(limit=None), key=lambda e: e.id):
        saved.setdefault(entry.model_name, []).append(entry.id)
    return saved


def test_four_writers_at_once_lose_nothing(tmp_path: Path) -> None:
    go = tmp_path / "go"
    writers = [_writer(f"w{n}", "50", "2000", str(go)) for n in range(4)]
    for writer in writers:  # every one imported and waiting, so their saves overlap
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
    go.touch()
    printed: dict[str, list[int]] = {}
    for writer in writers:
        out, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
        printed.update(_parse(out.splitlines()))
    assert len(printed) == 200
    store = HistoryStore()
    assert _saved_by_model(store) == printed
    assert len({i for ids in printed.values() for i in ids}) == 400
    _check_file(store.path)


def test_writer_killed_at_random_moments() -> None:
    rng = random.Random(os.getpid())
    printed: dict[str, list[int]] = {}
    for round_index in range(4):
        writer = _writer(f"r{round_index}", "-1", "20000")
        assert writer.stdout is not None
        lines = [writer.stdout.readline() for _ in range(rng.randint(1, 5))]
        assert all(lines), writer.stderr.read() if writer.stderr else ""
        time.sleep(rng.uniform(0.0, 0.05))  # land anywhere in the next save
        writer.send_signal(signal.SIGKILL)
        lines += writer.stdout.read().splitlines()  # printed before it died: saved too
        writer.wait(timeout=60)
        assert writer.returncode == -signal.SIGKILL
        printed.update(_parse(lines))
    store = HistoryStore()
    saved = _saved_by_model(store)
    assert {model: saved.get(model) for model in printed} == printed
    _check_file(store.path)
    after = store.save_report(_two_run_report())
    assert len(after) == 2 and store.get_entry(after[1]).device == "ort:cpu"
    _check_file(store.path)


def test_writer_killed_inside_its_transaction_leaves_nothing_behind() -> None:
    store = HistoryStore()
    before = [i for _ in range(3) for i in store.save_report(_two_run_report())]
    writer = _writer(script=PAUSED_WRITER)
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "inside the transaction"
    # The writer holds the write lock; readers still see every committed run (WAL).
    assert sorted(e.id for e in store.list_runs()) == before
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=60)
    assert sorted(e.id for e in store.list_runs()) == before
    assert store.list_runs(model="killed") == []
    _check_file(store.path)
    assert len(store.save_report(_two_run_report())) == 2  # the lock died with the writer
    _check_file(store.path)


def _two_run_report() -> Report:
    return Report(runs=[Run(device="ov:CPU"), Run(device="ort:cpu")])
