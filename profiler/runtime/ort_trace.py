"""ONNX Runtime's profiling trace: kernel times per runtime node, per counted run.

``end_profiling()`` writes a JSON list of trace events. Node events have ``cat`` "Node", a
``name`` "<node name>_kernel_time", ``dur`` in microseconds and ``args`` with ``op_name``,
``provider`` and ``input_type_shape``; "Session" events named "model_run" bracket each run.
Unnamed nodes are called "<op_type>_<index>", as the profiler names them.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import field
from typing import Any

import numpy as np

from profiler.records.record import record

KERNEL_SUFFIX = "_kernel_time"
TRACE_PRECISIONS = {
    "float": "f32", "float16": "f16", "bfloat16": "bf16", "double": "f64", "int8": "i8",
    "uint8": "u8", "int16": "i16", "uint16": "u16", "int32": "i32", "int64": "i64",
    "bool": "boolean",
}


@record
class TraceNode:
    """One runtime node's kernel times over the counted runs."""

    name: str
    op_type: str = ""
    provider: str = ""
    precision: str = ""
    total_us: float = 0.0
    run_us: dict[int, float] = field(default_factory=dict)
    """Kernel time in each counted run (by run number; a node may run several times in one)."""

    def median_ms(self, runs: int) -> float:
        """Median per-run time; a run in which the node did not execute counts as 0."""
        if not self.run_us:
            return self.total_us / 1000.0 / max(runs, 1)
        samples = [self.run_us.get(run, 0.0) for run in range(max(runs, 1))]
        return float(np.median(samples)) / 1000.0


def read_trace(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    events = data.get("traceEvents", []) if isinstance(data, dict) else data
    return [e for e in events if isinstance(e, dict)]


def _run_windows(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    return sorted((float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0)))
                  for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")


def _run_of(ts: float, starts: list[float], windows: list[tuple[float, float]]) -> int | None:
    position = bisect.bisect_right(starts, ts) - 1
    return position if position >= 0 and ts <= windows[position][1] else None


def _precision(args: dict[str, Any]) -> str:
    shapes = args.get("input_type_shape") or []
    if shapes and isinstance(shapes[0], dict) and shapes[0]:
        return TRACE_PRECISIONS.get(next(iter(shapes[0])), "")
    return ""


def trace_nodes(events: list[dict[str, Any]], skip_runs: int = 1) -> tuple[list[TraceNode], int]:
    """Kernel times per node (in execution order) over the runs after the first ``skip_runs``,
    and how many runs were counted."""
    windows = _run_windows(events)[skip_runs:]
    starts = [start for start, _ in windows]
    nodes: dict[str, TraceNode] = {}
    seen: dict[str, int] = {}
    for event in events:
        name = str(event.get("name", ""))
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        run = _run_of(float(event["ts"]), starts, windows) if windows else None
        if windows and run is None:
            continue
        args = event.get("args") or {}
        key = name[: -len(KERNEL_SUFFIX)]
        node = nodes.setdefault(key, TraceNode(
            key, str(args.get("op_name", "")), str(args.get("provider", "")), _precision(args)))
        duration_us = float(event.get("dur", 0))
        node.total_us += duration_us
        if run is not None:
            node.run_us[run] = node.run_us.get(run, 0.0) + duration_us
        seen[key] = seen.get(key, 0) + 1
    runs = len(windows) if windows else max(seen.values(), default=0)
    return list(nodes.values()), runs
