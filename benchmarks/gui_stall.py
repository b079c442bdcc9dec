"""The longest GUI-thread stall while (a) a profile runs on the sample model and (b) a
10,000-node model opens, for the committed code ("before") and the working tree ("after").

A QTimer fires every 5 ms on the GUI thread and records the largest gap between two firings
(minus the 5 ms interval): that is how long the GUI thread could not answer. Each tree is
measured in its own child process (``--measure TREE``), offscreen, with private settings.
The committed code is checked out with ``git worktree add --detach`` (--before-tree,
--before-commit; nothing in this tree changes). Target: no stall over 50 ms.

Also prints how long after the analysis finished the 10k-node model's table and charts were
ready (the tab created, every chart drawn, laid out). The meter keeps running half a second
after the profile finishes and after the tab is ready, so deferred drawing is measured too.
With --repeat N each tree is measured N times and the medians are printed.

With --trace, a helper thread samples the GUI thread's Python stack every 2 ms while a tick is
late by more than 20 ms, and the functions seen most are printed per measurement: where the
stalls come from.

Usage: python benchmarks/gui_stall.py [--before-commit REV] [--before-tree DIR] [--only-after]
                                      [--device ort:cpu] [--iterations 20] [--blocks 3400]
                                      [--repeat 3] [--trace]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from typing import Any

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join("resources", "sample", "mobilenetv2.onnx")
TICK_MS = 5
TARGET_STALL_MS = 50.0
RESULT_PREFIX = "gui-stall-result "
SETTLE_S = 0.5
"""How long the meter keeps running after the last event measured."""
TRACE_LATE_S = 0.020
TRACE_EVERY_S = 0.002
TRACE_PREFIX = "gui-stall-trace "


# The child: one tree, measured ------------------------------------------------------------

class StallMeter:
    """Largest gap between 5 ms timer firings on the GUI thread, beyond the interval."""

    def __init__(self) -> None:
        from PySide6.QtCore import QTimer

        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self._tick)
        self.last = time.perf_counter()
        self.longest_ms = 0.0

    def start(self) -> None:
        self.last, self.longest_ms = time.perf_counter(), 0.0
        self.timer.start()

    def _tick(self) -> None:
        now = time.perf_counter()
        self.longest_ms = max(self.longest_ms, (now - self.last) * 1000 - TICK_MS)
        self.last = now

    def stop(self) -> float:
        self._tick()
        self.timer.stop()
        return self.longest_ms


class StallSampler:
    """While the meter's last tick is more than TRACE_LATE_S old, samples the GUI thread's
    Python stack every TRACE_EVERY_S: each function of this tree on it counts once."""

    def __init__(self, meter: StallMeter, tree: str) -> None:
        self.meter, self.tree = meter, tree
        self.gui_thread = threading.get_ident()
        self.seen: collections.Counter[str] = collections.Counter()
        threading.Thread(target=self._sample, daemon=True, name="stall sampler").start()

    def _sample(self) -> None:
        while True:
            time.sleep(TRACE_EVERY_S)
            if not self.meter.timer.isActive() or (
                    time.perf_counter() - self.meter.last < TRACE_LATE_S):
                continue
            frame = sys._current_frames().get(self.gui_thread)
            if frame is None:
                continue
            names = {f"{os.path.relpath(f.filename, self.tree)}:{f.name}"
                     for f in traceback.extract_stack(frame) if f.filename.startswith(self.tree)}
            self.seen.update(names)

    def flush(self, what: str) -> None:
        for name, count in self.seen.most_common(25):
            print(f"{TRACE_PREFIX}{what}: {count * TRACE_EVERY_S * 1000:6.0f} ms  {name}",
                  flush=True)
        self.seen.clear()


def wait_for(signal: Any, timeout_s: float) -> tuple[Any, ...]:
    from PySide6.QtCore import QEventLoop, QTimer

    loop, got = QEventLoop(), []  # type: tuple[QEventLoop, list[tuple[Any, ...]]]

    def done(*args: Any) -> None:
        got.append(args)
        loop.quit()

    signal.connect(done)
    QTimer.singleShot(int(timeout_s * 1000), loop.quit)
    loop.exec()
    signal.disconnect(done)
    if not got:
        raise TimeoutError(f"no {signal} within {timeout_s:.0f} s")
    return got[0]


def wait_until(condition: Any, timeout_s: float) -> None:
    """Run the event loop until ``condition()`` holds, checking it every 10 ms from a timer
    (never sleeping on the GUI thread, which would delay the meter's ticks itself)."""
    from PySide6.QtCore import QEventLoop, QTimer

    if condition():
        return
    loop, check = QEventLoop(), QTimer()
    end = time.monotonic() + timeout_s

    def poll() -> None:
        if condition() or time.monotonic() > end:
            loop.quit()

    check.timeout.connect(poll)
    check.start(10)
    loop.exec()
    check.stop()
    if not condition():
        raise TimeoutError("condition not met")


def settle(seconds: float) -> None:
    """Keep the event loop running (and the meter ticking) for ``seconds``: deferred work
    queued by the last slot (chart steps, paints) counts too."""
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(int(seconds * 1000), loop.quit)
    loop.exec()


def when_drawn(window: Any, done: Any) -> None:
    """Call ``done`` once the current tab's charts are all built and drawn (at once for trees
    that draw them in the opening slot), after the paints that queues."""
    from PySide6.QtCore import QTimer

    charts = window.current_view().charts
    if not hasattr(charts, "is_drawn") or charts.is_drawn():
        QTimer.singleShot(0, done)
        return

    def drawn() -> None:
        charts.drawn.disconnect(drawn)
        QTimer.singleShot(0, done)

    charts.drawn.connect(drawn)


def measure_profile(window: Any, meter: StallMeter, device: str, iterations: int) -> float:
    wait_for(window.loader.loaded, 300)  # the sample model
    panel = window.profile_panel
    wait_until(lambda: bool(panel.devices), 120)
    panel.check_devices([device])
    panel.stop_rule.setCurrentText("iterations")
    panel.iterations.setValue(iterations)
    meter.start()
    panel.run_button.click()
    wait_for(panel.run_finished, 600)
    settle(SETTLE_S)
    return meter.stop()


def measure_open(window: Any, meter: StallMeter, model_path: str) -> tuple[float, float]:
    """(longest stall while opening, ms from analysis finished to table and charts ready)."""
    from PySide6.QtCore import QTimer

    import profiler.api as api

    analysed_at: list[float] = []
    analyze = api.analyze_model

    def timed(*args: Any, **kwargs: Any) -> Any:
        report = analyze(*args, **kwargs)
        analysed_at.append(time.perf_counter())
        return report

    api.analyze_model = timed
    ready_at: list[float] = []
    # Connected after the window's own slot: it runs once the tab exists; ready once every
    # chart is drawn and the layout and paint requests queued by then are processed.
    window.loader.loaded.connect(lambda *_: QTimer.singleShot(0, lambda: when_drawn(
        window, lambda: ready_at.append(time.perf_counter()))))
    meter.start()
    window.open_paths([model_path])
    wait_until(lambda: bool(ready_at), 600)
    settle(SETTLE_S)
    stall = meter.stop()
    return stall, (ready_at[0] - analysed_at[-1]) * 1000


def child(tree: str, device: str, iterations: int, blocks: int, trace: bool) -> None:
    sys.path.insert(0, tree)
    os.chdir(tree)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, os.path.join(REPO_ROOT, "benchmarks"))
    from analyze_speed import build_deep  # this tree's generator, for both measurements

    app = QApplication([sys.argv[0]])
    from ui.main_window import MainWindow
    from ui.settings import AppSettings

    folder = tempfile.mkdtemp(prefix="gui-stall-")
    deep_path, nodes, _bytes = build_deep(folder, blocks)
    window = MainWindow(AppSettings(os.path.join(folder, "settings.ini")))
    window.resize(1280, 800)
    window.show()
    meter = StallMeter()
    sampler = StallSampler(meter, os.path.realpath(tree) + os.sep) if trace else None
    window.loader.failed.connect(lambda path, message: sys.exit(f"{path}: {message}"))
    window.open_paths([os.path.join(REPO_ROOT, SAMPLE)])  # generated, not in git: this tree's
    profile_stall = measure_profile(window, meter, device, iterations)
    if sampler is not None:
        sampler.flush("profiling")
    open_stall, ready_ms = measure_open(window, meter, deep_path)
    if sampler is not None:
        sampler.flush("opening")
    print(RESULT_PREFIX + json.dumps({"profile_stall_ms": profile_stall, "nodes": nodes,
                                      "open_stall_ms": open_stall, "ready_ms": ready_ms}),
          flush=True)
    window.close()
    app.quit()


