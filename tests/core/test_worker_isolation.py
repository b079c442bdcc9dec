"""Isolation: each device runs in its own worker process. A crashing or hanging child gives that
run an error and the others go on; cancel kills the child (and what it started); nothing is
left behind (no zombie, no orphan). The crash and the hang are deliberate children.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from profiler.bench.profile import profile_jobs
from profiler.bench.protocol import MeasureRequest, StopRule, measure_request
from profiler.bench.supervisor import Limits, run_job
from profiler.bench.wire import Event, StageEvent
from tests.conftest import REPO_ROOT
from tests.core.fake_workers import HANDSHAKE, frame
from tests.helpers import leftover_children, process_gone

FAKE_FACTORY = "tests.core.test_protocol:fake_backend"

CRASH_WHILE_COMPILING = (
    HANDSHAKE + frame("stage", stage="compile") +
    "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
)
HANG_WHILE_COMPILING = HANDSHAKE + frame("stage", stage="compile") + "import time; time.sleep(3600)"
HANG_WITH_GRANDCHILD = (
    HANDSHAKE +
    "import subprocess, time\n"
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(3600)'])\n"
    "print(json.dumps({'v': wire.PROTOCOL_VERSION, 'type': 'stage', 'stage': 'compile', "
    "'detail': str(p.pid)}), flush=True)\n"
    "time.sleep(3600)"
)


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The worker imports the fake backend from tests/, so it runs from the repo root."""
    monkeypatch.chdir(REPO_ROOT)
    yield
    # every worker was reaped: a zombie would still be listed as our child
    leftover = leftover_children()
    assert leftover == [], f"children left behind: {leftover}"


def _job(tmp_path: Path, device: str = "fake:cpu", **fields: Any) -> MeasureRequest:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\0" * 1234)
    return measure_request(str(model), device, backend_factory=FAKE_FACTORY,
                           stop=StopRule(iterations=5), warmup_min_seconds=0.0, **fields)


def test_worker_measures_and_streams_progress(tmp_path: Path) -> None:
    events: list[Event] = []
    run = run_job(_job(tmp_path), progress=events.append)
    assert run.error is None, run.error
    assert run.latency is not None and run.latency.count == 5
    assert run.layer_profile is not None and run.layer_profile.layers[0].name == "conv"
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    assert stages == ["worker", "start", "load", "compile", "inputs", "first_inference",
                      "warmup", "latency", "layers"]
    assert all(e.device == "fake:cpu" and e.variant == "fp32" for e in events)
    overall = [e.overall for e in events]
    assert overall == sorted(overall) and overall[-1] < 1.0
    assert run.memory is not None and run.memory.model_file_bytes == 1234
    assert run.memory.baseline_peak_rss_bytes > 10 * 1024 * 1024  # Python + numpy loaded
    assert run.memory.inference_peak_rss_bytes > 0 and run.memory.compile_peak_rss_bytes > 0
    if sys.platform.startswith("linux"):
        assert run.memory.method == "linux-vmhwm"
    assert run.config["memory_method"] == run.memory.method


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="no CPU affinity here")
def test_worker_applies_cpu_affinity(tmp_path: Path) -> None:
    cpu = sorted(os.sched_getaffinity(0))[0]
    run = run_job(_job(tmp_path, cpus=[cpu], layers=False))
    assert run.error is None and run.config["cpus"] == [cpu]
    bad = run_job(_job(tmp_path, cpus=[100000], layers=False))
    assert bad.error is not None and bad.error.stage == "worker" and bad.error.kind == "runtime"
    assert "cannot pin the worker to CPUs [100000]" in bad.error.message
    assert "usable CPUs: " in bad.error.message


def test_crashing_child_gives_the_signal_and_stage(tmp_path: Path) -> None:
    run = run_job(_job(tmp_path, device="ov:GPU"),
                  worker_argv=[sys.executable, "-c", CRASH_WHILE_COMPILING])
    assert run.error is not None and run.error.stage == "compile"
    assert run.error.message == "runtime crashed: signal 11 (SIGSEGV) while compiling on ov:GPU"
    assert run.error.kind == "crash"
    assert run.latency is None


