"""What a document's views draw from its run list: the merged report (every run kept) and the
chart report (the runs shown, each with a name no other shown run has). Pure data, no Qt.

Two measurements of one pair (FP32 on ov:CPU, measured twice) would both be called
"ov:CPU/fp32" by the charts and the table columns; the chart report gives the later ones the
run list's number ("fp32 #2") in a copy, so every series and column has its own name.
"""

from __future__ import annotations

from dataclasses import replace

from profiler.records.report import Report
from profiler.records.runs import Run
from ui.runs_data import FAILED, OK, RunEntry, RunList

REPORT, HISTORY = "report", "history"


def pair_number(runs: RunList, entry: RunEntry) -> int:
    """1 for the first run of its (device, variant) pair, 2 for the second..."""
    same = [e for e in runs.entries
            if (e.key.device, e.key.variant) == (entry.key.device, entry.key.variant)]
    return next(i for i, e in enumerate(same, 1) if e is entry)


def shown_run(runs: RunList, entry: RunEntry) -> Run:
    """The entry's run, renamed 'variant #n' in a copy when it is not the pair's first."""
    assert entry.run is not None
    number = pair_number(runs, entry)
    if number == 1:
        return entry.run
    return replace(entry.run, variant=f"{entry.run.variant} #{number}")


def chart_entries(runs: RunList) -> list[RunEntry]:
    """Runs the charts and table show: measured and visible, and failed ones (the charts name
    them as failed); cancelled and skipped ones only the Runs pane lists."""
    return [e for e in runs.entries if e.run is not None
            and ((e.status == OK and e.visible) or e.status == FAILED)]


def chart_report(runs: RunList, report: Report) -> Report:
    """``report`` with the shown runs, uniquely named (a shallow copy)."""
    return replace(report, runs=[shown_run(runs, e) for e in chart_entries(runs)])


def chart_keys(runs: RunList) -> tuple[tuple[str, str, str], ...]:
    """What a chart report drew, to tell whether a view is current."""
    return tuple((e.key.device, e.key.variant, e.key.finished) for e in chart_entries(runs))


def all_runs(runs: RunList) -> list[Run]:
    return [e.run for e in runs.entries if e.run is not None]


def merged_report(earlier: Report, latest: Report, runs: RunList) -> Report:
    """The latest report (model, analysis, environment) with every run of the list, the
    latest variants (or the earlier ones when it built none) and both reports' errors."""
    errors = list(dict.fromkeys([*earlier.errors, *latest.errors]))
    return replace(latest, runs=all_runs(runs), variants=latest.variants or earlier.variants,
                   errors=errors)