# The parent: both trees --------------------------------------------------------------------

def ensure_before_tree(path: str, commit: str) -> None:
    if not os.path.isdir(os.path.join(path, "ui")):
        subprocess.run(["git", "-C", REPO_ROOT, "worktree", "add", "--detach", path, commit],
                       check=True, capture_output=True)


def run_tree(tree: str, args: argparse.Namespace) -> dict[str, float]:
    command = [sys.executable, os.path.abspath(__file__), "--measure", tree, "--device",
               args.device, "--iterations", str(args.iterations), "--blocks", str(args.blocks)]
    if args.trace:
        command.append("--trace")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=tree)
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=1800)
    for line in done.stdout.splitlines():
        if line.startswith(TRACE_PREFIX):
            print(line[len(TRACE_PREFIX):])
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        tail = (done.stderr or done.stdout).strip().splitlines()[-5:]
        raise SystemExit(f"{tree}: no result (exit {done.returncode}): " + " | ".join(tail))
    result: dict[str, float] = json.loads(lines[-1][len(RESULT_PREFIX):])
    return result


def median_of(results: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the runs (a shared machine makes single runs noisy); the
    runs themselves are printed on one line when there are several."""
    if len(results) > 1:
        print("runs: " + "; ".join(", ".join(f"{key} {value:.0f}" for key, value in r.items()
                                             if key != "nodes") for r in results))
    return {key: statistics.median(r[key] for r in results) for key in results[0]}


def report(name: str, result: dict[str, float]) -> None:
    def mark(ms: float) -> str:
        return "ok" if ms <= TARGET_STALL_MS else f"over {TARGET_STALL_MS:.0f} ms"

    print(f"{name}: longest GUI-thread stall while profiling the sample model: "
          f"{result['profile_stall_ms']:.1f} ms ({mark(result['profile_stall_ms'])})")
    print(f"{name}: longest GUI-thread stall while a {int(result['nodes']):,}-node model opens: "
          f"{result['open_stall_ms']:.1f} ms ({mark(result['open_stall_ms'])})")
    print(f"{name}: 10k-node model: table and charts ready {result['ready_ms']:.0f} ms after "
          "analysis finished")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", metavar="TREE", help=argparse.SUPPRESS)
    parser.add_argument("--before-tree", default="/tmp/edgeprof-before")
    parser.add_argument("--before-commit", default="HEAD",
                        help="the commit measured as 'before' (checked out in --before-tree)")
    parser.add_argument("--only-after", action="store_true")
    parser.add_argument("--device", default="ort:cpu")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--blocks", type=int, default=3400, help="3 nodes per block")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each tree this many times; medians are reported")
    parser.add_argument("--trace", action="store_true",
                        help="print where the GUI thread was while its ticks were late")
    args = parser.parse_args()
    if args.measure:
        child(args.measure, args.device, args.iterations, args.blocks, args.trace)
        return
    if not args.only_after:
        ensure_before_tree(args.before_tree, args.before_commit)
        report("before", median_of([run_tree(args.before_tree, args)
                                    for _ in range(args.repeat)]))
    report("after", median_of([run_tree(REPO_ROOT, args) for _ in range(args.repeat)]))


if __name__ == "__main__":
    main()
