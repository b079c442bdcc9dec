"""The memory cap: a worker whose resident memory passes the limit is stopped with a clear error
for that run, and the other runs go on; a real model under a normal cap runs; Ctrl-C on the
command line leaves no worker behind.

``greedy_backend`` is loaded by the worker in its own process (Job.backend_factory), as the
isolation tests load tests.core.test_protocol:fake_backend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from profiler import processes
from profiler.bench.profile import profile_jobs
from profiler.bench.protocol import MeasureRequest, StopRule, measure_request
from profiler.bench.supervisor import Limits, parse_memory_limit, run_job
from profiler.errors import UsageError
from profiler.processes import DEFAULT_MEMORY_SHARE
from tests.conftest import REPO_ROOT
from tests.core import model_builders as mb
from tests.core.fake_workers import HANDSHAKE, frame
from tests.core.test_protocol import FakeBackend, fake_backend
from tests.helpers import leftover_children, process_gone

MiB = 1024**2

CAP_BYTES = 300 * MiB
CHUNK_BYTES = 16 * MiB
MAX_CHUNKS = 128
"""2 GiB at most, should the watchdog ever miss: the test then fails on its timeout instead of
exhausting the machine."""
GREEDY_FACTORY = "tests.core.test_memory_cap:greedy_backend"

ALLOCATE_WHILE_COMPILING = (
    HANDSHAKE + frame("stage", stage="compile") +
    "import time\n"
    "hoard = []\n"
    f"for _ in range({MAX_CHUNKS}):\n"
    f"    hoard.append(b'x' * {CHUNK_BYTES})\n"
    "    time.sleep(0.01)\n"
    "time.sleep(3600)\n"
)


def _allocate_until_stopped() -> None:
    hoard = []
    for _ in range(MAX_CHUNKS):
        hoard.append(b"\x01" * CHUNK_BYTES)  # written, so resident
        time.sleep(0.01)
    time.sleep(3600)


def greedy_backend(device_id: str) -> FakeBackend:
    """The fake backend; on 'fake:greedy' its compile allocates until it is stopped."""
    backend = fake_backend("fake:cpu")
    if device_id == "fake:greedy":
        backend.compile = _allocate_until_stopped  # type: ignore[method-assign]
    return backend


@pytest.fixture(autouse=True)
def _in_repo_root(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Workers import the fake backends from tests/; none may outlive a test."""
    monkeypatch.chdir(REPO_ROOT)
    yield
    leftover = leftover_children()
    assert leftover == [], f"children left behind: {leftover}"


def _job(tmp_path: Path, device: str) -> MeasureRequest:
    model = tmp_path / "model.onnx"
    model.write_bytes(b"\0" * 100)
    return measure_request(str(model), device, backend_factory=GREEDY_FACTORY,
                           stop=StopRule(iterations=5), warmup_min_seconds=0.0, layers=False)


def test_memory_limit_sizes() -> None:
    assert parse_memory_limit("4G") == 4 * 1024**3
    assert parse_memory_limit("512M") == 512 * MiB
    assert parse_memory_limit("1.5GiB") == 3 * 512 * MiB
    assert parse_memory_limit("2000") == 2000
    assert parse_memory_limit("none") is None
    for bad in ("x", "-1G", "0", "4Q"):
        with pytest.raises(UsageError, match="--memory-limit"):
            parse_memory_limit(bad)


def test_default_limit_is_a_share_of_the_available_ram(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(processes, "available_memory_bytes", lambda: 10 * 1024**3)
    assert DEFAULT_MEMORY_SHARE == 0.8
    assert Limits().memory_limit_bytes == 8 * 1024**3


def test_injected_worker_over_the_cap_is_stopped(tmp_path: Path) -> None:
    limits = Limits(timeout_s=30, memory_limit_bytes=CAP_BYTES)
    run = run_job(_job(tmp_path, "ov:CPU"), limits=limits,
                  worker_argv=[sys.executable, "-c", ALLOCATE_WHILE_COMPILING])
    assert run.error is not None and run.error.stage == "compile"
    assert run.error.kind == "memory"
    message = run.error.message
    assert message.startswith("exceeded the memory limit of 300.00 MiB while compiling on "
                              "ov:CPU (resident set reached ")
    assert message.endswith("); stopped")
    assert run.latency is None


def test_the_other_runs_go_on_after_one_exceeds_the_cap(tmp_path: Path) -> None:
    jobs = [_job(tmp_path, "fake:greedy"), _job(tmp_path, "fake:cpu")]
    greedy, good = profile_jobs(jobs, Limits(timeout_s=30, memory_limit_bytes=CAP_BYTES))
    assert greedy.error is not None and greedy.error.stage == "compile"
    assert greedy.error.message.startswith(
        "exceeded the memory limit of 300.00 MiB while compiling on fake:greedy")
    assert good.error is None and good.latency is not None and good.latency.count == 5
    assert good.memory is not None and good.memory.inference_peak_rss_bytes < CAP_BYTES


def test_a_real_model_runs_under_a_normal_cap(tmp_path: Path) -> None:
    model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    out = tmp_path / "report.json"
    result = mb.run_cli("profile", model, "--device", "ov:CPU", "--device", "ort:cpu",
                        "--iterations", "5", "--no-layers", "--memory-limit", "2G",
                        "-o", str(out))
    assert result.returncode == 0, result.stderr
    runs = json.loads(out.read_text(encoding="utf-8"))["runs"]
    assert [run["device"] for run in runs] == ["ov:CPU", "ort:cpu"]
    for run in runs:
        assert run["error"] is None and run["latency"]["count"] == 5
        assert 0 < run["memory"]["compile_peak_rss_bytes"] < 2 * 1024**3


def test_ctrl_c_during_a_profile_leaves_no_worker(tmp_path: Path) -> None:
    model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        cli = subprocess.Popen(
            [sys.executable, "-m", "profiler", "profile", model, "--device", "ort:cpu",
             "--duration", "120", "--no-layers"],
            cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        worker = _wait_for_worker(cli, log)
        cli.send_signal(signal.SIGINT)  # what a terminal's Ctrl-C sends the foreground CLI
        assert cli.wait(timeout=30) == 130
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert "edgeprof-cli: interrupted" in log.read_text()
    assert process_gone(worker)


def _wait_for_worker(cli: subprocess.Popen[bytes], log: Path) -> int:
    """The worker's pid, once it is measuring (so Ctrl-C lands in the middle of a run)."""
    deadline = time.monotonic() + 60
    while "measuring latency" not in log.read_text():
        assert cli.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the profile never reached the timed loop"
        time.sleep(0.1)
    workers = [p.pid for p in psutil.Process(cli.pid).children(recursive=True)
               if "profiler.bench.worker" in " ".join(p.cmdline())]
    assert len(workers) == 1
    return workers[0]


def test_worker_offers_itself_to_the_oom_killer(tmp_path: Path) -> None:
    if not os.path.exists("/proc/self/oom_score_adj"):
        pytest.skip("no /proc/self/oom_score_adj here")
    code = ("from profiler.bench.worker import prefer_oom_kill; prefer_oom_kill(); "
            "print(open('/proc/self/oom_score_adj').read().strip())")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO_ROOT, check=False)
    assert result.stdout.strip() == "1000", result.stderr
