"""Each run keeps the time it finished: runs of one batch are listed with their own times, and
reports from before runs recorded it fall back to the report's time."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from profiler.bench.protocol import measure_request
from profiler.bench.supervisor import run_job
from profiler.history.store import HistoryStore
from profiler.records.model import ModelInfo
from profiler.records.report import Report
from profiler.records.runs import Run
from tests.helpers import latency


def test_a_run_is_stamped_when_it_finishes(tmp_path: Path) -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    script = "import sys; sys.exit(3)"  # a worker that fails still yields a stamped run
    run = run_job(measure_request(str(tmp_path / "m.onnx"), "fake:cpu"),
                  worker_argv=[sys.executable, "-c", script])
    assert run.error is not None
    assert dt.datetime.fromisoformat(run.finished) >= before


def test_history_lists_each_run_with_its_own_time() -> None:
    model = ModelInfo(path="/m/a.onnx", name="a.onnx", format="onnx", sha256="ab" * 32)
    runs = [Run("ov:CPU", latency=latency([5.0] * 3), finished="2025-03-01T10:00:05+00:00"),
            Run("ort:cpu", latency=latency([6.0] * 3), finished="2025-03-01T10:02:40+00:00"),
            Run("ov:GPU", latency=latency([7.0] * 3))]
    store = HistoryStore()
    store.save_report(Report(created="2025-03-01T09:59:00+00:00", model=model, runs=runs))
    times = {entry.device: entry.created for entry in store.list_runs()}
    assert times == {"ov:CPU": "2025-03-01T10:00:05+00:00",
                     "ort:cpu": "2025-03-01T10:02:40+00:00",
                     "ov:GPU": "2025-03-01T09:59:00+00:00"}  # older runs: the report's time
