"""The ``edgeprof-cli`` entry point: starts what can run ahead, then the CLI (profiler.cli).

``analyze`` spends most of its time in the sandboxed child's imports (ONNX, numpy). Forked
here, before even the CLI's own imports, that child imports them on the other core while
this process parses the arguments (profiler.prestart). This module imports nothing else
first: every import here would delay the fork.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import NoReturn

PRESTARTED_COMMANDS = ("analyze",)
EXIT_INTERRUPTED = 130
"""As profiler.cli_common's (not imported here: it would delay the fork)."""


def main() -> int:
    try:
        prestart_for(sys.argv[1:])
        from profiler.cli import main as cli_main
    except KeyboardInterrupt:  # Ctrl-C before the CLI is loaded: one line, no traceback
        print("edgeprof-cli: interrupted", file=sys.stderr)
        _leave_interrupted()
    code = cli_main()
    if code == EXIT_INTERRUPTED:
        _leave_interrupted()
    _leave_at_once(code)
    return code  # other threads still run: the interpreter's exit waits for them


def _leave_interrupted() -> NoReturn:
    """Exit 130 now, clean-ups run. CPython 3.11 takes a KeyboardInterrupt raised inside
    ``exec`` of a string (dataclasses make their methods so, while modules import) for an
    unhandled one even after it was caught, and ends the process by SIGINT at exit instead
    of with our code; leaving here skips that check."""
    _exit_now(EXIT_INTERRUPTED)


def _leave_at_once(code: int) -> None:
    """Exit with ``code`` once the command is done, unless another thread still runs. The
    interpreter's own exit tears down every module and object first (13 ms after
    ``analyze``, all of it after the report is written); the clean-ups that matter are
    registered with atexit (temporary folders, logging, child processes) and still run,
    and every file the commands write is closed before they return."""
    threading = sys.modules.get("threading")
    if threading is None or threading.active_count() == 1:
        _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            continue
    os._exit(code)


def command_word(argv: Sequence[str]) -> str | None:
    """The command named on a command line (options before it take no values)."""
    return next((word for word in argv if not word.startswith("-")), None)


def prestart_for(argv: Sequence[str]) -> None:
    """Fork the sandboxed child ahead when the command will want one."""
    if command_word(argv) in PRESTARTED_COMMANDS:
        from profiler.prestart import ANALYSIS_PRELOAD, prestart

        prestart(ANALYSIS_PRELOAD)


if __name__ == "__main__":
    sys.exit(main())
