"""``edgeprof-cli``: the headless command line.

Exit codes: 0 ok; 1 the model or a run failed; 2 usage error; 3 a budget was exceeded.
Errors are one line on stderr; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable, Sequence

from profiler import __version__
from profiler.errors import ProfilerError, ShapeError, UsageError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_BUDGET = 3

Command = Callable[[argparse.Namespace], int]


class _Parser(argparse.ArgumentParser):
    """argparse that exits with our usage code (2) and a one-line hint."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        sys.exit(EXIT_USAGE)


def _add_shape_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shape", action="append", default=[], metavar="NAME=DIMS",
        help="input size for dynamic dims, e.g. --shape input=1x3x224x224 (repeat per input)",
    )


def _add_analyze(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "analyze", help="static cost per layer: MACs, FLOPs, params, memory (no runtime)",
        description="Load a model (.onnx, .xml+.bin, .tflite) and count its cost per layer.",
    )
    parser.add_argument("model", help="model file: .onnx, OpenVINO .xml (with its .bin), .tflite")
    _add_shape_option(parser)
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the report; format from extension: .json .csv .md .html")
    parser.add_argument("--top", type=int, default=10, metavar="N",
                        help="layers to list in the summary table (default 10)")
    parser.set_defaults(command=_run_analyze)


def _run_analyze(args: argparse.Namespace) -> int:
    from profiler.api import analyze_model
    from profiler.model.shapes import parse_shape_overrides
    from profiler.report.exporters import EXPORT_EXTENSIONS, write_report
    from profiler.report.summary import summary_text

    if args.output:
        _check_output_extension(args.output, EXPORT_EXTENSIONS, ("model file", args.model))
    report = analyze_model(args.model, parse_shape_overrides(args.shape))
    if args.output:
        write_report(report, args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(summary_text(report, top=args.top))
    return EXIT_OK


def _check_output_extension(
    path: str, allowed: Sequence[str], source: tuple[str, str] | None = None
) -> None:
    """Before any work: -o has a known format and is not the input (``source`` = (what, path))
    itself or a link to it, so a long run never ends by refusing to write."""
    import os

    from profiler.report.exporters import same_file

    extension = os.path.splitext(path)[1].lower()
    if extension not in allowed:
        raise UsageError(f"-o {path}: unknown report format; use one of {', '.join(allowed)}")
    if source is not None and same_file(source[1], path):
        raise UsageError(f"-o {path}: that is the {source[0]} {source[1]}; choose another "
                         "output file")


def build_parser() -> argparse.ArgumentParser:
    from profiler import cli_history, cli_quant, cli_report, cli_runtime

    parser = _Parser(
        prog="edgeprof-cli",
        description="Edge Model Profiler, headless: analyse, profile and quantize models.",
        epilog="Exit codes: 0 ok, 1 model or run failed, 2 usage error, 3 budget exceeded.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)
    _add_analyze(subparsers)
    cli_runtime.add_commands(subparsers)
    cli_quant.add_commands(subparsers)
    cli_history.add_commands(subparsers)
    cli_report.add_commands(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    command: Command | None = getattr(args, "command", None)
    if command is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return command(args)
    except (UsageError, ShapeError) as error:
        return _fail(args, error, EXIT_USAGE)
    except ProfilerError as error:
        return _fail(args, error, EXIT_FAILED)
    except KeyboardInterrupt:
        print("edgeprof-cli: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # a bug or an unexpected runtime failure: still one line
        return _fail(args, error, EXIT_FAILED, unexpected=True)


def _fail(
    args: argparse.Namespace, error: BaseException, code: int, unexpected: bool = False
) -> int:
    if getattr(args, "debug", False):
        traceback.print_exc()
    message = str(error).splitlines()[0] if str(error) else type(error).__name__
    if unexpected:
        message = f"unexpected error ({type(error).__name__}): {message}; rerun with --debug"
    print(f"edgeprof-cli: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
