"""``edgeprof-cli history``: list, show, compare and delete the runs `profile` saved.

Exit codes as defined in profiler.cli_common: 0 ok, 1 unknown id or an unreadable history,
2 usage error (an id that is not a positive whole number included).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from profiler.cli_common import (
    EXIT_OK,
    EXIT_USAGE,
    MAX_COUNT,
    check_output,
    int_option,
    note,
    run_id,
    say,
    terminal_safe,
    top_count,
)

if TYPE_CHECKING:
    from profiler.history.store import HistoryEntry, HistoryStore

list_limit = int_option(1, MAX_COUNT, "a number of runs")
LIST_HEADERS = ["id", "date", "model", "device", "variant", "precision", "p50 ms", "error"]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "history", help="the runs `profile` saved: list, show, compare, delete",
        description="Every `edgeprof-cli profile` saves its runs (unless --no-history) in a "
                    "history file in the user's data folder ($EDGEPROF_DATA_DIR overrides it).")
    parser.set_defaults(command=lambda args: _help(parser))
    commands = parser.add_subparsers(title="history commands", metavar="COMMAND")
    _add_list(commands)
    _add_show(commands)
    _add_compare(commands)
    _add_delete(commands)
    path = commands.add_parser("path", help="print where the history file is",
                               description="Print the history file's path.")
    path.set_defaults(command=_run_path)


def _help(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return EXIT_USAGE


def _store() -> HistoryStore:
    from profiler.history.store import HistoryStore

    return HistoryStore()


# list ----------------------------------------------------------------------------------------

def _add_list(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("list", help="saved runs, newest first",
                                 description="List saved runs, newest first.")
    parser.add_argument("--model", metavar="TEXT", help="only models whose name contains TEXT")
    parser.add_argument("--device", metavar="ID", help="only runs on this device, e.g. ov:CPU")
    parser.add_argument("--limit", type=list_limit, default=50, metavar="N",
                        help="at most N runs (default 50)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(command=_run_list)


def _run_list(args: argparse.Namespace) -> int:
    import json

    from profiler.errors import UsageError
    from profiler.records.serialize import to_dict

    if args.limit < 1:
        raise UsageError("--limit must be at least 1")
    store = _store()
    entries = store.list_runs(args.model, args.device, args.limit)
    if args.json:
        print(json.dumps({"history": str(store.path), "runs": to_dict(entries)}, indent=1))
    elif not entries:
        say(_empty_line(args, str(store.path)))
    else:
        say("\n".join(list_table(terminal_safe(entries))))
    return EXIT_OK


def _empty_line(args: argparse.Namespace, path: str) -> str:
    if args.model or args.device:
        return "no saved runs match; `edgeprof-cli history list` shows them all"
    return f"no saved runs yet ({path}); `edgeprof-cli profile MODEL` saves one"


def list_table(entries: list[HistoryEntry]) -> list[str]:
    from profiler.report.compare import text_table

    rows = [[str(e.id), local_time(e.created), e.model_name[:32], e.device, e.variant,
             e.precision or "-", "-" if e.p50_ms is None else f"{e.p50_ms:.3f}", e.error[:60]]
            for e in entries]
    return text_table(LIST_HEADERS, rows)


def local_time(iso: str) -> str:
    """'2025-01-02T03:04:05+00:00' -> '2025-01-02 04:04' in the local time zone."""
    import datetime as dt

    try:
        return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


# show ----------------------------------------------------------------------------------------

def _add_show(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "show", help="one saved run; -o writes its whole report",
        description="Show a saved run; -o writes the report it belongs to (all its runs).")
    parser.add_argument("id", type=run_id, help="run id, from `history list`")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report; format from extension: .json .csv .md .html")
    parser.set_defaults(command=_run_show)


def _run_show(args: argparse.Namespace) -> int:
    from profiler.cli_runtime import runs_summary
    from profiler.records.report import Report
    from profiler.report.exporters import EXPORT_EXTENSIONS, write_report

    if args.output:
        check_output(args.output, EXPORT_EXTENSIONS)
    stored = _store().get_run(args.id)
    if args.output:
        write_report(stored.report, args.output)
        note(f"wrote {args.output}")
        return EXIT_OK
    entry = terminal_safe(stored.entry)
    say(f"run #{entry.id}, {local_time(entry.created)}, {entry.model_path or entry.model_name}")
    if entry.model_sha256:
        say(f"sha256 {entry.model_sha256}")
    say(runs_summary(terminal_safe(Report(model=stored.report.model, runs=[stored.run]))))
    return EXIT_OK


# compare -------------------------------------------------------------------------------------

def _add_compare(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "compare", help="per-device and per-layer deltas between two saved runs (B - A)",
        description="Compare saved run B with run A, as `edgeprof-cli compare` does reports.")
    parser.add_argument("a", type=run_id, metavar="ID_A", help="the reference run")
    parser.add_argument("b", type=run_id, metavar="ID_B", help="the run to compare with it")
    parser.add_argument("--top", type=top_count, default=10, metavar="N",
                        help="per-layer changes to list (default 10)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="also write the comparison: .md .json or .txt")
    parser.set_defaults(command=_run_compare)


def _run_compare(args: argparse.Namespace) -> int:
    from profiler.cli_runtime import COMPARISON_EXTENSIONS, write_comparison
    from profiler.report.compare import comparison_text

    if args.output:
        check_output(args.output, COMPARISON_EXTENSIONS)
    comparison = _store().compare_runs(args.a, args.b, top=args.top)
    say(comparison_text(terminal_safe(comparison)))
    if args.output:
        write_comparison(comparison, args.output)
        note(f"wrote {args.output}")
    return EXIT_OK


# delete, path --------------------------------------------------------------------------------

def _add_delete(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("delete", help="delete a saved run",
                                 description="Delete a saved run (and its report when no "
                                             "other run refers to it).")
    parser.add_argument("id", type=run_id, help="run id, from `history list`")
    parser.set_defaults(command=_run_delete)


def _run_delete(args: argparse.Namespace) -> int:
    _store().delete_run(args.id)
    say(f"deleted run #{args.id}")
    return EXIT_OK


def _run_path(args: argparse.Namespace) -> int:
    say(str(_store().path))
    return EXIT_OK
