"""A sweep's summary: models × devices, the median latency of each pair, the failures with
their reasons and the best device per model; rendered to JSON, Markdown, HTML and text.

The summary holds only what a sweep's state file records per pair (``PairResult``), so a
resumed sweep summarises the pairs measured before the interruption too. The full runs are
in the history (``run_id``).
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import field

from profiler import TOOL_NAME, __version__
from profiler.errors import UsageError
from profiler.records.record import record
from profiler.records.serialize import to_dict

SUMMARY_SCHEMA = "edgeprof.sweep"
SUMMARY_SCHEMA_VERSION = 1
SUMMARY_EXTENSIONS = (".html", ".json", ".md")
NO_VALUE = "-"


@record
class PairResult:
    """One (model, device) measurement of a sweep, as the state file and the summary keep it."""

    model_sha256: str
    device: str
    model_name: str = ""
    model_path: str = ""
    p50_ms: float | None = None
    p90_ms: float | None = None
    error: str = ""
    """'' when measured; else the reason, one line."""
    run_id: int | None = None
    """The run's id in the history, when it was saved there."""
    finished: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and self.p50_ms is not None


@record
class SweepModelRow:
    name: str
    path: str
    sha256: str
    error: str = ""
    """Why the model could not be measured anywhere (it did not load), '' otherwise."""


@record
class SweepSummary:
    models: list[SweepModelRow]
    devices: list[str]
    results: list[PairResult]
    cancelled: bool = False
    created: str = ""
    tool: dict[str, str] = field(
        default_factory=lambda: {"name": TOOL_NAME, "version": __version__})

    def result(self, sha256: str, device: str) -> PairResult | None:
        for result in self.results:
            if result.model_sha256 == sha256 and result.device == device:
                return result
        return None

    def best_device(self, sha256: str) -> PairResult | None:
        """The measured pair of this model with the lowest median latency."""
        measured = [r for r in self.results
                    if r.model_sha256 == sha256 and r.ok and r.device in self.devices]
        return min(measured, key=lambda r: r.p50_ms or 0.0, default=None)

    def failures(self) -> list[PairResult]:
        return [r for r in self.results if r.error]


def now_iso() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def ms_text(value: float | None) -> str:
    return NO_VALUE if value is None else f"{value:.3f}"


def cell_text(result: PairResult | None) -> str:
    if result is None:
        return "not run"
    return ms_text(result.p50_ms) if result.ok else "failed"


def table_rows(summary: SweepSummary) -> list[list[str]]:
    """One row per model: its name, the median (ms) per device, the best device."""
    rows = []
    for model in summary.models:
        best = summary.best_device(model.sha256)
        cells = [cell_text(summary.result(model.sha256, d)) for d in summary.devices]
        rows.append([model.name, *cells, best.device if best else NO_VALUE])
    return rows


def table_headers(summary: SweepSummary) -> list[str]:
    return ["model", *summary.devices, "best device"]


def failure_rows(summary: SweepSummary) -> list[list[str]]:
    return [[r.model_name, r.device, r.error] for r in summary.failures()]


# renderers ------------------------------------------------------------------------------------

def summary_json(summary: SweepSummary) -> str:
    document = {"schema": SUMMARY_SCHEMA, "schema_version": SUMMARY_SCHEMA_VERSION,
                **to_dict(summary),
                "best": {m.sha256: (b.device if (b := summary.best_device(m.sha256)) else None)
                         for m in summary.models}}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _markdown_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(_markdown_cell(h) for h in headers) + " |",
             "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(_markdown_cell(c) for c in row) + " |" for row in rows]


def summary_markdown(summary: SweepSummary) -> str:
    lines = ["# Sweep summary", "", f"Created {summary.created}. Median latency (ms) of each "
             "model on each device; the best device has the lowest median.", ""]
    lines += _markdown_table(table_headers(summary), table_rows(summary))
    if summary.failures():
        lines += ["", "## Failures", ""]
        lines += _markdown_table(["model", "device", "reason"], failure_rows(summary))
    if summary.cancelled:
        lines += ["", "The sweep was cancelled: pairs marked 'not run' were not measured."]
    return "\n".join(lines) + "\n"


def summary_html(summary: SweepSummary) -> str:
    from profiler.report.exporters.html_templates import render_template, static_text

    return str(render_template(
        "sweep.html.j2", css=static_text("report.css"), script=static_text("sort_table.js"),
        created=summary.created, tool=f"{summary.tool.get('name', '')} "
        f"{summary.tool.get('version', '')}".strip(), headers=table_headers(summary),
        rows=table_rows(summary), failures=failure_rows(summary),
        cancelled=summary.cancelled, devices=summary.devices,
        models=[[m.name, m.path, m.sha256[:12]] for m in summary.models]))


def summary_text(summary: SweepSummary) -> str:
    from profiler.report.compare import text_table

    lines = text_table(table_headers(summary), table_rows(summary))
    for result in summary.failures():
        lines.append(f"failed: {result.model_name} on {result.device}: {result.error}")
    return "\n".join(lines)


RENDERERS = {".html": summary_html, ".json": summary_json, ".md": summary_markdown}


def write_summary(summary: SweepSummary, path: str) -> None:
    from profiler.report.exporters import write_text

    extension = os.path.splitext(path)[1].lower()
    if extension not in RENDERERS:
        raise UsageError(f"{path}: cannot write a sweep summary as {extension or 'no extension'}"
                         f"; use one of {', '.join(SUMMARY_EXTENSIONS)}")
    write_text(RENDERERS[extension](summary), path)
