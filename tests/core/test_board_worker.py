"""The board-side guard: once the worker's parent (the SSH session) is gone, the worker's whole
process group ends, children included (no SSH needed to show it)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import psutil

from tests.conftest import REPO_ROOT
from tests.helpers import process_gone

CHILD = """
import subprocess, sys, time
from profiler.remote.board_worker import start_guard
start_guard()
sleeper = subprocess.Popen(["sleep", "60"])
print(sleeper.pid, flush=True)
time.sleep(60)
"""


def test_the_guard_ends_the_group_when_the_parent_goes() -> None:
    # a shell that does not exec its command stands for the session process between them
    shell = subprocess.Popen(["sh", "-c", f'"{sys.executable}" -c "$0"; true', CHILD],
                             stdout=subprocess.PIPE, text=True, cwd=REPO_ROOT,
                             start_new_session=True)
    assert shell.stdout is not None
    sleeper = int(shell.stdout.readline())
    guarded = psutil.Process(sleeper).ppid()
    try:
        os.kill(shell.pid, signal.SIGKILL)
        shell.wait()
        assert process_gone(guarded) and process_gone(sleeper)
    finally:
        for pid in (sleeper, guarded):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                continue
