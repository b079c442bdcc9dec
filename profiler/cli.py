"""``edgeprof-cli``: the headless command line.

Exit codes are defined once, in profiler.cli_common: 0 ok; 1 the model, a report or any run
failed; 2 usage error; 3 a budget was exceeded (and nothing failed); 141 the output's reader
went away (quietly). Errors are one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from profiler import __version__
from profiler.cli_common import (
    EXIT_BROKEN_PIPE,
    EXIT_BUDGET,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    check_output,
    escape_controls,
    note,
    say,
    terminal_safe,
    top_count,
)
from profiler.errors import ProfilerError, ShapeError, UsageError
from profiler.launch import command_word

__all__ = ["EXIT_BUDGET", "EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]
MAX_UNEXPECTED_CHARS = 2000

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that exits with our usage code (2) and a one-line hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        note(f"{self.prog}: error: {message}")
        sys.exit(EXIT_USAGE)


def _add_analyze(subparsers: argparse._SubParsersAction) -> None:
    from profiler.cli_inputs import add_input_options

    parser = subparsers.add_parser(
        "analyze", help="static cost per layer: MACs, FLOPs, params, memory (no runtime)",
        description="Load a model (.onnx, .xml+.bin, .tflite) and count its cost per layer.",
    )
    parser.add_argument("model", help="model file: .onnx, OpenVINO .xml (with its .bin), .tflite")
    add_input_options(parser)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report; format from extension: .json .csv .md .html")
    parser.add_argument("--top", type=top_count, default=10, metavar="N",
                        help="layers to list in the summary table (default 10)")
    parser.set_defaults(command=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from profiler.model.loader import read_ahead_bytes
    from profiler.prestart import read_ahead

    read_ahead(args.model, read_ahead_bytes(args.model))  # before our own imports, below
    from profiler.api import analyze_model
    from profiler.cli_inputs import input_settings
    from profiler.report.exporters import EXPORT_EXTENSIONS, write_report
    from profiler.report.summary import summary_text

    if args.output:
        check_output(args.output, EXPORT_EXTENSIONS, ("model file", args.model))
    report = analyze_model(args.model, inputs=input_settings(args))
    if args.output:
        write_report(report, args.output)
        note(f"wrote {args.output}")
    else:
        say(summary_text(terminal_safe(report), top=args.top))
    return EXIT_OK


COMMAND_MODULES = {
    "analyze": "cli", "devices": "cli_runtime", "profile": "cli_runtime",
    "compare": "cli_runtime", "cache": "cli_quant", "quantize": "cli_quant",
    "history": "cli_history", "report": "cli_report", "targets": "cli_remote",
    "remote-info": "cli_remote", "remote-cache": "cli_remote", "sweep": "cli_sweep",
}
"""The module that adds each command (with its siblings), in the order --help lists them.
test_cli_output checks it lists every command the whole parser has."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser; for a known ``command``, with only the commands its module adds (the
    other modules are not imported: 6 ms of ``analyze``'s start-up)."""
    import importlib

    parser = _Parser(
        prog="edgeprof-cli",
        description="Edge Model Profiler, headless: analyse, profile and quantize models.",
        epilog="Exit codes: 0 ok, 1 model or run failed, 2 usage error, 3 budget exceeded.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    owner = COMMAND_MODULES.get(command or "")
    for name in dict.fromkeys(COMMAND_MODULES.values()) if owner is None else (owner,):
        if name == "cli":
            _add_analyze(subparsers)
        else:
            importlib.import_module(f"profiler.{name}").add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        return _quiet_broken_pipe()
    except KeyboardInterrupt:  # Ctrl-C while the options are read (commands catch their own)
        note("edgeprof-cli: interrupted")
        return EXIT_INTERRUPTED


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser(command_word(sys.argv[1:] if argv is None else argv))
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, --version, or a usage error already printed
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    command: Command | None = getattr(args, "command", None)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    code = _run(command, args)
    sys.stdout.flush()  # a reader gone away shows here, inside main, not at exit
    return code


def _run(command: Command, args: argparse.Namespace) -> int:
    try:
        return command(args)
    except BrokenPipeError:
        raise
    except (UsageError, ShapeError) as error:
        return _fail(args, error, EXIT_USAGE)
    except ProfilerError as error:
        return _fail(args, error, EXIT_FAILED)
    except KeyboardInterrupt:
        note("edgeprof-cli: interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug or an unexpected runtime failure: still one line
        return _fail(args, error, EXIT_FAILED, unexpected=True)


def _quiet_broken_pipe() -> int:
    """The reader of our output is gone (``| head``): no message, and the pending output is
    sent to /dev/null so the interpreter's final flush does not complain either."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # a replaced stream without a descriptor
            continue
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def _fail(
    args: argparse.Namespace, error: BaseException, code: int, unexpected: bool = False
) -> int:
    """The whole message on one line: newlines and control characters (from a file name,
    say) are shown escaped, so nothing of the problem is lost and nothing fakes a line."""
    if getattr(args, "debug", False):
        import traceback

        traceback.print_exc()
    message = str(error) or type(error).__name__
    if unexpected:
        if len(message) > MAX_UNEXPECTED_CHARS:
            message = message[: MAX_UNEXPECTED_CHARS - 3] + "..."
        message = f"unexpected error ({type(error).__name__}): {message}; rerun with --debug"
    print(f"edgeprof-cli: error: {escape_controls(message)}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
