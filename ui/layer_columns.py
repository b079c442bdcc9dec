"""The layer table's columns as plain data (no Qt): one raw value per layer, and how to show it.

Raw values stay in report units so sorting is numeric; only ``display`` formats. Built off the
GUI thread together with :class:`ui.report_data.ReportData`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from itertools import islice
from typing import Any

from profiler.units import si, size_bytes
from ui.report_data import ReportData, RunLayers

PROBLEM_STATUSES = ("unsupported", "shape_unknown")


@dataclass(frozen=True)
class ColumnSpec:
    header: str
    values: Sequence[Any]
    """One raw value per layer, in execution order; None where there is none."""
    display: Callable[[Any], str] = str
    numeric: bool = False
    exact: Callable[[Any], str] | None = None
    """Tooltip text for a cell (e.g. the exact count behind '4.089 G')."""
    description: str = ""
    """Header tooltip."""
    title: str = ""
    """What the header shows when it differs from ``header`` (two lines for run columns)."""
    widest: str | None = None
    """The longest cell text (by characters): the table sizes the column from it alone, so
    opening a large model measures no cells on the GUI thread. Set by ``build_columns``."""


NUMBER_SAMPLE_ROWS = 200
"""Numeric cells differ little in length: these first rows plus the extremes stand for all."""


def widest_text(column: ColumnSpec) -> str:
    """The display text with the most characters; text columns read every value (len is
    cheap), numeric ones format a sample, the largest and the smallest value."""
    values = column.values
    if column.numeric:
        present = [v for v in values if v is not None]
        sample = [*islice(values, NUMBER_SAMPLE_ROWS)]
        if present:
            sample += [max(present), min(present)]
        texts = [column.display(value) for value in sample]
    else:
        longest = max((v for v in values if v is not None), key=lambda v: len(str(v)),
                      default=None)
        texts = [column.display(longest)] if longest is not None else []
    return max(texts, key=len, default="")


def with_widest(columns: list[ColumnSpec]) -> list[ColumnSpec]:
    return [replace(column, widest=widest_text(column)) for column in columns]


def _dash(format_value: Callable[[Any], str]) -> Callable[[Any], str]:
    return lambda value: "-" if value is None else format_value(value)


def _count(value: Any) -> str:
    return f"{value:,}"


def _static_columns(data: ReportData) -> list[ColumnSpec]:
    rows = data.rows
    count, size = _dash(si), _dash(size_bytes)
    return [
        ColumnSpec("#", range(1, len(rows) + 1), numeric=True,
                   description="Execution order"),
        ColumnSpec("Layer", [r.name for r in rows], exact=str),
        ColumnSpec("Op type", [r.op_type for r in rows]),
        ColumnSpec("Output shape", [r.output_shapes for r in rows], exact=str),
        ColumnSpec("MACs", [r.macs for r in rows], count, True, _count,
                   "Multiply-accumulates per inference"),
        ColumnSpec("FLOPs", [r.flops for r in rows], count, True, _count),
        ColumnSpec("Params", [r.params for r in rows], count, True, _count),
        ColumnSpec("Weights", [r.weight_bytes for r in rows], size, True,
                   lambda v: f"{v:,} bytes", "Bytes of constants this layer reads"),
        ColumnSpec("Activations", [r.activation_bytes for r in rows], size, True,
                   lambda v: f"{v:,} bytes", "Bytes of this layer's outputs"),
        ColumnSpec("FLOP/B", [r.arithmetic_intensity for r in rows], _dash("{:.2f}".format),
                   True, description="Arithmetic intensity: FLOPs per byte read and written"),
        ColumnSpec("Status", [r.status for r in rows]),
    ]


def _subgraph_columns(data: ReportData) -> list[ColumnSpec]:
    if not any(r.subgraph or r.multiplier != 1 for r in data.rows):
        return []
    return [
        ColumnSpec("Subgraph", [r.subgraph for r in data.rows]),
        ColumnSpec("×", [r.multiplier for r in data.rows], "{:g}".format, True,
                   description="How many times the layer counts in totals"),
    ]


def _run_columns(run: RunLayers, names: list[str]) -> tuple[list[ColumnSpec], list[ColumnSpec]]:
    """(time columns, placed after the shapes; kernel columns, placed at the end)."""
    nodes = [run.nodes.get(name) for name in names]
    label = run.label
    return [
        ColumnSpec(f"{label} ms", [n.time_ms if n else None for n in nodes],
                   _dash("{:.4f}".format), True, lambda v: f"{v:.6f} ms",
                   f"Time per inference on {label} (fused layers split by FLOPs)", f"{label}\nms"),
        ColumnSpec(f"{label} %", [n.share if n else None for n in nodes],
                   _dash(lambda v: f"{100 * v:.1f}"), True,
                   description=f"Share of all layer time on {label}", title=f"{label}\n%"),
        ColumnSpec(f"{label} GFLOP/s", [n.gflops_per_s if n else None for n in nodes],
                   _dash(lambda v: f"{v:.2f}" if v < 100 else f"{v:.0f}"), True,
                   description=f"Achieved: FLOPs / time on {label}",
                   title=f"{label}\nGFLOP/s"),
    ], [
        ColumnSpec(f"{label} precision · kernel",
                   [n.precision_kernel if n else "" for n in nodes], exact=str,
                   title=f"{label}\nprecision · kernel"),
        ColumnSpec(f"{label} device", [n.provider if n else "" for n in nodes],
                   title=f"{label}\ndevice"),
    ]


def build_columns(data: ReportData) -> list[ColumnSpec]:
    """Static columns; with runs, each run's time, share and GFLOP/s right after the output
    shape (what a user looks for first), its kernels and devices at the end."""
    names = [row.name for row in data.rows]
    static = _static_columns(data)
    times: list[ColumnSpec] = []
    kernels: list[ColumnSpec] = []
    for run in data.profiled_runs:
        run_times, run_kernels = _run_columns(run, names)
        times += run_times
        kernels += run_kernels
    split = [c.header for c in static].index("Output shape") + 1
    return with_widest([*static[:split], *times, *static[split:], *_subgraph_columns(data),
                        *kernels, ColumnSpec("Note", [r.note for r in data.rows], exact=str)])
