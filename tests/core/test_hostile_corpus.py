"""Every hostile input of the corpus through the real command line, in a child process whose
address space is capped at 2 GiB: an error is exit 1 with one line naming the file and the
problem; an accepted input is exit 0 with the report written. Never a traceback, never a
MemoryError, nothing written beside the chosen output, and the input files untouched.

Which inputs are errors and which are accepted (with the reason in the report) is the
corpus's ERROR / ACCEPTED column: see tests/core/hostile_corpus.py.
"""

from __future__ import annotations

import hashlib
import os
import resource
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from profiler.records.report import load_report
from tests.conftest import REPO_ROOT
from tests.core.hostile_corpus import ACCEPTED, CASES, ERROR, SECRET_MARKER

ADDRESS_SPACE_BYTES = 2 * 1024**3
"""RLIMIT_AS of the child: a model whose declared sizes were allocated would die here."""
PEAK_RSS_BOUND_BYTES = 512 * 1024**2
"""The CLI with onnx, numpy and OpenVINO loaded stays near 60 MB; 10^12 elements never land."""
TIMEOUT_S = 120.0


@dataclass
class Capped:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_bytes: int


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_BYTES, ADDRESS_SPACE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run_capped(args: list[str], cwd: Path, logs: Path) -> Capped:
    """``python -m profiler ARGS`` under the address-space cap; its own peak RSS via wait4."""
    logs.mkdir(exist_ok=True)
    out_path, err_path = logs / "stdout", logs / "stderr"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    with open(out_path, "w") as out, open(err_path, "w") as err:
        child = subprocess.Popen([sys.executable, "-m", "profiler", *args], cwd=cwd, stdout=out,
                                 stderr=err, stdin=subprocess.DEVNULL, env=env,
                                 preexec_fn=_cap_memory)
    status, usage = _wait(child)
    child.returncode = os.waitstatus_to_exitcode(status)  # reaped here: keep Popen in step
    return Capped(child.returncode, out_path.read_text(errors="replace"),
                  err_path.read_text(errors="replace"), usage.ru_maxrss * 1024)


def _wait(child: subprocess.Popen[bytes]) -> tuple[int, resource.struct_rusage]:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            return status, usage
        if time.monotonic() > deadline:
            child.kill()
            _, status, usage = os.wait4(child.pid, 0)
            pytest.fail("the command line did not finish (a blocking read?)")
        time.sleep(0.02)


def snapshot(root: Path) -> dict[str, tuple[str, ...]]:
    """Every entry under ``root``: kind plus content hash (files) or target (links).
    Pipes and devices are listed, never opened."""
    entries: dict[str, tuple[str, ...]] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            info = os.lstat(path)
            key = os.path.relpath(path, root)
            if stat.S_ISLNK(info.st_mode):
                entries[key] = ("link", os.readlink(path))
            elif stat.S_ISREG(info.st_mode):
                entries[key] = ("file", str(info.st_size), _sha256(path))
            else:
                entries[key] = (stat.filemode(info.st_mode)[0],)
    return entries


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def test_corpus_has_at_least_30_cases_of_both_outcomes() -> None:
    outcomes = [case.outcome for case in CASES.values()]
    assert len(CASES) >= 30
    assert outcomes.count(ERROR) >= 30 and outcomes.count(ACCEPTED) >= 8
    assert {case.command for case in CASES.values()} == {"analyze", "report"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_through_the_cli(tmp_path: Path, name: str) -> None:
    case = CASES[name]
    work = tmp_path / "work"
    work.mkdir()
    path, expected = case.make(work)
    output = work / ("out.html" if case.command == "report" else "out.json")
    before = snapshot(work)
    result = run_capped([case.command, path, "-o", str(output)], work, tmp_path / "logs")
    after = snapshot(work)
    everything = result.stdout + result.stderr
    assert "Traceback" not in everything and "MemoryError" not in everything, everything
    assert SECRET_MARKER not in everything
    assert result.peak_rss_bytes < PEAK_RSS_BOUND_BYTES
    if case.outcome == ERROR:
        _assert_refused(result, path, expected)
        assert after == before  # nothing written, nothing changed
    else:
        _assert_accepted(result, output, expected, case.command)
        assert {k: v for k, v in after.items() if k != output.name} == before


def _assert_refused(result: Capped, path: str, expected: str) -> None:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"edgeprof-cli: error: {path}")
    assert expected in lines[0]
    assert result.stdout == ""


def _assert_accepted(result: Capped, output: Path, expected: str, command: str) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == f"wrote {output}"
    text = output.read_text(encoding="utf-8")
    assert expected in text
    assert SECRET_MARKER not in text
    if command == "analyze":
        report = load_report(str(output))
        assert report.analysis is not None and report.analysis.layers
