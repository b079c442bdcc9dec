"""CSV: one row per analysis layer, plus one time column per run that has a per-layer profile.

Numbers are written as numbers (raw report units: counts, bytes, ms). Text cells that a
spreadsheet would run as a formula (starting with = + - @, tab or carriage return) get a
leading apostrophe, so a model whose node is named ``=HYPERLINK(...)`` stays inert.
"""

from __future__ import annotations

import csv
import io

from profiler.records.report import Report
from profiler.report.views import LayerRow, layer_rows, layer_time_columns

HEADERS = (
    "name", "op_type", "status", "output_shapes", "output_dtypes", "macs", "flops", "params",
    "weight_bytes", "activation_bytes", "arithmetic_intensity", "subgraph", "multiplier", "note",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

Cell = str | int | float


def neutralise(cell: Cell) -> Cell:
    """A text cell a spreadsheet would evaluate gets a leading apostrophe; numbers pass as is."""
    if isinstance(cell, str) and cell.startswith(FORMULA_PREFIXES):
        return "'" + cell
    return cell


def _number(value: float) -> Cell:
    """Whole floats as ints (2.0 -> 2); others with microsecond-level precision kept."""
    return int(value) if float(value).is_integer() else round(value, 9)


def _layer_cells(row: LayerRow) -> list[Cell]:
    intensity = row.arithmetic_intensity
    return [
        row.name, row.op_type, row.status, row.output_shapes, row.output_dtypes, row.macs,
        row.flops, row.params, row.weight_bytes, row.activation_bytes,
        "" if intensity is None else round(intensity, 6), row.subgraph,
        _number(row.multiplier), row.note,
    ]


def render(report: Report) -> str:
    columns = layer_time_columns(report.runs, report.analysis)
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180 CRLF: also makes the writer quote cells holding \r
    writer.writerow([neutralise(h) for h in (*HEADERS, *(f"time_ms[{label}]"
                                                          for label, _ in columns))])
    for row in layer_rows(report.analysis):
        times: list[Cell] = [_number(t[row.name]) if row.name in t else "" for _, t in columns]
        writer.writerow([neutralise(cell) for cell in (*_layer_cells(row), *times)])
    return buffer.getvalue()
