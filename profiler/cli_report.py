"""``edgeprof-cli report IN.json -o OUT.html``: convert a saved report to another format.

The report is validated on the way in (schema, version, field types), so a file from a newer
version, with wrong types, non-finite numbers, or beyond the size and depth limits fails with
one line naming the file and field. Exit codes as defined in profiler.cli_common: 0 ok, 1 the
report cannot be read, 2 usage error.
"""

from __future__ import annotations

import argparse

from profiler.cli_common import EXIT_OK, check_output, note


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report", help="convert a saved report JSON to another format (.html .md .csv .json)",
        description="Read a report JSON written by edgeprof and write it in the format of "
                    "the -o file's extension.")
    parser.add_argument("input", metavar="IN.json", help="a report JSON written by edgeprof")
    parser.add_argument("-o", "--output", required=True, metavar="FILE",
                        help="the file to write; format from extension: .json .csv .md .html")
    parser.set_defaults(command=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    from profiler.records.report import load_report
    from profiler.report.exporters import EXPORT_EXTENSIONS, write_report

    check_output(args.output, EXPORT_EXTENSIONS, ("input report", args.input))
    write_report(load_report(args.input), args.output)
    note(f"wrote {args.output}")
    return EXIT_OK

