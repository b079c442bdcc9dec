"""Cancelling an analysis, run in a fresh single-threaded process (``python -m
tests.core.cancel_jobs SCENARIO MODEL``): there the sandboxed child is a plain fork and runs
this process' slowed analysis. Prints what happened."""

from __future__ import annotations

import subprocess
import sys
import time


def slow_analysis(*_: object) -> None:
    time.sleep(30)


class SetAfter:
    """A cancel token that sets itself after ``seconds`` (no thread, so the fork stays plain)."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds

    def is_set(self) -> bool:
        return time.monotonic() > self.deadline


def main(scenario: str, path: str) -> str:
    from profiler.analysis import file_analysis

    file_analysis.analyze_file = slow_analysis  # type: ignore[assignment]
    try:
        if scenario == "api":
            from profiler.api import analyze_model

            analyze_model(path, cancel=SetAfter(0.3))
        else:
            from ui.loader import load_document

            load_document(path, SetAfter(0.3))  # type: ignore[arg-type]
    except Exception as error:  # what the caller would see
        return f"{type(error).__name__}: {error}"
    return "finished"


def run_scenario(scenario: str, path: str) -> str:
    """``main`` in a fresh process; its last line."""
    from tests.conftest import REPO_ROOT

    result = subprocess.run([sys.executable, "-m", "tests.core.cancel_jobs", scenario, path],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout.strip().splitlines()[-1]


if __name__ == "__main__":
    print(main(sys.argv[1], sys.argv[2]))
