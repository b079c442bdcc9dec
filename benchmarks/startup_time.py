"""Time from process start to the first window on screen, against the 1.5 s target.

Starts ``python -m ui.app --quit-after-ms 0`` several times with EDGEPROF_STARTUP_PROBE=1: the
app prints the wall-clock time at which its main window is first exposed, and quits. The time
counted here runs from just before the process is spawned to that moment: interpreter start,
imports, QApplication, the window, its first paint. Uses the current display, or the offscreen
platform where there is none (set DISPLAY, e.g. under Xvfb, to measure a real X server).

    python benchmarks/startup_time.py [--runs 5] [MODEL]

With MODEL, the model is also passed on the command line (its loading runs in a worker
thread after the window is up, so it should not delay the first window).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.5
PROBE_PREFIX = "edgeprof-startup first_window_epoch="


def one_start(model: str | None, config_dir: str) -> float:
    env = {**os.environ, "EDGEPROF_STARTUP_PROBE": "1", "XDG_CONFIG_HOME": config_dir}
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        env.setdefault("QT_QPA_PLATFORM", "offscreen")
    command = [sys.executable, "-m", "ui.app", "--quit-after-ms", "0", *([model] if model else [])]
    started = time.time()
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env,
                            cwd=REPO_ROOT)
    for line in result.stdout.splitlines():
        if line.startswith(PROBE_PREFIX):
            return float(line[len(PROBE_PREFIX):]) - started
    raise SystemExit(f"no startup probe line (exit {result.returncode}):\n{result.stderr}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", help="also open this model (optional)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    platform = os.environ.get("QT_QPA_PLATFORM") or (
        "xcb" if os.environ.get("DISPLAY") else "offscreen")
    with tempfile.TemporaryDirectory() as config_dir:
        one_start(args.model, config_dir)  # warm the file cache; not counted
        times = [one_start(args.model, config_dir) for _ in range(args.runs)]
    median = statistics.median(times)
    print(f"platform {platform}, {os.cpu_count()} CPUs, {args.runs} runs"
          f"{', model ' + args.model if args.model else ''}")
    print("first window shown after: " + ", ".join(f"{t:.3f}" for t in times) + " s")
    verdict = "within" if median <= TARGET_S else "OVER"
    print(f"median {median:.3f} s vs target {TARGET_S:.1f} s: {verdict} "
          f"(ratio {median / TARGET_S:.2f})")
    return 0 if median <= TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
