"""What parsing in a sandboxed child costs: analysis wall time of a small model
(resources/sample/mobilenetv2.onnx) and of a 10,000-node model, in process ("before") and
sandboxed ("after"), measured in the same run.

Two views:
- whole process: ``python -m profiler analyze MODEL -o report.json`` (sandboxed) against a
  child that runs the same load + analysis + report writing in its own process;
- warm, in one process (imports done): ``analyze_model_here`` against ``analyze_model``,
  and the answer's transport for the 10k-node model: the report as JSON checked field by
  field (what the sandbox uses) against pickle of the dataclasses.

Medians of ``--repeats`` runs, before and after interleaved so load on the machine hits both.

Usage: python benchmarks/sandbox_overhead.py [--repeats N] [--blocks N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
SMALL_MODEL = os.path.join(REPO_ROOT, "resources", "sample", "mobilenetv2.onnx")
BUDGET = 1.10
"""Sandboxed analysis of a small model: at most 10 % slower than in process."""
DEEP_TARGET_S = 3.0

IN_PROCESS_CLI = """
import sys
from profiler.api import analyze_model_here
from profiler.report.exporters import write_report
write_report(analyze_model_here(sys.argv[1]), sys.argv[2])
"""


def _wall_s(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def whole_process(model: str, folder: str, repeats: int) -> tuple[float, float]:
    """(median before, median after) seconds of a whole process analysing ``model``."""
    out = os.path.join(folder, "report.json")
    before_cmd = [sys.executable, "-c", IN_PROCESS_CLI, model, out]
    after_cmd = [sys.executable, "-m", "profiler", "analyze", model, "-o", out]
    before, after = [], []
    for _ in range(repeats):
        before.append(_wall_s(before_cmd))
        after.append(_wall_s(after_cmd))
    return statistics.median(before), statistics.median(after)


def _median_s(action: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def warm(model: str, repeats: int) -> tuple[float, float]:
    from profiler.api import analyze_model, analyze_model_here

    analyze_model_here(model)  # imports and caches
    return (_median_s(lambda: analyze_model_here(model), repeats),
            _median_s(lambda: analyze_model(model), repeats))


def transport(model: str, repeats: int) -> tuple[float, float]:
    """(JSON + field checks, pickle) seconds for one report there and back."""
    import json
    import pickle

    from profiler.api import analyze_model_here
    from profiler.records.report import report_from_dict
    from profiler.records.serialize import to_dict

    report = analyze_model_here(model)

    def by_json() -> object:
        return report_from_dict(json.loads(json.dumps(to_dict(report)).encode()), "bench")

    return (_median_s(by_json, repeats),
            _median_s(lambda: pickle.loads(pickle.dumps(report)), repeats))


def _row(name: str, before_s: float, after_s: float) -> str:
    return (f"{name:<34} {before_s * 1000:9.0f} ms {after_s * 1000:9.0f} ms "
            f"{(after_s / before_s - 1) * 100:+7.1f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--blocks", type=int, default=3334, help="3 nodes each (default 10k)")
    args = parser.parse_args(argv)
    from benchmarks.analyze_speed import build_deep

    with tempfile.TemporaryDirectory() as folder:
        deep, nodes, _ = build_deep(folder, args.blocks)
        print(f"{'':<34} {'in process':>12} {'sandboxed':>12} {'change':>9}")
        small = whole_process(SMALL_MODEL, folder, args.repeats)
        print(_row("CLI analyze, mobilenetv2", *small))
        big = whole_process(deep, folder, max(3, args.repeats // 2))
        print(_row(f"CLI analyze, {nodes}-node model", *big))
        print(_row("warm, mobilenetv2", *warm(SMALL_MODEL, args.repeats)))
        print(_row(f"warm, {nodes}-node model", *warm(deep, max(3, args.repeats // 2))))
        as_json, as_pickle = transport(deep, 3)
        print(f"report transport, {nodes} nodes: JSON + field checks {as_json * 1000:.0f} ms, "
              f"pickle {as_pickle * 1000:.0f} ms")
        small_ok = small[1] <= small[0] * BUDGET
        print(f"small model within +10 %: {'yes' if small_ok else 'NO'}; "
              f"{nodes}-node model under {DEEP_TARGET_S:g} s: "
              f"{'yes' if big[1] < DEEP_TARGET_S else 'NO'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