def test_hanging_child_is_stopped_after_the_timeout(tmp_path: Path) -> None:
    run = run_job(_job(tmp_path, device="ov:GPU"), limits=Limits(timeout_s=1.0),
                  worker_argv=[sys.executable, "-c", HANG_WHILE_COMPILING])
    assert run.error is not None and run.error.stage == "compile"
    assert run.error.message == "no response for 1 s while compiling on ov:GPU; stopped"
    assert run.error.kind == "timeout"


def test_worker_exit_without_result_names_the_code(tmp_path: Path) -> None:
    script = "import sys; print('plugin not found', file=sys.stderr); sys.exit(3)"
    run = run_job(_job(tmp_path), worker_argv=[sys.executable, "-c", script])
    assert run.error is not None and run.error.stage == "worker"
    assert run.error.message == ("worker exited with code 3 without a result while starting "
                                 "the worker on fake:cpu: plugin not found")


def test_other_devices_go_on_after_a_crash_and_a_hang(tmp_path: Path) -> None:
    jobs = [_job(tmp_path, device="fake:crash-compile"), _job(tmp_path, device="fake:hang-compile"),
            _job(tmp_path, device="fake:fail-compile"), _job(tmp_path, device="fake:cpu")]
    runs = profile_jobs(jobs, Limits(timeout_s=4.0))
    assert [run.device for run in runs] == [job.device for job in jobs]
    crashed, hung, failed, good = runs
    assert crashed.error is not None and crashed.error.message == (
        "runtime crashed: signal 11 (SIGSEGV) while compiling on fake:crash-compile")
    assert hung.error is not None and hung.error.message == (
        "no response for 4 s while compiling on fake:hang-compile; stopped")
    assert failed.error is not None and failed.error.stage == "compile"
    assert "boom in compile" in failed.error.message
    assert good.error is None and good.latency is not None and good.latency.count == 5


def test_cancel_stops_the_child_and_what_it_started(tmp_path: Path) -> None:
    cancel = threading.Event()
    seen: dict[str, float] = {}

    def progress(event: Event) -> None:
        if isinstance(event, StageEvent) and event.stage == "compile" and not cancel.is_set():
            seen["grandchild"] = int(event.detail)
            seen["cancelled_at"] = time.monotonic()
            cancel.set()

    run = run_job(_job(tmp_path), progress=progress, cancel=cancel,
                  worker_argv=[sys.executable, "-c", HANG_WITH_GRANDCHILD])
    returned_after_s = time.monotonic() - seen["cancelled_at"]
    assert returned_after_s < 5.0  # generous: the protocol aims at well under a second
    assert run.error is not None and run.error.stage == "compile"
    assert run.error.message == "cancelled while compiling on fake:cpu"
    assert run.error.kind == "cancelled"
    assert process_gone(int(seen["grandchild"]), 5.0)


def test_cancel_before_start_runs_nothing(tmp_path: Path) -> None:
    cancel = threading.Event()
    cancel.set()
    assert profile_jobs([_job(tmp_path)], cancel=cancel) == []


def test_worker_dies_when_its_parent_is_killed(tmp_path: Path) -> None:
    """A parent killed with SIGKILL leaves no worker behind (PR_SET_PDEATHSIG on Linux)."""
    if not sys.platform.startswith("linux"):
        pytest.skip("parent-death signal is Linux-only")
    pid_file = tmp_path / "worker.pid"
    parent_code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'from profiler.bench.worker import die_with_parent; import os, sys, time; "
        f"die_with_parent(); open(sys.argv[1], \"w\").write(str(os.getpid())); time.sleep(120)', "
        f"{str(pid_file)!r}])\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code], cwd=REPO_ROOT)
    deadline = time.monotonic() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "the worker never started"
        time.sleep(0.05)
    worker_pid = int(pid_file.read_text())
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while _alive(worker_pid):
        assert time.monotonic() < deadline, f"worker {worker_pid} outlived its killed parent"
        time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
