"""The sandboxed child forked ahead (profiler.prestart): ``edgeprof-cli analyze`` forks it
before its own imports; the job then runs there, with the file read ahead, under the same
limits and hardening as a freshly forked child. Each scenario runs in a fresh process (a
fork is only made from a single-threaded one)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.core import model_builders as mb


def _scenario(name: str, path: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "tests.core.prestart_jobs", name, str(path)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    answer: dict[str, Any] = json.loads(result.stdout.splitlines()[-1])
    return answer


def _gone(pid: int) -> bool:
    """No such process, or a zombie waiting for a reaper."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_the_job_runs_in_the_prestarted_child(tmp_path: Path) -> None:
    answer = _scenario("pid", tmp_path / "m.onnx")
    assert answer["ran_in"] == answer["forked"]


def test_the_named_file_is_read_ahead(tmp_path: Path) -> None:
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x08\x07")
    assert _scenario("read_ahead", path) == {"kept": True}


def test_a_child_gone_before_its_job_is_replaced_by_a_fresh_fork(tmp_path: Path) -> None:
    answer = _scenario("gone", tmp_path / "m.onnx")
    assert answer["ran_in"] != answer["forked"]


def test_a_crash_in_the_prestarted_child_is_one_line(tmp_path: Path) -> None:
    error = _scenario("crash", tmp_path / "m.onnx")["error"]
    assert error.startswith(f"{tmp_path / 'm.onnx'}: the test stage crashed on this model")
    assert "SIGABRT" in error


def test_the_prestarted_child_is_isolated_as_a_fresh_one(tmp_path: Path) -> None:
    """Several times: its job reader, joined just before the child hardens itself, could
    still be leaving, and the kernel refused the namespaces to a process of two threads."""
    for _ in range(4):
        answer = _scenario("isolated", tmp_path / "m.onnx")
        assert answer["prestarted"] == answer["forked"]


def test_an_unused_child_ends_with_its_parent(tmp_path: Path) -> None:
    forked = _scenario("unused", tmp_path / "m.onnx")["forked"]
    deadline = time.monotonic() + 10
    while not _gone(forked) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(forked)


def test_analyze_from_the_command_line_hashes_the_bytes_it_read(tmp_path: Path) -> None:
    model = Path(mb.save(mb.matmul_chain(), tmp_path / "chain.onnx"))
    out = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-m", "profiler", "analyze", str(model), "-o", str(out)],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["model"]["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
    assert report["environment"]["runtimes"]["onnx"]


def test_a_pipe_given_to_analyze_is_refused_by_the_read_ahead_too(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.onnx"
    os.mkfifo(fifo)
    result = subprocess.run([sys.executable, "-m", "profiler", "analyze", str(fifo)],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 1
    assert "is not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_runtime_versions_match_the_package_metadata() -> None:
    from importlib import metadata

    from profiler.environment import RUNTIME_PACKAGES, runtime_versions

    expected = {}
    for package in RUNTIME_PACKAGES:
        try:
            expected[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    assert runtime_versions() == expected


def test_the_analysis_preload_covers_what_the_job_imports(tmp_path: Path) -> None:
    """A prestarted child imports ANALYSIS_PRELOAD before its job: the job (ONNX and
    OpenVINO files) then imports none of our modules on the way."""
    onnx_model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    script = (
        "import importlib, sys\n"
        "from profiler.prestart import ANALYSIS_PRELOAD\n"
        "for name in ANALYSIS_PRELOAD: importlib.import_module(name)\n"
        "before = {m for m in sys.modules if m.startswith('profiler')}\n"
        "from profiler.analysis.file_analysis import analyze_file_in_parts\n"
        "analyze_file_in_parts(sys.argv[1], None, None)\n"
        "print(sorted({m for m in sys.modules if m.startswith('profiler')} - before))\n"
    )
    result = subprocess.run([sys.executable, "-c", script, str(onnx_model)],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "[]"


def test_the_cli_process_imports_no_cost_function(tmp_path: Path) -> None:
    """Naming the job and joining its answer needs the records, not the analysis itself."""
    script = ("import sys\n"
              "import profiler.api, profiler.analysis.file_analysis\n"
              "print(sorted(m for m in sys.modules if m.startswith('profiler.analysis.')))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['profiler.analysis.file_analysis']"


def test_platform_text_is_platform_platform_without_its_processor_query() -> None:
    import platform

    from profiler.environment import platform_text

    if platform.processor() not in ("", platform.machine()):  # named: it would be in the text
        pytest.skip(f"this machine names its processor {platform.processor()!r}")
    assert platform_text() == platform.platform()


def test_ctrl_c_while_analyze_starts_is_one_line_and_leaves_no_child(tmp_path: Path) -> None:
    """SIGINT at any point of a start-up (options, imports, the prestarted child's work):
    'interrupted', exit 130, no traceback, and the child gone with its parent."""
    import signal

    model = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")
    for delay_s in (0.15, 0.3, 0.5):
        process = subprocess.Popen(
            [sys.executable, "-m", "profiler", "analyze", model, "-o", str(tmp_path / "r.json")],
            stderr=subprocess.PIPE, text=True, cwd=REPO_ROOT)
        time.sleep(delay_s)
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        if process.returncode == 0 or "wrote " in errors:
            continue  # it finished first (the signal may end its exit, quietly)
        assert process.returncode == 130, errors
        assert "Traceback" not in errors and "edgeprof-cli: interrupted" in errors
    def children() -> list[str]:
        return subprocess.run(["pgrep", "-f", f"profiler analyze {model}"],
                              capture_output=True, text=True).stdout.split()

    deadline = time.monotonic() + 10  # a child ends on its own once its parent is gone
    while children() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children() == []
